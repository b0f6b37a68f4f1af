// app/cli_search.cpp — smpsim fuzz / explore / shrink. Exit statuses as for run: 0 nothing found,
// 1 a failure was found, 2 bad input or usage.
#include "app/cli_search.hpp"

#include "app/artifact.hpp"
#include "app/fuzz.hpp"
#include "model/bugs.hpp"
#include "sim/time.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <iostream>

namespace app {

namespace {

constexpr int kOk = 0, kFound = 1, kUsage = 2;

bool parse_range(const std::string& text, std::uint64_t& a, std::uint64_t& b) {
  const auto dots = text.find("..");
  if (dots == std::string::npos) return false;
  try {
    std::size_t pa = 0, pb = 0;
    a = std::stoull(text.substr(0, dots), &pa);
    b = std::stoull(text.substr(dots + 2), &pb);
    return pa == dots && pb == text.size() - dots - 2 && a <= b && a >= 1;
  } catch (const std::exception&) {
    return false;
  }
}

int usage(std::ostream& err, const std::string& msg) {
  err << "smpsim: error: " << msg << "\n";
  return kUsage;
}

bool check_bugs(const std::vector<std::string>& bugs, std::ostream& err) {
  for (const auto& b : bugs)
    if (!model::find_bug(b)) {
      err << fmt::format("smpsim: error: --bug {}: no such bug knob (see `smpsim list bugs`)\n", b);
      return false;
    }
  return true;
}

int cmd_fuzz(const SearchCommands& s, std::ostream& out, std::ostream& err) {
  FuzzOptions o;
  int selectors = (s.runs ? 1 : 0) + (s.seeds.empty() ? 0 : 1) + (s.time.empty() ? 0 : 1);
  if (selectors != 1) return usage(err, "fuzz: give exactly one of --runs N, --seeds A..B or --time DURATION");
  if (s.runs) {
    if (*s.runs == 0) return usage(err, "fuzz: --runs must be at least 1");
    o.seed_last = *s.runs;
  } else if (!s.seeds.empty()) {
    if (!parse_range(s.seeds, o.seed_first, o.seed_last))
      return usage(err, fmt::format("fuzz: --seeds: expected A..B with 1 <= A <= B, got \"{}\"", s.seeds));
  } else {
    sim::Duration d;
    if (!sim::parse_duration(s.time, d) || d <= sim::Duration{})
      return usage(err, fmt::format("fuzz: --time: expected a duration such as 60s, got \"{}\"", s.time));
    o.time_budget_s = static_cast<double>(d.count_ns()) / 1e9;
    o.seed_last = UINT32_MAX;
  }
  const auto st = fuzz_strategy_from_string(s.strategy);
  if (!st) return usage(err, fmt::format("fuzz: --strategy: expected random, pct, swarm, monkey or portfolio, got \"{}\"", s.strategy));
  o.strategy = *st;
  unsigned si = 0, sn = 0;
  char slash = 0;
  if (std::sscanf(s.shard.c_str(), "%u%c%u", &si, &slash, &sn) != 3 || slash != '/' || sn == 0 || si >= sn)
    return usage(err, fmt::format("fuzz: --shard: expected I/N with 0 <= I < N, got \"{}\"", s.shard));
  o.shard_index = si;
  o.shard_count = sn;
  if (!check_bugs(s.bugs, err)) return kUsage;
  o.bugs = s.bugs;
  o.pct_depth = s.pct_depth;
  o.jobs = std::max(1u, s.jobs);
  o.out_dir = s.out_dir;
  o.stop_on_first = s.stop_on_first;
  o.resume = s.resume;
  o.coverage_file = s.coverage;
  o.progress_tty = isatty(2) != 0;  // SIM-OK: presentation only
  const Scenario sc = load_scenario(s.fuzz_file);
  const FuzzSummary sum = run_campaign(sc, o, err);
  print_fuzz_table(sum, out);
  return sum.buckets.empty() ? kOk : kFound;
}

int cmd_explore(const SearchCommands& s, std::ostream& out, std::ostream& err) {
  if (!check_bugs(s.explore_bugs, err)) return kUsage;
  ExploreOptions o;
  o.preemption_bound = s.preemption_bound;
  o.max_schedules = s.max_schedules;
  o.out_dir = s.explore_out;
  o.bugs = s.explore_bugs;
  const Scenario sc = load_scenario(s.explore_file);
  if (sc.cpus > 4) err << fmt::format("smpsim: note: {} has {} CPUs; exhaustive exploration is meant for 2-4\n", sc.path, sc.cpus);
  const ExploreSummary sum = explore(sc, o, err);
  out << fmt::format("explore: {} schedules with at most {} preemption(s){}, {} distinct end states, {} failing\n",
                     sum.schedules, o.preemption_bound, sum.complete ? "" : " (cut at --max-schedules)", sum.end_states,
                     sum.failures);
  for (const auto& b : sum.buckets)
    out << fmt::format("  {}  x{}  smpsim replay {}\n", b.signature, b.count, b.artifact);
  return sum.failures == 0 ? kOk : kFound;
}

int cmd_shrink(const SearchCommands& s, std::ostream& out, std::ostream& err) {
  const Artifact in = read_artifact(s.shrink_in);
  Artifact shrunk;
  const ShrinkSummary sum = shrink_artifact(in, shrunk, err);
  write_artifact(s.shrink_out, shrunk);
  out << fmt::format("shrink: {} ({} runs)\n", in.signature.text(), sum.runs);
  out << fmt::format("  choices       {:>6} -> {}\n", sum.choices_before, sum.choices_after);
  out << fmt::format("  preemptions   {:>6} -> {}   (non-default scheduling choices)\n", sum.nondefault_before,
                     sum.nondefault_after);
  out << fmt::format("  actions       {:>6} -> {}\n", sum.actions_before, sum.actions_after);
  out << fmt::format("  cpus          {:>6} -> {}\n", sum.cpus_before, sum.cpus_after);
  out << fmt::format("wrote {}; replay it with: smpsim replay {}\n", s.shrink_out, s.shrink_out);
  return kOk;
}

}  // namespace

void add_search_commands(CLI::App& app, SearchCommands& s) {
  s.fuzz = app.add_subcommand("fuzz", "run a campaign over many seeds; one repro artifact per distinct failure");
  s.fuzz->add_option("file", s.fuzz_file, "scenario file")->required();
  s.fuzz->add_option("--runs", s.runs, "seeds 1..N");
  s.fuzz->add_option("--seeds", s.seeds, "an inclusive seed range A..B");
  s.fuzz->add_option("--time", s.time, "start runs until this much wall time has passed (e.g. 60s)");
  s.fuzz->add_option("--jobs", s.jobs, "parallel runs (threads)")->check(CLI::Range(1, 256));
  s.fuzz->add_option("--strategy", s.strategy, "random, pct, swarm, monkey or portfolio (round-robin, default)");
  s.fuzz->add_option("--pct-depth", s.pct_depth, "PCT depth d")->check(CLI::Range(1, 64));
  s.fuzz->add_option("--bug", s.bugs, "enable a bug knob (repeatable; see `smpsim list bugs`)");
  s.fuzz->add_option("--out", s.out_dir, "output directory (results.jsonl, artifacts/)");
  s.fuzz->add_option("--shard", s.shard, "I/N: take the seeds with seed % N == I (see docs/scaling.md)");
  s.fuzz->add_flag("--stop-on-first", s.stop_on_first, "stop at the first failure");
  s.fuzz->add_flag("--resume", s.resume, "skip the seeds already in OUT/results.jsonl");
  s.fuzz->add_option("--coverage", s.coverage, "write reached and never-reached probes as JSON");

  s.explore = app.add_subcommand("explore", "visit every schedule with at most B preemptions (small machines)");
  s.explore->add_option("file", s.explore_file, "scenario file")->required();
  s.explore->add_option("--preemption-bound", s.preemption_bound, "B")->check(CLI::Range(0, 8));
  s.explore->add_option("--max-schedules", s.max_schedules, "stop after this many schedules");
  s.explore->add_option("--out", s.explore_out, "output directory for artifacts");
  s.explore->add_option("--bug", s.explore_bugs, "enable a bug knob (repeatable)");

  s.shrink = app.add_subcommand("shrink", "minimise a failure while keeping its signature");
  s.shrink->add_option("artifact", s.shrink_in, "repro artifact")->required();
  s.shrink->add_option("-o,--output", s.shrink_out, "where to write the shrunk artifact")->required();
}

std::optional<int> run_search_command(const SearchCommands& s, std::ostream& out, std::ostream& err) {
  if (s.fuzz && *s.fuzz) return cmd_fuzz(s, out, err);
  if (s.explore && *s.explore) return cmd_explore(s, out, err);
  if (s.shrink && *s.shrink) return cmd_shrink(s, out, err);
  return std::nullopt;
}

}  // namespace app
