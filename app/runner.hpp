// app/runner.hpp
// Runs a Scenario on a freshly booted model::Kernel and evaluates its expectations.
// Binding only: the kernel config comes from the scenario plus command-line overrides; each
// action becomes one kernel thread ("scenario task") created on the action's CPU when its time
// comes (a timer event) or when its trigger event is traced, which makes the kernel calls.
// The init task waits for every started action, so an action that never returns is a deadlock.
// One run per call; one kernel per thread at a time (model::kernel() is thread-local).
#pragma once

#include "app/scenario.hpp"

#include "sim/sim.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace app {

class ChromeTrace;

/// Command-line overrides and outputs of one run.
struct RunOptions {
  std::optional<std::uint64_t> seed;
  std::optional<sim::PolicyKind> strategy;  ///< fifo, random or pct
  std::optional<std::uint32_t> pct_depth;
  std::optional<std::uint64_t> pct_steps;  ///< PCT's k (a campaign's estimate); default: the scenario's
  std::optional<sim::Granularity> granularity;
  std::vector<std::string> bugs;  ///< added to the scenario's kernel.bugs
  std::vector<std::pair<std::string, sim::Level>> log_levels;
  std::optional<sim::ChoiceLog> replay;  ///< follow this log (PolicyKind::Replay)
  std::ostream* text_trace = nullptr;
  std::ostream* jsonl_trace = nullptr;
  ChromeTrace* chrome = nullptr;
  std::size_t tail_lines = 6;  ///< trace lines kept per CPU for the failure report
  /// Compute the trace hash. A campaign turns it off (and tail_lines to 0) for speed: with no
  /// sink, hash or tail wanting them, trace events are never formatted. The run is the same.
  bool trace_hash = true;
  /// Keep the choice log in RunReport::choices. A campaign run turns it off (a failing seed is
  /// run again, recording, for its artifact): the run is the same.
  bool record_choices = true;
};

/// The failure bucket: stable across runs and builds of the same model.
struct Signature {
  std::string kind;
  int cpu = -1;
  std::string task = "-";
  std::string place = "-";
  /// "kind cpu=N task=T place=P" (inline: the artifact format uses it without the runner)
  std::string text() const { return kind + " cpu=" + std::to_string(cpu) + " task=" + task + " place=" + place; }
  bool operator==(const Signature&) const = default;
};

struct CpuSummary {
  std::uint64_t steps = 0, switches = 0, irqs = 0;
  sim::Duration spin, halted;
};

struct ActionSummary {
  std::string name, kind;
  std::uint64_t started = 0;  ///< tasks created (0 if never due or never triggered)
  std::uint64_t skipped = 0;  ///< not started: its CPU was offline
  std::uint64_t calls = 0;    ///< calls made (a call still in progress at the end counts)
  std::vector<int> rets;      ///< one per returned call, in order
};

struct DetectorReport {
  std::string kind;
  int cpu = -1;
  sim::Time time;
  std::string message;
};

struct RunReport {
  // effective parameters
  std::uint64_t seed = 0;
  sim::PolicyKind strategy = sim::PolicyKind::Fifo;
  std::uint32_t pct_depth = 3;
  sim::Granularity granularity = sim::Granularity::Locks;
  std::vector<std::string> bugs;
  // what happened
  sim::RunResult result;
  bool failed = false;  ///< a failure record or an outcome other than completed
  std::optional<Signature> signature;  ///< set when failed or when an expectation was not met
  bool expectation_met = false;
  std::vector<std::string> unmet;  ///< why not, one line each
  sim::ChoiceLog choices;          ///< every choice the run made (empty if RunOptions::record_choices is off)
  std::uint64_t picks = 0;         ///< picks among two or more ready CPUs (counted even when not recorded)
  std::vector<CpuSummary> cpus;
  std::vector<ActionSummary> actions;
  std::map<std::string, std::int64_t> counts;
  std::vector<DetectorReport> reports;
  std::string online, active;                 ///< end-state masks (cpulist)
  std::vector<std::vector<std::string>> tail;  ///< [cpu + 1]: last trace lines (index 0 = cpu-)
  int exit_status() const { return expectation_met ? 0 : 1; }
};

/// Runs the scenario once. `on_result` is called as soon as the report is complete, before the
/// kernel is torn down (write the repro artifact there). Throws ScenarioError for bad options.
RunReport run_scenario(const Scenario& sc, const RunOptions& opts,
                       const std::function<void(const RunReport&)>& on_result = {});

}  // namespace app
