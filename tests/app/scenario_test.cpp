// Scenario files: parsing, defaults and the errors users see (file:line:column, key, expected).
#include "app_fixture.hpp"

#include "app/fns.hpp"
#include "model/cpu.hpp"

#include <set>

using apptest::parse;
using apptest::parse_error;

namespace {

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

}  // namespace

TEST_CASE("scenario: an empty file is a valid scenario with the kernel's defaults") {
  const app::Scenario s = parse("");
  CHECK(s.name == "test");
  CHECK(s.cpus == 4);
  CHECK(s.present_cpus() == 4);
  CHECK(s.boot_cpus() == 4);
  CHECK(s.hz == 250);
  CHECK(s.watchdog_thresh == sim::Duration::ns(10'000'000'000));
  CHECK(s.rcu_cpu_stall_timeout == sim::Duration::ns(21'000'000'000));
  CHECK(s.granularity == sim::Granularity::Locks);
  CHECK(s.step_cost == sim::Duration::ns(10));
  CHECK(s.seed == 1);
  CHECK(s.strategy == sim::PolicyKind::Fifo);
  CHECK(s.actions.empty());
  CHECK(s.expect.pass);
}

TEST_CASE("scenario: every section and action key is read into the scenario") {
  const app::Scenario s = parse(R"(
[scenario]
name = "x"
description = "d"
[machine]
cpus = 8
present = 6
online_at_boot = 4
smt = 2
hz = 1000
[kernel]
watchdog_thresh = "5s"
rcu_cpu_stall_timeout = "3s"
detectors_stop_run = false
ksoftirqd = true
idle_balance = true
hung_task_timeout = "30s"
smt_control = "forceoff"
hardlockup_detector = "buddy"
bugs = ["B18"]
[sim]
granularity = "shared"
step_cost = "20ns"
propagation_delay = "300ns"
max_steps = 1000
max_time = "2s"
[run]
seed = "0x10"
strategy = "pct"
pct_depth = 4
[[action]]
name = "m"
do = "stop_machine"
cpu = 3
task = "mine/%u"
unbound = true
at = "1ms"
count = 3
every = "2ms"
fn = "spin_irqsoff:2ms"
cpus = "1-2,5"
expect_ret = 0
[[action]]
do = "cpu_down"
on = "msm.state to=RUN"
on_cpu = 1
nth = 2
delay = "5us"
targets = [2, 1]
[expect]
failure = ["I-SM-6", "hard-lockup"]
)");
  CHECK(s.name == "x");
  CHECK(s.cpus == 8);
  CHECK(s.present_cpus() == 6);
  CHECK(s.boot_cpus() == 4);
  CHECK(s.smt == 2);
  CHECK(s.hz == 1000);
  CHECK(s.watchdog_thresh == sim::Duration::ns(5'000'000'000));
  CHECK_FALSE(s.detectors_stop_run);
  CHECK(s.ksoftirqd);
  CHECK(s.idle_balance);
  CHECK(s.hung_task_timeout == sim::Duration::ns(30'000'000'000));
  CHECK(s.smt_control == 2);
  CHECK(s.hardlockup_buddy);
  CHECK(s.bugs == std::vector<std::string>{"B18"});
  CHECK(s.granularity == sim::Granularity::Shared);
  CHECK(s.propagation_delay == sim::Duration::ns(300));
  CHECK(s.max_steps == 1000);
  CHECK(s.seed == 16);
  CHECK(s.strategy == sim::PolicyKind::Pct);
  CHECK(s.pct_depth == 4);
  REQUIRE(s.actions.size() == 2);
  const app::Action& m = s.actions[0];
  CHECK(m.kind == app::ActionKind::StopMachine);
  CHECK(m.cpu == 3);
  CHECK(m.task == "mine/%u");
  CHECK(m.unbound);
  CHECK(m.at == sim::Duration::ns(1'000'000));
  CHECK(m.count == 3);
  CHECK(m.fn == "spin_irqsoff:2ms");
  CHECK(*m.cpus == std::vector<unsigned>{1, 2, 5});
  CHECK(m.expect_ret == 0);
  const app::Action& d = s.actions[1];
  CHECK(d.name == "a2");
  CHECK(d.task == "a2/%u");
  CHECK_FALSE(d.unbound);
  REQUIRE(d.on.has_value());
  CHECK(d.on->event == "msm.state");
  CHECK(d.on->fields == std::vector<std::pair<std::string, std::string>>{{"to", "RUN"}});
  CHECK(d.on->cpu == 1);
  CHECK(d.on->nth == 2);
  CHECK(d.targets == std::vector<unsigned>{1, 2});
  CHECK_FALSE(s.expect.pass);
  CHECK(s.expect.failure_kinds == std::vector<std::string>{"I-SM-6", "hard-lockup"});
}

TEST_CASE("scenario: an unknown key is an error naming file, line, column and key, and listing the known keys") {
  const std::string e = parse_error("[machine]\ncpus = 4\ncpu_count = 8\n");
  CHECK(contains(e, "test.toml:3:1: error: machine.cpu_count: unknown key in [machine]"));
  CHECK(contains(e, "expected one of: cpus, present, online_at_boot, smt, hz"));
}

TEST_CASE("scenario: an unknown top-level table is an error") {
  CHECK(contains(parse_error("[machines]\ncpus = 4\n"), "test.toml:1:2: error: machines: unknown key in the top level"));
}

TEST_CASE("scenario: an action key that does not apply to its kind is an error naming the kind") {
  const std::string e = parse_error("[[action]]\ndo = \"cpu_up\"\ntarget = 1\nfn = \"count\"\n");
  CHECK(contains(e, "test.toml:4:1: error: action[1].fn: unknown key in an action with do = \"cpu_up\""));
  CHECK(contains(e, "target"));
}

TEST_CASE("scenario: a value of the wrong type says what was expected and what was found") {
  CHECK(contains(parse_error("[machine]\ncpus = \"four\"\n"),
                 "test.toml:2:8: error: machine.cpus: expected an integer in 1..4096, got a string"));
  CHECK(contains(parse_error("[kernel]\ndetectors_stop_run = 1\n"),
                 "kernel.detectors_stop_run: expected true or false, got an integer"));
}

TEST_CASE("scenario: out-of-range numbers and CPU ids are errors at the value") {
  CHECK(contains(parse_error("[machine]\ncpus = 0\n"), "machine.cpus: expected an integer in 1..4096, got 0"));
  CHECK(contains(parse_error("[machine]\ncpus = 4\nonline_at_boot = 5\n"),
                 "test.toml:3:18: error: machine.online_at_boot: expected an integer in 1..4, got 5"));
  CHECK(contains(parse_error("[[action]]\ndo = \"cpu_down\"\ncpu = 7\ntarget = 1\n"),
                 "test.toml:3:7: error: action[1].cpu: expected an integer in 0..3, got 7"));
  CHECK(contains(parse_error("[[action]]\ndo = \"stop_machine\"\ncpus = [0, 9]\n"),
                 "test.toml:3:12: error: action[1].cpus: expected an array of CPU ids"));
  CHECK(contains(parse_error("[machine]\ncpus = 6\nsmt = 4\n"), "machine.smt: expected a divisor of machine.cpus (6)"));
  CHECK(contains(parse_error("[kernel]\nsmt_control = \"half\"\n"),
                 "test.toml:2:15: error: kernel.smt_control: expected one of \"on\", \"off\", \"forceoff\", got \"half\""));
  CHECK(contains(parse_error("[kernel]\nhardlockup_detector = \"nmi\"\n"),
                 "kernel.hardlockup_detector: expected one of \"perf\", \"buddy\", got \"nmi\""));
  CHECK(contains(parse_error("[[action]]\ndo = \"smt_control\"\n"),
                 "test.toml:1:1: error: action[1].value: missing: expected one of: on, off, forceoff"));
  CHECK(contains(parse_error("[[action]]\ndo = \"smt_control\"\nvalue = 1\n"), "action[1].value: expected"));
}

TEST_CASE("scenario: durations need a unit and malformed ones are errors") {
  CHECK(contains(parse_error("[sim]\nmax_time = 10\n"), "sim.max_time: expected a duration string such as \"10ms\""));
  CHECK(contains(parse_error("[sim]\nmax_time = \"10 minutes\"\n"), "got \"10 minutes\""));
  CHECK(contains(parse_error("[sim]\nstep_cost = \"0ns\"\n"), "sim.step_cost: expected a duration of at least"));
}

TEST_CASE("scenario: a TOML syntax error names file, line and column") {
  const std::string e = parse_error("[machine]\ncpus = = 4\n");
  CHECK(contains(e, "test.toml:2:"));
  CHECK(contains(e, "error:"));
}

TEST_CASE("scenario: an action without do, or with an unknown do, lists the action kinds") {
  CHECK(contains(parse_error("[[action]]\ncpu = 1\n"), "test.toml:1:1: error: action[1].do: missing: expected one of: "
                                                       "stop_machine, stop_machine_cpuslocked"));
  CHECK(contains(parse_error("[[action]]\ndo = \"stop_everything\"\n"),
                 "action[1].do: expected one of \"stop_machine\", \"stop_machine_cpuslocked\""));
}

TEST_CASE("scenario: unknown stop callbacks, hotplug callbacks and bug knobs are errors listing the known ones") {
  CHECK(contains(parse_error("[[action]]\ndo = \"stop_one_cpu\"\ntarget = 1\nfn = \"explode\"\n"),
                 "action[1].fn: expected a stop callback from `smpsim list fns`: unknown stop callback 'explode' "
                 "(known: nop, count"));
  CHECK(contains(parse_error("[[action]]\ndo = \"stop_one_cpu\"\ntarget = 1\nfn = \"spin\"\n"),
                 "stop callback 'spin' needs a parameter: spin:DUR"));
  CHECK(contains(parse_error("[[action]]\ndo = \"cpuhp_setup_state\"\nstartup = \"bogus\"\n"),
                 "action[1].startup: expected a hotplug callback"));
  CHECK(contains(parse_error("[kernel]\nbugs = [\"B99\"]\n"), "test.toml:2:9: error: kernel.bugs: expected an array of "
                                                              "bug knob names (B1, "));
}

TEST_CASE("scenario: required action arguments and conflicting keys are errors") {
  CHECK(contains(parse_error("[[action]]\ndo = \"stop_one_cpu\"\n"), "action[1].target: missing: expected the target CPU id"));
  CHECK(contains(parse_error("[[action]]\ndo = \"stop_two_cpus\"\ntargets = [1, 1]\n"), "got the same CPU twice"));
  CHECK(contains(parse_error("[[action]]\ndo = \"busy\"\n"), "action[1].duration: missing"));
  CHECK(contains(parse_error("[[action]]\ndo = \"synchronize_rcu\"\nat = \"1ms\"\non = \"msm.state\"\n"),
                 "action[1].on: an action starts either at a time ('at') or on a trace event ('on'), not both"));
  CHECK(contains(parse_error("[[action]]\ndo = \"synchronize_rcu\"\nnth = 2\n"), "action[1].nth: only valid together with 'on'"));
  CHECK(contains(parse_error("[[action]]\ndo = \"synchronize_rcu\"\n[[action]]\nname = \"a1\"\ndo = \"synchronize_rcu\"\n"),
                 "action[2].name: expected a unique action name, got \"a1\" a second time"));
  CHECK(contains(parse_error("[[action]]\ndo = \"cpuhp_setup_state\"\nstate = \"CPUHP_NOWHERE\"\n"),
                 "action[1].state: expected a hotplug state name"));
}

TEST_CASE("scenario: a trigger on an event the model never emits, or emits below the info level, is an error naming close events") {
  // A misspelt trigger would otherwise pass and its action would silently never start.
  const std::string e = parse_error("[[action]]\ndo = \"synchronize_rcu\"\non = \"cpuhp.dnoe op=down\"\n");
  CHECK(contains(e, "test.toml:3:6: error: action[1].on: no trace event is named \"cpuhp.dnoe\""));
  CHECK(contains(e, "did you mean cpuhp.done"));
  CHECK(contains(parse_error("[[action]]\ndo = \"synchronize_rcu\"\non = \"cpuhp.whatever\"\n"), "cpuhp.invoke"));
  CHECK(contains(parse_error("[[action]]\ndo = \"synchronize_rcu\"\non = \"sched.wakeup\"\n"),
                 "action[1].on: \"sched.wakeup\" is a debug-level event; triggers see only events at info level and above"));
  CHECK(parse_error("[[action]]\ndo = \"synchronize_rcu\"\non = \"cpuhp.done op=down\"\n").empty());
  CHECK(parse_error("[[action]]\ndo = \"synchronize_rcu\"\non = \"rcu.gp.end\"\n").empty());
}

TEST_CASE("scenario: host faults: vcpu_stall needs a target and a duration, cpu_up's fail_state a hotplug state name") {
  const app::Scenario s = parse(R"(
[[action]]
do = "vcpu_stall"
target = 2
duration = "3ms"
count = 2
every = "1ms"
[[action]]
do = "cpu_up"
target = 3
fail_state = "CPUHP_AP_ACTIVE"
)");
  REQUIRE(s.actions.size() == 2);
  CHECK(s.actions[0].kind == app::ActionKind::VcpuStall);
  CHECK(s.actions[0].targets == std::vector<unsigned>{2});
  CHECK(s.actions[0].duration == sim::Duration::ns(3'000'000));
  CHECK(s.actions[1].fail_state == model::CPUHP_AP_ACTIVE);
  CHECK(contains(parse_error("[[action]]\ndo = \"vcpu_stall\"\nduration = \"1ms\"\n"),
                 "action[1].target: missing: expected the target CPU id"));
  CHECK(contains(parse_error("[[action]]\ndo = \"vcpu_stall\"\ntarget = 1\n"), "action[1].duration: missing"));
  CHECK(contains(parse_error("[[action]]\ndo = \"cpu_up\"\ntarget = 1\nfail_state = \"CPUHP_NOWHERE\"\n"),
                 "action[1].fail_state: expected a hotplug state name such as \"CPUHP_AP_ACTIVE\""));
  CHECK(contains(parse_error("[[action]]\ndo = \"cpu_down\"\ntarget = 1\nfail_state = \"CPUHP_AP_ACTIVE\"\n"),
                 "fail_state"));  // cpu_down's own fault is disable_fails
}

TEST_CASE("scenario: chances are exact N/D strings (or 0), anything else is an error at the key") {
  const app::Scenario s = parse("[sim]\nvcpu_stall_ratio = \"3/1000\"\nvcpu_stall_max = \"2ms\"\n[kernel]\nhotplug_fault_ratio = 0\n");
  CHECK(s.vcpu_stall_ratio.num == 3);
  CHECK(s.vcpu_stall_ratio.den == 1000);
  CHECK(s.vcpu_stall_max == sim::Duration::ns(2'000'000));
  CHECK(s.hotplug_fault_ratio.num == 0);
  for (const char* bad : {"\"0.5\"", "\"3/2\"", "\"1/0\"", "\"1/\"", "\"-1/4\"", "0.25", "true"})
    CHECK(contains(parse_error(fmt::format("[sim]\nvcpu_stall_ratio = {}\n", bad)),
                   "sim.vcpu_stall_ratio: expected a chance written \"N/D\""));
}

TEST_CASE("scenario: expectations: counters must name something the run can count") {
  CHECK(contains(parse_error("[expect.counts]\n\"fn.cuont\" = 1\n"), "test.toml:2:1: error: expect.counts.fn.cuont: "
                                                                     "'fn.cuont' names no stop callback"));
  CHECK(contains(parse_error("[expect.counts]\n\"nobody.calls\" = 1\n"), "'nobody.calls' is not a counter"));
  CHECK(parse_error("[[action]]\nname = \"x\"\ndo = \"synchronize_rcu\"\n[expect.counts]\n\"x.calls\" = 1\n"
                    "\"fn.count.cpu3\" = 0\n\"report.rcu-stall\" = 0\n")
            .empty());
  CHECK(contains(parse_error("[expect]\nresult = \"pass\"\nfailure = \"I-SM-1\"\n"),
                 "expect.failure: expected no failure kind with result = \"pass\""));
  CHECK(contains(parse_error("[expect]\nresult = \"maybe\"\n"), "expect.result: expected one of \"pass\", \"fail\""));
}

TEST_CASE("scenario: cpulists accept ranges and arrays, malformed lists are errors") {
  std::vector<unsigned> v;
  CHECK(app::parse_cpulist("0-3,5", v));
  CHECK(v == std::vector<unsigned>{0, 1, 2, 3, 5});
  CHECK(app::format_cpulist(v) == "0-3,5");
  CHECK(app::parse_cpulist("", v));
  CHECK(v.empty());
  CHECK_FALSE(app::parse_cpulist("3-1", v));
  CHECK_FALSE(app::parse_cpulist("1,,2", v));
  CHECK_FALSE(app::parse_cpulist("a", v));
}

TEST_CASE("scenario: every bundled scenario parses, and scenarios/README.md lists each one") {
  const std::string readme = apptest::read_file(apptest::source_dir() / "scenarios" / "README.md");
  const auto names = apptest::bundled_scenarios();
  CHECK(names.size() >= 15);
  for (const auto& n : names) {
    CAPTURE(n);
    const app::Scenario s = app::load_scenario(apptest::scenario_path(n));
    CHECK(s.name == n);
    CHECK_FALSE(s.description.empty());
    CHECK(contains(readme, "`" + n + ".toml`"));
  }
}

TEST_CASE("scenario: the bundled scenarios together use every action kind, a trigger, a repeat and a bug knob") {
  std::set<std::string> kinds;
  bool trigger = false, repeat = false, bug = false, mask = false, null_mask = false, failing_cb = false, touch = false,
       no_touch = false;
  for (const auto& n : apptest::bundled_scenarios()) {
    const app::Scenario s = app::load_scenario(apptest::scenario_path(n));
    bug |= !s.bugs.empty();
    for (const auto& a : s.actions) {
      kinds.insert(app::to_string(a.kind));
      trigger |= a.on.has_value();
      repeat |= a.count > 1 && a.every > sim::Duration::ns(0);
      mask |= a.kind == app::ActionKind::StopMachine && a.cpus.has_value();
      null_mask |= a.kind == app::ActionKind::StopMachine && !a.cpus.has_value();
      failing_cb |= !a.startup_fails_on.empty();
      const bool loop = a.kind == app::ActionKind::IrqOff || a.kind == app::ActionKind::PreemptOff ||
                        a.kind == app::ActionKind::Busy;
      touch |= loop && a.touch;
      no_touch |= loop && !a.touch;
    }
  }
  for (const auto& k : app::action_kinds()) CHECK_MESSAGE(kinds.count(k.name) == 1, k.name);
  CHECK(trigger);
  CHECK(repeat);
  CHECK(bug);
  CHECK(mask);
  CHECK(null_mask);
  CHECK(failing_cb);
  CHECK(touch);
  CHECK(no_touch);
}

TEST_CASE("docs: every TOML example in docs/scenario-format.md parses, and the complete ones run as they say") {
  const std::string doc = apptest::read_file(apptest::source_dir() / "docs" / "scenario-format.md");
  std::size_t pos = 0;
  int blocks = 0;
  while ((pos = doc.find("```toml\n", pos)) != std::string::npos) {
    pos += 8;
    const std::size_t end = doc.find("```", pos);
    REQUIRE(end != std::string::npos);
    const std::string block = doc.substr(pos, end - pos);
    pos = end + 3;
    ++blocks;
    CAPTURE(block);
    const app::Scenario s = parse(block);
    // Blocks with actions and expectations are complete scenarios: they must meet them.
    if (!s.actions.empty() && block.find("[expect]") != std::string::npos) {
      const app::RunReport rep = app::run_scenario(s, {});
      CHECK_MESSAGE(rep.expectation_met, (rep.unmet.empty() ? std::string() : rep.unmet.front()));
    }
  }
  CHECK(blocks >= 15);
}
