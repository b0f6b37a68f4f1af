// app/fuzz.hpp
// The search for bugs (issue 6): seed campaigns with several strategies, bounded exhaustive
// exploration of schedules, and shrinking of failures. All of it drives app::run_scenario; a
// campaign's table is merged in seed order, so `--jobs 1` and `--jobs 8` print the same table.
#pragma once

#include "app/artifact.hpp"
#include "app/runner.hpp"
#include "app/scenario.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace app {

enum class FuzzStrategy { Random, Pct, Swarm, Monkey, Portfolio };
const char* to_string(FuzzStrategy s);
std::optional<FuzzStrategy> fuzz_strategy_from_string(const std::string& s);

struct FuzzOptions {
  std::uint64_t seed_first = 1, seed_last = 100;  ///< inclusive seed range (--runs N = 1..N)
  std::optional<double> time_budget_s;             ///< --time: stop starting runs after this wall time
  unsigned jobs = 1;
  FuzzStrategy strategy = FuzzStrategy::Portfolio;
  std::optional<std::uint32_t> pct_depth;
  std::vector<std::string> bugs;
  std::string out_dir = "fuzz-out";
  unsigned shard_index = 0, shard_count = 1;  ///< this shard takes seeds with seed % count == index
  bool stop_on_first = false;
  bool resume = false;
  bool progress_tty = false;
};

/// One line of results.jsonl.
struct FuzzResult {
  std::uint64_t seed = 0;
  std::string strategy;  ///< the strategy this run used (portfolio picks one per seed)
  std::string config;    ///< swarm/monkey: what was drawn or injected
  bool failed = false;
  std::string signature;
  std::uint64_t steps = 0;
  double wall_s = 0;
  std::uint64_t picks = 0;  ///< pct runs: scheduling choices made (PCT's k itself comes from pilot runs)
};

struct FuzzBucket {
  std::string signature;
  std::uint64_t count = 0, first_seed = 0;
  std::uint64_t best_steps = 0, best_seed = 0;  ///< the artifact's run: fewest steps, then lowest seed
  std::string artifact;  ///< path of the shortest run's artifact
};

struct FuzzSummary {
  std::uint64_t runs = 0;     ///< run by this invocation
  std::uint64_t resumed = 0;  ///< found in results.jsonl, run by an earlier invocation (--resume)
  std::uint64_t failures = 0; ///< failing runs, resumed ones included (as are the buckets and probes)
  double wall_s = 0;
  std::vector<FuzzBucket> buckets;  ///< sorted by first seed
  std::map<std::string, std::uint64_t> probes;
  std::vector<std::string> never_reached;
  bool interrupted = false;  ///< stopped by SIGINT/SIGTERM with seeds left (app/interrupt.hpp)
};

/// Runs a campaign; writes DIR/results.jsonl (appended as each run ends) and one artifact per
/// signature (the shortest run that showed it). Progress goes to `progress`.
FuzzSummary run_campaign(const Scenario& sc, const FuzzOptions& opts, std::ostream& progress);
/// The end-of-campaign table; `smpsim` is how the replay commands it prints name the program.
void print_fuzz_table(const FuzzSummary& s, std::ostream& out, const std::string& smpsim = "smpsim");
/// Writes reached and never-reached probes as JSON (--coverage), atomically.
void write_coverage(const FuzzSummary& s, const std::string& path);

struct ExploreOptions {
  unsigned preemption_bound = 1;
  std::uint64_t max_schedules = 100'000;
  std::string out_dir = "explore-out";
  std::vector<std::string> bugs;
  unsigned jobs = 1;  ///< threads running schedules; the results are the same for any count
};
struct ExploreSummary {
  std::uint64_t schedules = 0, end_states = 0, failures = 0;
  bool complete = true;  ///< false if max_schedules or an interrupt cut the search
  bool interrupted = false;
  std::vector<FuzzBucket> buckets;
};
/// Every schedule with at most B deviations from the default (earliest-lane-first) choice.
ExploreSummary explore(const Scenario& sc, const ExploreOptions& opts, std::ostream& progress);

struct ShrinkSummary {
  std::size_t choices_before = 0, choices_after = 0;
  std::size_t nondefault_before = 0, nondefault_after = 0;
  std::size_t actions_before = 0, actions_after = 0;
  std::uint64_t calls_before = 0, calls_after = 0;  ///< the actions' calls (their counts, summed)
  std::size_t faults_before = 0, faults_after = 0;  ///< injected faults: fault ratios, failing hotplug calls
  unsigned cpus_before = 0, cpus_after = 0;
  std::uint64_t runs = 0;
  bool cut = false;  ///< the run budget ended the search: the result is the smallest found so far
  bool interrupted = false;  ///< so did SIGINT/SIGTERM
};
struct ShrinkOptions {
  std::uint64_t max_runs = 5000;  ///< replays to spend at most (each costs one run of the scenario)
};
/// The artifact does not replay exactly, so there is nothing to shrink (exit status 3, as replay).
class ShrinkNotReproduced : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
/// Minimises a failure while keeping its signature; the result replays exactly. Each kept step
/// makes the schedule or the scenario smaller, never larger; progress lines go to `progress`.
ShrinkSummary shrink_artifact(const Artifact& in, Artifact& out, std::ostream& progress, const ShrinkOptions& opts = {});

/// The log without the draws of a fault switched off: its entries of `kind`, and after a vCPU
/// stall taken (kind Stall, value 1) the stall's length; a PCT change point's length, which no
/// stall entry precedes, stays.
sim::ChoiceLog without_draws(const sim::ChoiceLog& log, sim::ChoiceKind kind);

// ---- text-level scenario edits (the artifact embeds the scenario text) ----
/// Sets `key = value` (a TOML literal) in `[table]`, adding the key or the table if missing.
std::string scenario_set_key(const std::string& text, const std::string& table, const std::string& key,
                             const std::string& value);
/// Removes `key` from `[table]` (the text unchanged if it is not there), so it takes its default.
std::string scenario_remove_key(const std::string& text, const std::string& table, const std::string& key);
/// Sets `key = value` in the `[[action]]` whose header is on `header_line` (1-based), adding the
/// key if missing; with no value, removes the key.
std::string scenario_set_action_key(const std::string& text, int header_line, const std::string& key,
                                    const std::optional<std::string>& value);
std::string scenario_set_cpus(const std::string& text, unsigned cpus);
std::string scenario_remove_action(const std::string& text, int header_line);
std::string scenario_append(const std::string& text, const std::string& block);

}  // namespace app
