// app/artifact.cpp — see artifact.hpp.
#include "app/artifact.hpp"

#include "app/output.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

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
  a.choices = rep.choices;
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

template <class T>
T need(const nlohmann::json& j, const char* key, const std::string& path) {
  if (!j.contains(key))
    throw ScenarioError(fmt::format("{}: error: repro artifact: missing key '{}'", path, key));
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw ScenarioError(fmt::format("{}: error: repro artifact: key '{}' has the wrong type", path, key));
  }
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
  const auto& sc = j.at("scenario");
  if (!sc.is_object()) throw ScenarioError(fmt::format("{}: error: repro artifact: 'scenario' is not an object", path));
  a.scenario_path = need<std::string>(sc, "path", path);
  a.scenario_name = need<std::string>(sc, "name", path);
  a.scenario_text = need<std::string>(sc, "text", path);
  a.seed = need<std::uint64_t>(j, "seed", path);
  a.strategy = need<std::string>(j, "strategy", path);
  a.pct_depth = need<std::uint32_t>(j, "pct_depth", path);
  a.granularity = need<std::string>(j, "granularity", path);
  a.bugs = need<std::vector<std::string>>(j, "bugs", path);
  a.outcome = need<std::string>(j, "outcome", path);
  const auto& sig = j.at("signature");
  a.signature.kind = need<std::string>(sig, "kind", path);
  a.signature.cpu = need<int>(sig, "cpu", path);
  a.signature.task = need<std::string>(sig, "task", path);
  a.signature.place = need<std::string>(sig, "place", path);
  if (j.contains("failure") && j.at("failure").is_object()) {
    a.failure_message = j.at("failure").value("message", "");
    a.failure_time_ns = j.at("failure").value("time_ns", std::int64_t{0});
    a.failure_step = j.at("failure").value("step", std::uint64_t{0});
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
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ScenarioError(fmt::format("{}: error: cannot read the repro artifact: {}", path, std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  return artifact_from_json(ss.str(), path);
}

}  // namespace app
