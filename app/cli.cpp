// app/cli.cpp — the smpsim subcommands (see cli.hpp). Everything is validated before any output
// file is opened, so bad input (status 2) never leaves a file behind. Wall time is measured only
// to be printed in the summary; it never reaches a run.
#include "app/cli_search.hpp"
#include "app/cli.hpp"

#include "app/artifact.hpp"
#include "app/chrome_trace.hpp"
#include "app/fns.hpp"
#include "app/output.hpp"
#include "app/runner.hpp"
#include "app/scenario.hpp"
#include "app/trace_events.hpp"
#include "app/trace_tools.hpp"
#include "app/words.hpp"
#include "model/bugs.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string_view>
#include <tuple>

namespace app {

namespace {

/// "--log sched=debug" adds the scheduler's wake-ups to a trace of scenarios/default.toml (a
/// subsystem with no debug events there would add nothing; a test checks the example).
constexpr const char* kLogExample = "sched=debug";

struct RunArgs {
  std::string file;
  std::string seed, strategy, granularity;
  std::uint32_t pct_depth = 0;  // 0 = the scenario's
  std::vector<std::string> bugs, logs;
  std::string trace, trace_format = "text";
  std::string artifact;
};

void add_trace_options(CLI::App* c, RunArgs& a) {
  c->add_option("--trace", a.trace, "write the run's trace to FILE");
  c->add_option("--trace-format", a.trace_format, "trace file format (chrome: Perfetto / chrome://tracing)")
      ->check(CLI::IsMember({"text", "jsonl", "chrome"}));
  c->add_option("--log", a.logs,
                fmt::format("output level of a trace subsystem (or *), e.g. {}; repeatable. Subsystems: {}",
                            kLogExample, fmt::join(trace_subsystems(), ", ")))
      ->allow_extra_args(false);
}

void add_run_options(CLI::App* c, RunArgs& a) {
  c->add_option("--seed", a.seed, "seed: decimal, 0x-hex or a 40-hex git hash (default: the scenario's)");
  c->add_option("--strategy", a.strategy, "scheduling strategy (default: the scenario's)")
      ->check(CLI::IsMember({"fifo", "random", "pct"}));
  c->add_option("--pct-depth", a.pct_depth, "PCT bug depth d (default: the scenario's)")
      ->check(CLI::Range(1, 1000));
  c->add_option("--granularity", a.granularity, "interleaving points (default: the scenario's)")
      ->check(CLI::IsMember({"none", "locks", "shared"}));
  c->add_option("--bug", a.bugs, "enable a bug knob (see `smpsim list bugs`); repeatable")->allow_extra_args(false);
  add_trace_options(c, a);
  c->add_option("--artifact", a.artifact,
                "where to write the repro artifact on failure (default: <scenario>.seed<N>.repro.json)");
}

/// Validates the trace and override options into `o`. Returns false (message printed) on bad input.
bool make_options(const RunArgs& a, RunOptions& o, std::ostream& err) {
  if (!a.seed.empty()) {
    o.seed = sim::parse_seed(a.seed);
    if (!o.seed) {
      print_error(err, fmt::format("--seed: '{}' is not a seed (decimal, 0x-hex or a 40-hex git hash)", a.seed));
      return false;
    }
  }
  if (!a.strategy.empty()) o.strategy = sim::policy_from_string(a.strategy);
  if (a.pct_depth != 0) o.pct_depth = a.pct_depth;
  if (!a.granularity.empty()) o.granularity = sim::granularity_from_string(a.granularity);
  for (const auto& b : a.bugs) {
    if (!model::find_bug(b)) {
      std::string known;
      for (const auto& k : model::bug_registry()) known += " " + k.name;
      print_error(err, fmt::format("--bug: unknown bug knob '{}'; known:{}", b, known));
      return false;
    }
    o.bugs.push_back(b);
  }
  for (const auto& l : a.logs) {
    const auto eq = l.find('=');
    sim::Level level{};
    if (eq == std::string::npos || eq == 0 || !sim::level_from_string(l.substr(eq + 1), level)) {
      print_error(err, fmt::format("--log: expected SUBSYS=LEVEL with LEVEL one of trace, debug, info, warn, error, "
                                   "off; got '{}'",
                                   l));
      return false;
    }
    const std::string subsys = l.substr(0, eq);
    const auto& known = trace_subsystems();
    if (subsys != "*" && std::find(known.begin(), known.end(), subsys) == known.end()) {
      print_error(err, fmt::format("--log: unknown trace subsystem '{}'; expected * or one of: {}", subsys,
                                   fmt::join(known, ", ")));
      return false;
    }
    o.log_levels.emplace_back(l.substr(0, eq), level);
  }
  if (a.trace.empty() && a.trace_format != "text") {
    print_error(err, "--trace-format needs --trace FILE");
    return false;
  }
  return true;
}

/// The trace file of a run: opened before the run, filled, committed after it.
struct TraceOutput {
  std::optional<AtomicFile> file;
  std::unique_ptr<ChromeTrace> chrome;

  bool open(const RunArgs& a, const std::string& process, RunOptions& o, std::ostream& err) {
    if (a.trace.empty()) return true;
    try {
      file.emplace(a.trace);
    } catch (const std::exception& e) {
      print_error(err, fmt::format("--trace: {}", e.what()));
      return false;
    }
    if (a.trace_format == "text") o.text_trace = &file->stream();
    if (a.trace_format == "jsonl") o.jsonl_trace = &file->stream();
    if (a.trace_format == "chrome") {
      chrome = std::make_unique<ChromeTrace>(process);
      o.chrome = chrome.get();
    }
    return true;
  }
  /// False (after saying why) if the trace could not be written.
  bool commit(std::ostream& out, std::ostream& err) {
    if (!file) return true;
    if (chrome) chrome->write(file->stream());
    try {
      file->commit();
      out << fmt::format("trace      {}\n", file->path());
      return true;
    } catch (const std::exception& e) {
      print_error(err, fmt::format("cannot write the trace: {}", e.what()));
      return false;
    }
  }
};

std::string trimmed_dmesg(sim::Time t) {
  std::string s = sim::format_dmesg(t);
  return s.substr(s.find_first_not_of(' '));
}

/// "12345.678": a duration in microseconds with its nanoseconds.
std::string micros(sim::Duration d) {
  const std::int64_t ns = d.count_ns();
  return fmt::format("{}{}.{:03}", ns < 0 ? "-" : "", std::abs(ns) / 1000, std::abs(ns) % 1000);
}

void print_cpus(std::ostream& out, const RunReport& rep) {
  const std::size_t n = rep.cpus.size();
  if (n <= 16) {
    // Durations in one unit, microseconds to the nanosecond, right-aligned like the counts, so
    // that a column reads down and CPUs compare at a glance.
    out << fmt::format("{:<10}{:>8}{:>10}{:>10}{:>14}{:>14}\n", "cpu", "steps", "switches", "irqs", "spin us", "halted us");
    for (std::size_t c = 0; c < n; ++c) {
      const CpuSummary& s = rep.cpus[c];
      out << fmt::format("  cpu{:<5} {:>7} {:>9} {:>9} {:>13} {:>13}\n", c, s.steps, s.switches, s.irqs, micros(s.spin),
                         micros(s.halted));
    }
    return;
  }
  out << "cpu        steps/switches/irqs per CPU\n";
  for (std::size_t c = 0; c < n; c += 4) {
    out << " ";
    for (std::size_t i = c; i < std::min(n, c + 4); ++i)
      out << fmt::format(" {:<24}", fmt::format("cpu{} {}/{}/{}", i, rep.cpus[i].steps, rep.cpus[i].switches,
                                                rep.cpus[i].irqs));
    out << "\n";
  }
}

void print_actions(std::ostream& out, const RunReport& rep) {
  bool first = true;
  for (const auto& a : rep.actions) {
    std::string rets;
    for (std::size_t i = 0; i < a.rets.size() && i < 12; ++i) rets += fmt::format(" {}", a.rets[i]);
    if (a.rets.size() > 12) rets += fmt::format(" ... ({} in all)", a.rets.size());
    std::string what = plural(a.calls, "call");
    if (!a.rets.empty()) what += ", ret" + rets;
    if (a.calls > a.rets.size()) what += fmt::format(", {} still in progress at the end", a.calls - a.rets.size());
    if (a.skipped) what += fmt::format(", skipped {} (cpu offline)", a.skipped);
    if (a.started == 0 && a.skipped == 0) what += ", never started";
    out << fmt::format("{:<11}{} {}: {}\n", first ? "actions" : "", a.name, a.kind, what);
    first = false;
  }
}

void print_tails(std::ostream& out, const RunReport& rep) {
  std::vector<std::size_t> order;
  const int fcpu = rep.result.failure ? rep.result.failure->cpu : -1;
  if (fcpu >= 0 && static_cast<std::size_t>(fcpu + 1) < rep.tail.size()) order.push_back(static_cast<std::size_t>(fcpu + 1));
  for (std::size_t i = 0; i < rep.tail.size(); ++i)
    if (static_cast<int>(i) != fcpu + 1 && !rep.tail[i].empty()) order.push_back(i);
  constexpr std::size_t kMaxCpus = 16;
  out << "last trace lines per CPU:\n";
  for (std::size_t k = 0; k < order.size() && k < kMaxCpus; ++k) {
    const std::size_t i = order[k];
    out << fmt::format("  {}:\n", i == 0 ? std::string("cpu-") : fmt::format("cpu{}", i - 1));
    for (const auto& l : rep.tail[i]) out << "    " << l << "\n";
  }
  if (order.size() > kMaxCpus)
    out << fmt::format("  ({} more; write the trace with --trace)\n", plural(order.size() - kMaxCpus, "CPU"));
}

void print_summary(std::ostream& out, const Scenario& sc, const RunReport& rep, double wall_s) {
  const sim::RunResult& r = rep.result;
  out << fmt::format("scenario   {} ({}): {}, {}\n", sc.name, sc.path, plural(sc.cpus, "CPU"),
                     plural(sc.actions.size(), "action"));
  out << fmt::format("run        seed {}, strategy {}{}, granularity {}, bugs {}\n", rep.seed, strategy_name(rep.strategy),
                     rep.strategy == sim::PolicyKind::Pct ? fmt::format(" (depth {})", rep.pct_depth) : "",
                     sim::to_string(rep.granularity), rep.bugs.empty() ? "none" : fmt::format("{}", fmt::join(rep.bugs, ",")));
  out << fmt::format("outcome    {} at {} s virtual, {}, {}, trace hash {:016x}\n", sim::to_string(r.outcome),
                     trimmed_dmesg(r.end_time), plural(r.steps, "step"), plural(r.events, "event"),
                     r.trace_hash);
  const Expect& e = sc.expect;
  const std::string expected =
      e.pass ? std::string("pass")
             : (e.failure_kinds.empty() ? std::string("a failure") : fmt::format("failure {}", fmt::join(e.failure_kinds, " or ")));
  if (rep.expectation_met) out << fmt::format("result     PASS: met the expectation ({})\n", expected);
  else
    for (std::size_t i = 0; i < rep.unmet.size(); ++i)
      out << fmt::format("{:<11}{}{}\n", i == 0 ? "result" : "", i == 0 ? "FAIL: " : "      ", rep.unmet[i]);
  print_cpus(out, rep);
  print_actions(out, rep);
  for (const auto& d : rep.reports)
    out << fmt::format("report     {} on cpu{} at {} s: {}\n", d.kind, d.cpu, trimmed_dmesg(d.time), d.message);
  if (r.failure) {
    const sim::Failure& f = *r.failure;
    out << fmt::format("failure    {} at [{}] step {} on cpu{} task {}, place {}\n", f.kind, sim::format_dmesg(f.time),
                       f.step, f.cpu, f.task, f.place.empty() ? "-" : f.place);
    std::string msg = f.message;
    std::size_t p = 0;
    while ((p = msg.find('\n', p)) != std::string::npos) msg.replace(p++, 1, "\n           ");
    out << fmt::format("           {}\n", msg);
  }
  if (rep.signature) out << fmt::format("signature  {}\n", rep.signature->text());
  if (rep.failed || !rep.expectation_met) print_tails(out, rep);
  out << fmt::format("wall time  {:.3f} s\n", wall_s);
}

std::string default_artifact_path(const Scenario& sc, std::uint64_t seed) {
  return fmt::format("{}.seed{}.repro.json", sc.name, seed);
}

/// Runs with outputs; writes the artifact from inside the run (before the kernel is torn down).
int run_and_report(const Scenario& sc, const RunArgs& a, RunOptions& o, const std::string& argv0, bool write_repro,
                   std::ostream& out, std::ostream& err, RunReport& rep) {
  TraceOutput trace;
  if (!trace.open(a, fmt::format("smpsim {} seed {}", sc.name, o.seed.value_or(sc.seed)), o, err)) return kExitUsage;
  std::string artifact_path, artifact_error;
  const auto on_result = [&](const RunReport& r) {
    if (!write_repro || (!r.failed && r.expectation_met)) return;
    artifact_path = a.artifact.empty() ? default_artifact_path(sc, r.seed) : a.artifact;
    try {
      write_artifact(artifact_path, make_artifact(sc, r));
    } catch (const std::exception& e) {
      artifact_error = e.what();
      artifact_path.clear();
    }
  };
  const auto t0 = std::chrono::steady_clock::now();  // SIM-OK: wall time is printed, never used by a run
  try {
    rep = run_scenario(sc, o, on_result);
  } catch (const ScenarioError& e) {
    print_error(err, e.what());
    return kExitUsage;
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();  // SIM-OK
  print_summary(out, sc, rep, wall);
  // An output that could not be written is an error of the invocation (status 2), not a result.
  const bool trace_ok = trace.commit(out, err);
  if (!artifact_error.empty()) print_error(err, "cannot write the repro artifact: " + artifact_error);
  if (!artifact_path.empty()) {
    out << fmt::format("repro      {}\n", artifact_path);
    out << fmt::format("replay     {} replay {}\n", shell_quote(argv0), shell_quote(artifact_path));
    std::string cmd = fmt::format("{} run {} --seed {} --strategy {} --granularity {}", shell_quote(argv0),
                                  shell_quote(sc.path), rep.seed, strategy_name(rep.strategy),
                                  sim::to_string(rep.granularity));
    if (rep.strategy == sim::PolicyKind::Pct) cmd += fmt::format(" --pct-depth {}", rep.pct_depth);
    for (const auto& b : o.bugs) cmd += " --bug " + b;
    out << fmt::format("rerun      {}\n", cmd);
  }
  if (!trace_ok || !artifact_error.empty()) return kExitUsage;
  return rep.exit_status();
}

int cmd_run(const RunArgs& a, const std::string& argv0, std::ostream& out, std::ostream& err) {
  Scenario sc;
  try {
    sc = load_scenario(a.file);
  } catch (const ScenarioError& e) {
    print_error(err, e.what());
    return kExitUsage;
  }
  RunOptions o;
  if (!make_options(a, o, err)) return kExitUsage;
  RunReport rep;
  return run_and_report(sc, a, o, argv0, /*write_repro=*/true, out, err, rep);
}

int cmd_replay(const RunArgs& a, const std::string& argv0, std::ostream& out, std::ostream& err) {
  Artifact art;
  Scenario sc;
  RunOptions o;
  try {
    art = read_artifact(a.file);
    sc = parse_scenario(art.scenario_text, fmt::format("{} (embedded in {})", art.scenario_path, a.file));
    sc.path = art.scenario_path;
  } catch (const ScenarioError& e) {
    print_error(err, e.what());
    return kExitUsage;
  }
  std::string error;
  auto log = sim::ChoiceLog::parse(art.choices, error);
  const auto strategy = sim::policy_from_string(art.strategy);
  const auto granularity = sim::granularity_from_string(art.granularity);
  if (!log || !strategy || !granularity) {
    print_error(err, fmt::format("{}: repro artifact: {}", a.file,
                                 !log ? "choices: " + error
                                      : fmt::format("bad strategy or granularity '{}'/'{}'", art.strategy, art.granularity)));
    return kExitUsage;
  }
  for (const auto& b : art.bugs) {
    if (model::find_bug(b)) continue;
    print_error(err, fmt::format("{}: repro artifact names the bug knob '{}', unknown to this smpsim", a.file, b));
    return kExitUsage;
  }
  if (!make_options(a, o, err)) return kExitUsage;
  o.seed = art.seed;
  o.strategy = *strategy;
  o.pct_depth = art.pct_depth;
  o.granularity = *granularity;
  o.bugs = art.bugs;
  o.replay = std::move(*log);
  out << fmt::format("replaying  {} (smpsim {}, signature {})\n", a.file, art.smpsim_version, art.signature.text());
  RunReport rep;
  if (run_and_report(sc, a, o, argv0, /*write_repro=*/false, out, err, rep) == kExitUsage) return kExitUsage;
  const bool same_sig = rep.signature && *rep.signature == art.signature;
  const bool same_hash = rep.result.trace_hash == art.trace_hash;
  if (same_sig && same_hash) {
    out << fmt::format("replay     reproduced: signature {}, trace hash {:016x}\n", art.signature.text(), art.trace_hash);
    // What replay answers is whether the artifact reproduces, whatever the scenario expected.
    return kExitOk;
  }
  out << "replay     DID NOT REPRODUCE\n";
  if (!same_sig)
    out << fmt::format("           signature: expected {}, got {}\n", art.signature.text(),
                       rep.signature ? rep.signature->text() : std::string("none (the run met its expectations)"));
  if (!same_hash) out << fmt::format("           trace hash: expected {:016x}, got {:016x}\n", art.trace_hash, rep.result.trace_hash);
  if (rep.result.replay_diverged_at)
    out << fmt::format("           first divergent step: choice #{}: {}\n", *rep.result.replay_diverged_at,
                       rep.result.replay_divergence);
  else
    out << "           every recorded choice was followed: the model or smpsim build differs from the one that "
           "wrote the artifact\n";
  return kExitNotReproduced;
}

int cmd_list(const std::string& what, std::ostream& out) {
  if (what == "fns") {
    out << "stop callbacks (fn = \"...\" in stop_* actions):\n";
    for (const auto& f : stop_fn_catalog()) out << fmt::format("  {:<24} {}\n", f.name, f.summary);
    out << "hotplug callbacks (startup/teardown = \"...\" in cpuhp_setup_state actions):\n";
    for (const auto& f : hotplug_cb_catalog()) out << fmt::format("  {:<36} {}\n", f.name, f.summary);
  } else if (what == "events") {
    out << "trace events (`on` triggers see the info level and above; --log SUBSYS=LEVEL sets a subsystem's output):\n";
    for (const auto& e : trace_events()) out << fmt::format("  {:<14} {:<6} {}\n", e.subsys, sim::to_string(e.level), e.name);
  } else if (what == "bugs") {
    for (const auto& b : model::bug_registry())
      out << fmt::format("{:<5} {}\n      fix: {}\n      expect: {}\n", b.name, b.title, b.history, b.expect);
  } else {
    for (const auto& k : action_kinds()) out << fmt::format("  {:<32} {}\n", k.name, k.summary);
  }
  return kExitOk;
}

/// Every file is checked and reported, so one run lists all that need fixing.
int cmd_check(const std::vector<std::string>& files, std::ostream& out, std::ostream& err) {
  int status = kExitOk;
  for (const auto& f : files) {
    try {
      const Scenario sc = load_scenario(f);
      out << fmt::format("{}: ok ({}, {})\n", f, plural(sc.cpus, "CPU"), plural(sc.actions.size(), "action"));
    } catch (const ScenarioError& e) {
      print_error(err, e.what());
      status = kExitUsage;
    }
  }
  return status;
}

int cmd_trace_show(const std::string& file, int cpu, const std::string& from, const std::string& to,
                   const std::string& event, std::ostream& out, std::ostream& err) {
  TraceFilter f;
  if (cpu >= -1) f.cpu = cpu;
  for (const auto& [text, dest, name] : {std::tuple{from, &f.from_ns, "--from"}, std::tuple{to, &f.to_ns, "--to"}}) {
    if (text.empty()) continue;
    std::int64_t ns = 0;
    if (!parse_time_arg(text, ns)) {
      print_error(err, fmt::format("{}: '{}' is not a time such as 0.001234 (seconds) or 1500us", name, text));
      return kExitUsage;
    }
    *dest = ns;
  }
  f.event = event;
  return trace_show(file, f, out, err);
}

/// "unknown subcommand ..." if a word where a subcommand is due names none (CLI11 would only say
/// that a subcommand is required), else "". Stops at the first option: its value is not a word.
std::string unknown_subcommand(CLI::App& app, int argc, const char* const* argv) {
  CLI::App* at = &app;
  std::string path = "smpsim";
  for (int i = 1; i < argc; ++i) {
    const std::string_view word = argv[i];
    const auto subs = at->get_subcommands([](CLI::App*) { return true; });
    if (subs.empty() || word.empty() || word.front() == '-') return {};
    const auto it = std::find_if(subs.begin(), subs.end(), [&](CLI::App* s) { return s->get_name() == word; });
    if (it == subs.end()) {
      std::vector<std::string> names;
      for (const CLI::App* s : subs) names.push_back(s->get_name());
      return fmt::format("unknown subcommand '{}' of {}; expected one of: {}", word, path, fmt::join(names, ", "));
    }
    at = *it;
    path += " " + at->get_name();
  }
  return {};
}

}  // namespace

int smpsim_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app{"smpsim: a deterministic simulator of an SMP machine running Linux's stop_machine, smpboot and "
               "CPU-hotplug code.\n"
               "Exit status: 2 bad input or usage (every command); otherwise\n"
               "  run            0 the run met the scenario's expectations, 1 it did not (a repro artifact is written)\n"
               "  replay         0 the artifact reproduced (signature and trace hash), 3 it did not\n"
               "  fuzz, explore  0 no run failed, 1 some run failed (artifacts are written)\n"
               "  trace diff     0 the traces hold the same events, 1 they differ\n"
               "  shrink         0 the shrunk artifact is written, 3 the input does not replay exactly\n"
               "  others         0\n"
               "fuzz, explore and shrink stop on Ctrl-C (SIGINT) or SIGTERM, report what they have (shrink\n"
               "writes the smallest artifact so far) and exit 130 (143 for SIGTERM), failures found or not;\n"
               "a second signal kills them.\n",
               "smpsim"};
  app.set_version_flag("--version", smpsim_version());
  app.require_subcommand(1);
  // One form for every error: CLI11's own parse errors too.
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return fmt::format("smpsim: error: {}; see --help\n", e.what());
  });

  RunArgs run_args;
  CLI::App* run = app.add_subcommand(
      "run", "run a scenario once; exit 0 if it met its expectations, else 1 and write a repro artifact");
  run->add_option("file", run_args.file, "scenario file (TOML, see docs/scenario-format.md)")->required();
  add_run_options(run, run_args);

  RunArgs replay_args;
  CLI::App* replay =
      app.add_subcommand("replay", "re-run a repro artifact exactly; exit 0 if it reproduces, 3 if it does not");
  replay->add_option("artifact", replay_args.file, "repro artifact (JSON) written by smpsim run, fuzz, explore or shrink")
      ->required();
  add_trace_options(replay, replay_args);

  CLI::App* trace = app.add_subcommand("trace", "read trace files written with --trace (text or jsonl)");
  trace->require_subcommand(1);
  std::string show_file, show_from, show_to, show_event;
  int show_cpu = -2;
  CLI::App* show = trace->add_subcommand("show", "print the lines of a trace that pass the filters");
  show->add_option("file", show_file, "trace file")->required();
  show->add_option("--cpu", show_cpu, "only this CPU (-1: engine-level lines)")->check(CLI::Range(-1, 1 << 20));
  show->add_option("--from", show_from, "from this virtual time (seconds like 0.001234, or 1500us, 2ms)");
  show->add_option("--to", show_to, "up to this virtual time (inclusive)");
  show->add_option("--event", show_event, "only this event name; '*' is a wildcard (msm.*)");
  std::string diff_a, diff_b;
  CLI::App* diff = trace->add_subcommand(
      "diff", "print the first divergence of two traces (text or jsonl, compared event by event), with context; "
              "exit 0 if they hold the same events, 1 if they differ, 2 on trouble (as diff(1))");
  diff->add_option("a", diff_a, "first trace")->required();
  diff->add_option("b", diff_b, "second trace")->required();

  std::string list_what;
  CLI::App* list =
      app.add_subcommand("list", "list the stop/hotplug callback library, bug knobs, action kinds or trace events");
  list->add_option("what", list_what, "fns, bugs, actions or events")
      ->required()
      ->check(CLI::IsMember({"fns", "bugs", "actions", "events"}));

  std::vector<std::string> check_files;
  CLI::App* check =
      app.add_subcommand("check", "validate scenario files without running them; report each, exit 2 if any is bad");
  check->add_option("files", check_files, "scenario files")->required();

  SearchCommands search;
  add_search_commands(app, search);

  if (const std::string bad = unknown_subcommand(app, argc, argv); !bad.empty()) {
    print_error(err, bad);
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e, out, err) == 0 ? kExitOk : kExitUsage;
  }
  const std::string argv0 = argc > 0 ? argv[0] : "smpsim";
  try {
    if (*run) return cmd_run(run_args, argv0, out, err);
    if (*replay) return cmd_replay(replay_args, argv0, out, err);
    if (*show) return cmd_trace_show(show_file, show_cpu, show_from, show_to, show_event, out, err);
    if (*diff) return trace_diff(diff_a, diff_b, out, err);
    if (*list) return cmd_list(list_what, out);
    if (*check) return cmd_check(check_files, out, err);
    search.argv0 = argv0;
    if (auto status = run_search_command(search, out, err)) return *status;
  } catch (const std::exception& e) {
    print_error(err, e.what());
    return kExitUsage;
  }
  return kExitUsage;
}

}  // namespace app
