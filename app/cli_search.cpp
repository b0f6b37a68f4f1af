// app/cli_search.cpp — smpsim fuzz / explore / shrink. Exit statuses: fuzz and explore 0 nothing
// found, 1 a failure was found; shrink 0 written, 3 the artifact does not replay exactly; 2 bad
// input or usage everywhere.
#include "app/cli_search.hpp"

#include "app/artifact.hpp"
#include "app/fuzz.hpp"
#include "app/interrupt.hpp"
#include "app/output.hpp"
#include "app/words.hpp"
#include "model/bugs.hpp"
#include "sim/time.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>

#include <iostream>

namespace app {

namespace {

constexpr int kOk = 0, kFound = 1, kUsage = 2, kNotReproduced = 3;

/// A decimal whole number: digits only (no sign, no blanks), within 64 bits.
bool parse_uint(const std::string& text, std::uint64_t& v) {
  if (text.empty() || text.size() > 20 || text.find_first_not_of("0123456789") != std::string::npos) return false;
  try {
    std::size_t used = 0;
    v = std::stoull(text, &used);
    return used == text.size();
  } catch (const std::exception&) {
    return false;
  }
}

/// A seed or a count of runs: a whole number of 1 or more.
bool parse_seed(const std::string& text, std::uint64_t& v) { return parse_uint(text, v) && v >= 1; }

bool parse_range(const std::string& text, std::uint64_t& a, std::uint64_t& b) {
  const auto dots = text.find("..");
  if (dots == std::string::npos) return false;
  return parse_seed(text.substr(0, dots), a) && parse_seed(text.substr(dots + 2), b) && a <= b;
}

int usage(std::ostream& err, const std::string& msg) {
  print_error(err, msg);
  return kUsage;
}

bool check_bugs(const std::vector<std::string>& bugs, std::ostream& err) {
  for (const auto& b : bugs)
    if (!model::find_bug(b)) {
      print_error(err, fmt::format("--bug {}: no such bug knob (see `smpsim list bugs`)", b));
      return false;
    }
  return true;
}

int cmd_fuzz(const SearchCommands& s, std::ostream& out, std::ostream& err) {
  FuzzOptions o;
  int selectors = (s.runs.empty() ? 0 : 1) + (s.seeds.empty() ? 0 : 1) + (s.time.empty() ? 0 : 1);
  if (selectors != 1) return usage(err, "fuzz: give exactly one of --runs N, --seeds A..B or --time DURATION");
  if (!s.runs.empty()) {
    if (!parse_seed(s.runs, o.seed_last))
      return usage(err, fmt::format("fuzz: --runs: expected a whole number of runs, at least 1, got \"{}\"", s.runs));
  } else if (!s.seeds.empty()) {
    if (!parse_range(s.seeds, o.seed_first, o.seed_last))
      return usage(err, fmt::format("fuzz: --seeds: expected A..B, whole numbers with 1 <= A <= B < 2^64, got \"{}\"", s.seeds));
  } else {
    sim::Duration d;
    if (!sim::parse_duration(s.time, d) || d <= sim::Duration{})
      return usage(err, fmt::format("fuzz: --time: expected a duration such as 60s, got \"{}\"", s.time));
    o.time_budget_s = static_cast<double>(d.count_ns()) / 1e9;
    o.seed_last = UINT64_MAX;  // seeds are taken one at a time until the budget is spent
  }
  const auto st = fuzz_strategy_from_string(s.strategy);
  if (!st) return usage(err, fmt::format("fuzz: --strategy: expected random, pct, swarm, monkey or portfolio, got \"{}\"", s.strategy));
  o.strategy = *st;
  // Strict: digits only on both sides of one slash (sscanf took "1/2junk" and wrapped "0/-1").
  const auto slash = s.shard.find('/');
  std::uint64_t si = 0, sn = 0;
  if (slash == std::string::npos || !parse_uint(s.shard.substr(0, slash), si) || !parse_uint(s.shard.substr(slash + 1), sn) ||
      sn == 0 || sn > 1'000'000'000 || si >= sn)
    return usage(err, fmt::format("fuzz: --shard: expected I/N, whole numbers with 0 <= I < N <= 10^9, got \"{}\"", s.shard));
  o.shard_index = static_cast<unsigned>(si);
  o.shard_count = static_cast<unsigned>(sn);
  if (!check_bugs(s.bugs, err)) return kUsage;
  o.bugs = s.bugs;
  o.pct_depth = s.pct_depth;
  o.jobs = std::max(1u, s.jobs);
  o.out_dir = s.out_dir;
  o.stop_on_first = s.stop_on_first;
  o.resume = s.resume;
  o.progress_tty = isatty(2) != 0;  // SIM-OK: presentation only
  // An output that cannot be written is bad input: said before the campaign, not after it.
  if (!s.coverage.empty()) check_writable_target(s.coverage);
  const Scenario sc = load_scenario(s.fuzz_file);
  const InterruptScope stop_on_signal;
  const FuzzSummary sum = run_campaign(sc, o, err);
  print_fuzz_table(sum, out, s.argv0);
  if (!s.coverage.empty()) write_coverage(sum, s.coverage);
  if (sum.interrupted) return interrupted_exit_status();
  return sum.buckets.empty() ? kOk : kFound;
}

int cmd_explore(const SearchCommands& s, std::ostream& out, std::ostream& err) {
  if (!check_bugs(s.explore_bugs, err)) return kUsage;
  ExploreOptions o;
  o.preemption_bound = s.preemption_bound;
  o.max_schedules = s.max_schedules;
  o.out_dir = s.explore_out;
  o.bugs = s.explore_bugs;
  o.jobs = s.explore_jobs;
  const Scenario sc = load_scenario(s.explore_file);
  if (sc.cpus > 4) err << fmt::format("smpsim: note: {} has {} CPUs; exhaustive exploration is meant for 2-4\n", sc.path, sc.cpus);
  const InterruptScope stop_on_signal;
  const ExploreSummary sum = explore(sc, o, err);
  const char* cut = sum.complete ? "" : sum.interrupted ? " (interrupted: not every schedule was run)" : " (cut at --max-schedules)";
  out << fmt::format("explore: {} with at most {}{}, {}, {} failing\n", plural(sum.schedules, "schedule"),
                     plural(o.preemption_bound, "preemption"), cut, plural(sum.end_states, "distinct end state"),
                     sum.failures);
  for (const auto& b : sum.buckets)
    out << fmt::format("  {}  x{}  {} replay {}\n", b.signature, b.count, shell_quote(s.argv0), shell_quote(b.artifact));
  if (sum.interrupted) return interrupted_exit_status();
  return sum.failures == 0 ? kOk : kFound;
}

int cmd_shrink(const SearchCommands& s, std::ostream& out, std::ostream& err) {
  const Artifact in = read_artifact(s.shrink_in);
  // The output is checked before the replays are spent, not after them.
  check_writable_target(s.shrink_out);
  Artifact shrunk;
  ShrinkSummary sum;
  const InterruptScope stop_on_signal;
  try {
    sum = shrink_artifact(in, shrunk, err, ShrinkOptions{s.shrink_max_runs});
  } catch (const ShrinkNotReproduced& e) {
    err << fmt::format("smpsim: {}: {}\n", s.shrink_in, e.what());
    return kNotReproduced;
  }
  write_artifact(s.shrink_out, shrunk);
  out << fmt::format("shrink: {} ({}{})\n", in.signature.text(), plural(sum.runs, "run"),
                     sum.interrupted ? ", interrupted: the smallest found so far"
                     : sum.cut       ? ", cut at --max-runs: the smallest found so far"
                                     : "");
  out << fmt::format("  choices       {:>6} -> {}\n", sum.choices_before, sum.choices_after);
  out << fmt::format("  preemptions   {:>6} -> {}   (non-default scheduling choices)\n", sum.nondefault_before,
                     sum.nondefault_after);
  out << fmt::format("  actions       {:>6} -> {}\n", sum.actions_before, sum.actions_after);
  out << fmt::format("  calls         {:>6} -> {}   (the actions' counts, summed)\n", sum.calls_before, sum.calls_after);
  out << fmt::format("  faults        {:>6} -> {}   (fault ratios and delays, failing hotplug calls)\n", sum.faults_before,
                     sum.faults_after);
  out << fmt::format("  cpus          {:>6} -> {}\n", sum.cpus_before, sum.cpus_after);
  out << fmt::format("wrote {}; replay it with: {} replay {}\n", s.shrink_out, shell_quote(s.argv0), shell_quote(s.shrink_out));
  return sum.interrupted ? interrupted_exit_status() : kOk;
}

}  // namespace

void add_search_commands(CLI::App& app, SearchCommands& s) {
  s.fuzz = app.add_subcommand("fuzz", "run a campaign over many seeds; one repro artifact per distinct failure");
  s.fuzz->add_option("file", s.fuzz_file, "scenario file")->required();
  s.fuzz->add_option("--runs", s.runs, "seeds 1..N")->type_name("N");
  s.fuzz->add_option("--seeds", s.seeds, "an inclusive seed range A..B");
  s.fuzz->add_option("--time", s.time, "start runs until this much wall time has passed (e.g. 60s)");
  s.fuzz->add_option("--jobs", s.jobs, "parallel runs (threads); the results are the same for any count")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  s.fuzz->add_option("--strategy", s.strategy, "random, pct, swarm, monkey or portfolio (round-robin, default)");
  s.fuzz->add_option("--pct-depth", s.pct_depth, "PCT depth d (default: the scenario's)")->check(CLI::Range(1, 1000));
  s.fuzz->add_option("--bug", s.bugs, "enable a bug knob (repeatable; see `smpsim list bugs`)")->allow_extra_args(false);
  s.fuzz->add_option("--out", s.out_dir, "output directory (results.jsonl, artifacts/, campaign.json, probes.json)")
      ->capture_default_str();
  s.fuzz->add_option("--shard", s.shard, "I/N: take the seeds with seed % N == I (see docs/scaling.md)");
  s.fuzz->add_flag("--stop-on-first", s.stop_on_first, "stop at the first failure");
  s.fuzz->add_flag("--resume", s.resume, "continue the campaign in --out: skip the seeds already in its results.jsonl");
  s.fuzz->add_option("--coverage", s.coverage, "write reached and never-reached probes as JSON");

  s.explore = app.add_subcommand("explore", "visit every schedule with at most B preemptions (small machines)");
  s.explore->add_option("file", s.explore_file, "scenario file")->required();
  s.explore->add_option("--preemption-bound", s.preemption_bound, "B: at most this many deviations from the default schedule")
      ->check(CLI::Range(0, 8))
      ->capture_default_str();
  s.explore->add_option("--max-schedules", s.max_schedules, "stop after this many schedules")
      ->check(CLI::Range(std::uint64_t{1}, UINT64_MAX))
      ->capture_default_str();
  s.explore->add_option("--out", s.explore_out, "output directory for artifacts")->capture_default_str();
  s.explore->add_option("--jobs", s.explore_jobs, "parallel runs (threads); the results are the same for any count")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  s.explore->add_option("--bug", s.explore_bugs, "enable a bug knob (repeatable)")->allow_extra_args(false);

  s.shrink = app.add_subcommand("shrink", "minimise a failure while keeping its signature");
  s.shrink->add_option("artifact", s.shrink_in, "repro artifact")->required();
  s.shrink->add_option("-o,--output", s.shrink_out, "where to write the shrunk artifact")->required();
  s.shrink->add_option("--max-runs", s.shrink_max_runs, "replays to spend at most; then the smallest found so far is written")
      ->check(CLI::Range(std::uint64_t{1}, UINT64_MAX))
      ->capture_default_str();
}

std::optional<int> run_search_command(const SearchCommands& s, std::ostream& out, std::ostream& err) {
  if (s.fuzz && *s.fuzz) return cmd_fuzz(s, out, err);
  if (s.explore && *s.explore) return cmd_explore(s, out, err);
  if (s.shrink && *s.shrink) return cmd_shrink(s, out, err);
  return std::nullopt;
}

}  // namespace app
