// app/artifact.cpp — see artifact.hpp.
#include "app/artifact.hpp"

#include "app/output.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <type_traits>
#include <utility>

#ifndef SMPSIM_VERSION
#define SMPSIM_VERSION "0.0.0"
#endif

namespace app {

const char* smpsim_version() { return SMPSIM_VERSION; }

Artifact make_artifact(const Scenario& sc, const RunReport& rep) {
  Artifact a;
  a.smpsim_version = smpsim_version();
  a.scenario_path = sc.path;
  a.scenario_name = sc.name;
  a.scenario_text = sc.text;
  a.seed = rep.seed;
  a.strategy = strategy_name(rep.strategy);
  a.pct_depth = rep.pct_depth;
  a.granularity = sim::to_string(rep.granularity);
  a.bugs = rep.bugs;
  a.choices = rep.choices.to_text();
  a.outcome = sim::to_string(rep.result.outcome);
  if (rep.signature) a.signature = *rep.signature;
  if (rep.result.failure) {
    a.failure_message = rep.result.failure->message;
    a.failure_time_ns = rep.result.failure->time.ns_since_boot();
    a.failure_step = rep.result.failure->step;
  }
  a.unmet = rep.unmet;
  a.trace_hash = rep.result.trace_hash;
  a.steps = rep.result.steps;
  a.end_time_ns = rep.result.end_time.ns_since_boot();
  return a;
}

std::string artifact_to_json(const Artifact& a) {
  nlohmann::ordered_json j;
  j["format"] = "smpsim-repro";
  j["format_version"] = a.format_version;
  j["smpsim_version"] = a.smpsim_version;
  j["scenario"] = {{"path", a.scenario_path}, {"name", a.scenario_name}, {"text", a.scenario_text}};
  j["seed"] = a.seed;
  j["strategy"] = a.strategy;
  j["pct_depth"] = a.pct_depth;
  j["granularity"] = a.granularity;
  j["bugs"] = a.bugs;
  j["outcome"] = a.outcome;
  j["signature"] = {{"kind", a.signature.kind},
                    {"cpu", a.signature.cpu},
                    {"task", a.signature.task},
                    {"place", a.signature.place},
                    {"text", a.signature.text()}};
  j["failure"] = {{"message", a.failure_message}, {"time_ns", a.failure_time_ns}, {"step", a.failure_step}};
  j["unmet_expectations"] = a.unmet;
  j["trace_hash"] = fmt::format("{:016x}", a.trace_hash);
  j["steps"] = a.steps;
  j["end_time_ns"] = a.end_time_ns;
  j["choices"] = a.choices;
  return j.dump(2) + "\n";
}

namespace {

/// j[key] as T, or a ScenarioError naming the file and the key's path ("scenario.text"). An integer
/// must be a JSON integer in T's range: nlohmann's get<T>() would silently truncate 1.5, wrap -1
/// into a huge seed, or cast 1e300 (undefined behaviour).
template <class T>
T need(const nlohmann::json& j, const char* key, const std::string& path, const char* parent = nullptr) {
  const std::string name = parent ? fmt::format("{}.{}", parent, key) : std::string(key);
  if (!j.contains(key))
    throw ScenarioError(fmt::format("{}: error: repro artifact: missing key '{}'", path, name));
  const nlohmann::json& v = j.at(key);
  if constexpr (std::is_integral_v<T>) {
    bool fits = false;
    if (v.is_number_unsigned()) fits = std::in_range<T>(v.get<std::uint64_t>());
    else if (v.is_number_integer()) fits = std::in_range<T>(v.get<std::int64_t>());
    if (!fits)
      throw ScenarioError(fmt::format("{}: error: repro artifact: '{}' must be an integer in {}..{}, got {}", path,
                                      name, std::numeric_limits<T>::min(), std::numeric_limits<T>::max(),
                                      v.is_number() ? v.dump() : std::string(v.type_name())));
    return v.is_number_unsigned() ? static_cast<T>(v.get<std::uint64_t>()) : static_cast<T>(v.get<std::int64_t>());
  } else {
    const char* expected = std::is_same_v<T, std::string> ? "a string" : "an array of strings";
    try {
      return v.get<T>();
    } catch (const nlohmann::json::exception&) {
      throw ScenarioError(
          fmt::format("{}: error: repro artifact: '{}' must be {}, got {}", path, name, expected, v.type_name()));
    }
  }
}

const nlohmann::json& need_object(const nlohmann::json& j, const char* key, const std::string& path) {
  if (!j.contains(key)) throw ScenarioError(fmt::format("{}: error: repro artifact: missing key '{}'", path, key));
  const nlohmann::json& v = j.at(key);
  if (!v.is_object())
    throw ScenarioError(
        fmt::format("{}: error: repro artifact: '{}' must be an object, got {}", path, key, v.type_name()));
  return v;
}

Artifact artifact_fields(const nlohmann::json& j, const std::string& path, int version);

}  // namespace

Artifact artifact_from_json(const std::string& text, const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw ScenarioError(fmt::format("{}: error: not a repro artifact (invalid JSON at byte {}): {}", path, e.byte,
                                    e.what()));
  } catch (const nlohmann::json::exception& e) {  // e.g. out_of_range: a number too large for a double
    throw ScenarioError(fmt::format("{}: error: not a repro artifact (invalid JSON): {}", path, e.what()));
  }
  if (!j.is_object() || !j.contains("format") || j["format"] != "smpsim-repro")
    throw ScenarioError(fmt::format("{}: error: not a smpsim repro artifact (no \"format\": \"smpsim-repro\")", path));
  const int version = need<int>(j, "format_version", path);
  if (version != kArtifactFormatVersion) {
    const std::string writer = j.contains("smpsim_version") && j["smpsim_version"].is_string()
                                   ? j["smpsim_version"].get<std::string>()
                                   : std::string("unknown");
    throw ScenarioError(fmt::format(
        "{}: error: repro artifact format version {} (written by smpsim {}); this smpsim {} reads format version {} "
        "only. Replay it with the smpsim version that wrote it.",
        path, version, writer, smpsim_version(), kArtifactFormatVersion));
  }
  try {
    return artifact_fields(j, path, version);
  } catch (const nlohmann::json::exception& e) {
    throw ScenarioError(fmt::format("{}: error: repro artifact: {}", path, e.what()));
  }
}

namespace {

Artifact artifact_fields(const nlohmann::json& j, const std::string& path, int version) {
  Artifact a;
  a.format_version = version;
  a.smpsim_version = need<std::string>(j, "smpsim_version", path);
  const auto& sc = need_object(j, "scenario", path);
  a.scenario_path = need<std::string>(sc, "path", path, "scenario");
  a.scenario_name = need<std::string>(sc, "name", path, "scenario");
  a.scenario_text = need<std::string>(sc, "text", path, "scenario");
  a.seed = need<std::uint64_t>(j, "seed", path);
  a.strategy = need<std::string>(j, "strategy", path);
  a.pct_depth = need<std::uint32_t>(j, "pct_depth", path);
  a.granularity = need<std::string>(j, "granularity", path);
  a.bugs = need<std::vector<std::string>>(j, "bugs", path);
  a.outcome = need<std::string>(j, "outcome", path);
  const auto& sig = need_object(j, "signature", path);
  a.signature.kind = need<std::string>(sig, "kind", path, "signature");
  a.signature.cpu = need<int>(sig, "cpu", path, "signature");
  a.signature.task = need<std::string>(sig, "task", path, "signature");
  a.signature.place = need<std::string>(sig, "place", path, "signature");
  if (j.contains("failure")) {
    const auto& f = need_object(j, "failure", path);
    if (f.contains("message")) a.failure_message = need<std::string>(f, "message", path, "failure");
    if (f.contains("time_ns")) a.failure_time_ns = need<std::int64_t>(f, "time_ns", path, "failure");
    if (f.contains("step")) a.failure_step = need<std::uint64_t>(f, "step", path, "failure");
  }
  if (j.contains("unmet_expectations")) a.unmet = need<std::vector<std::string>>(j, "unmet_expectations", path);
  const std::string hash = need<std::string>(j, "trace_hash", path);
  try {
    std::size_t used = 0;
    a.trace_hash = std::stoull(hash, &used, 16);
    if (used != hash.size()) throw std::invalid_argument("trailing");
  } catch (const std::exception&) {
    throw ScenarioError(fmt::format("{}: error: repro artifact: trace_hash '{}' is not hexadecimal", path, hash));
  }
  a.steps = need<std::uint64_t>(j, "steps", path);
  a.end_time_ns = need<std::int64_t>(j, "end_time_ns", path);
  a.choices = need<std::string>(j, "choices", path);
  return a;
}

}  // namespace

void write_artifact(const std::string& path, const Artifact& a) { write_file_atomically(path, artifact_to_json(a)); }

Artifact read_artifact(const std::string& path) {
  const std::optional<std::string> text = read_text_file(path);
  if (!text) throw ScenarioError(fmt::format("{}: error: cannot read the repro artifact: {}", path, std::strerror(errno)));
  return artifact_from_json(*text, path);
}

}  // namespace app
