// app/artifact.hpp
// The repro artifact: one self-contained, versioned JSON file from which `smpsim replay`
// re-runs a failure without the scenario file. It holds the scenario text itself, the seed,
// strategy and parameters, the bug knobs, the choice log (sim::ChoiceLog text form), the
// failure signature (the bucket: kind + CPU + task + place) and the trace hash. Format:
// docs/scenario-format.md, "Repro artifacts".
#pragma once

#include "app/runner.hpp"
#include "app/scenario.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace app {

inline constexpr int kArtifactFormatVersion = 1;
/// The version of this build (the CMake project version).
const char* smpsim_version();

struct Artifact {
  int format_version = kArtifactFormatVersion;
  std::string smpsim_version;
  std::string scenario_path, scenario_name, scenario_text;
  std::uint64_t seed = 0;
  std::string strategy = "fifo";
  std::uint32_t pct_depth = 3;
  std::string granularity = "locks";
  std::vector<std::string> bugs;
  std::string choices;  ///< sim::ChoiceLog::to_text
  std::string outcome;
  Signature signature;
  std::string failure_message;
  std::int64_t failure_time_ns = 0;
  std::uint64_t failure_step = 0;
  std::vector<std::string> unmet;
  std::uint64_t trace_hash = 0;
  std::uint64_t steps = 0;
  std::int64_t end_time_ns = 0;
};

Artifact make_artifact(const Scenario& sc, const RunReport& rep);
std::string artifact_to_json(const Artifact& a);
/// Parses an artifact; throws ScenarioError naming `path` for anything malformed, and for another
/// format version with a message saying which versions this build reads.
Artifact artifact_from_json(const std::string& text, const std::string& path);
/// Temp file + rename: the artifact is complete or absent. Throws std::runtime_error.
void write_artifact(const std::string& path, const Artifact& a);
Artifact read_artifact(const std::string& path);

}  // namespace app
