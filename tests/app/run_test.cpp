// Bundled scenarios as regression tests: each meets its expectation with its default seed, runs
// identically twice (trace hash, unseed, choice log), and every artifact a failing run writes
// replays to the same signature and trace hash. Golden short traces (info-level text) live in
// tests/golden/<scenario>.seed<N>.log; SMPSIM_UPDATE_GOLDEN=1 rewrites them on purpose.
#include "app_fixture.hpp"

#include "app/artifact.hpp"
#include "app/trace_tools.hpp"

#include <algorithm>
#include <cstdlib>
#include <set>

namespace {

app::RunReport run(const app::Scenario& sc, app::RunOptions o = {}) { return app::run_scenario(sc, o); }

std::size_t count_kind(const sim::ChoiceLog& log, sim::ChoiceKind kind) {
  return static_cast<std::size_t>(
      std::count_if(log.entries().begin(), log.entries().end(), [kind](const sim::Choice& c) { return c.kind == kind; }));
}

/// Replaying `rep`'s choice log on `sc` follows it to the end and gives the same trace hash.
void check_replays(const app::Scenario& sc, const app::RunReport& rep) {
  app::RunOptions o;
  o.replay = rep.choices;
  const app::RunReport again = run(sc, o);
  CHECK_FALSE(again.result.replay_diverged_at.has_value());
  CHECK(again.result.trace_hash == rep.result.trace_hash);
}

/// Scenarios whose short trace is too large to keep as a golden file (> 200 KB).
const std::set<std::string> kNoGolden = {"hotplug_storm_64", "hotplug_sync_timeouts"};
/// Extra seeds checked against golden files, besides each scenario's default seed.
const std::vector<std::pair<std::string, std::uint64_t>> kExtraGoldenSeeds = {{"default", 2}, {"stop_two_cpus", 3}};

void check_golden(const std::string& name, std::optional<std::uint64_t> seed) {
  const app::Scenario sc = app::load_scenario(apptest::scenario_path(name));
  const std::uint64_t s = seed.value_or(sc.seed);
  CAPTURE(name);
  CAPTURE(s);
  std::ostringstream trace;
  app::RunOptions o;
  o.seed = s;
  o.text_trace = &trace;
  run(sc, o);
  const auto golden = apptest::source_dir() / "tests" / "golden" / fmt::format("{}.seed{}.log", name, s);
  const char* update = std::getenv("SMPSIM_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    apptest::write_file(golden, trace.str());
    MESSAGE("rewrote " << golden.string());
    return;
  }
  REQUIRE_MESSAGE(std::filesystem::exists(golden),
                  "no golden trace " << golden.string() << " (run the tests with SMPSIM_UPDATE_GOLDEN=1 to create it)");
  const std::string want = apptest::read_file(golden);
  CHECK(trace.str().size() < 200'000);
  if (trace.str() == want) return;
  apptest::TempDir tmp;
  apptest::write_file(tmp.file("actual.log"), trace.str());
  std::ostringstream diff, err;
  app::trace_diff(golden.string(), tmp.file("actual.log"), diff, err);
  FAIL_CHECK("the short trace differs from " << golden.string()
                                             << " (SMPSIM_UPDATE_GOLDEN=1 rewrites it if the change is intended)\n"
                                             << diff.str());
}

}  // namespace

TEST_CASE("scenarios: every bundled scenario meets its expectation with its default seed") {
  for (const auto& name : apptest::bundled_scenarios()) {
    CAPTURE(name);
    const app::Scenario sc = app::load_scenario(apptest::scenario_path(name));
    const app::RunReport rep = run(sc);
    std::string why;
    for (const auto& u : rep.unmet) why += u + "\n";
    if (rep.result.failure) why += rep.result.failure->kind + ": " + rep.result.failure->message;
    CHECK_MESSAGE(rep.expectation_met, why);
    CHECK(rep.exit_status() == (rep.expectation_met ? 0 : 1));
  }
}

TEST_CASE("determinism: every bundled scenario run twice with one seed gives equal trace hashes, unseed and choices") {
  for (const auto& name : apptest::bundled_scenarios()) {
    CAPTURE(name);
    const app::Scenario sc = app::load_scenario(apptest::scenario_path(name));
    const app::RunReport a = run(sc), b = run(sc);
    CHECK(a.result.trace_hash == b.result.trace_hash);
    CHECK(a.result.unseed == b.result.unseed);
    CHECK(a.result.steps == b.result.steps);
    CHECK(a.choices == b.choices);
    CHECK(a.signature == b.signature);
  }
}

TEST_CASE("determinism: a run that does not record its choices (a campaign run) is the same run, with its picks counted") {
  for (const auto& name : apptest::bundled_scenarios()) {
    CAPTURE(name);
    const app::Scenario sc = app::load_scenario(apptest::scenario_path(name));
    for (const auto strategy : {sim::PolicyKind::Random, sim::PolicyKind::Pct}) {
      app::RunOptions o;
      o.strategy = strategy;
      const app::RunReport full = run(sc, o);
      o.record_choices = false;
      const app::RunReport quick = run(sc, o);
      CHECK(quick.choices.size() == 0);
      CHECK(full.choices.size() > 0);
      CHECK(quick.picks == full.picks);
      CHECK(full.picks == count_kind(full.choices, sim::ChoiceKind::Pick));
      CHECK(quick.result.trace_hash == full.result.trace_hash);
      CHECK(quick.result.steps == full.result.steps);
      CHECK(quick.signature == full.signature);
    }
  }
}

TEST_CASE("scenarios: hotplug_sync_timeouts meets its expectation under fifo, random and pct for seeds 1-12 (the boot stall lands before the AP sees the kick)") {
  const app::Scenario sc = app::load_scenario(apptest::scenario_path("hotplug_sync_timeouts"));
  for (const auto strategy : {sim::PolicyKind::Fifo, sim::PolicyKind::Random, sim::PolicyKind::Pct}) {
    for (std::uint64_t seed = 1; seed <= 12; ++seed) {
      CAPTURE(sim::to_string(strategy));
      CAPTURE(seed);
      app::RunOptions o;
      o.strategy = strategy;
      o.seed = seed;
      const app::RunReport rep = run(sc, o);
      CHECK_FALSE(rep.failed);
      CHECK(rep.unmet.empty());
    }
  }
}

TEST_CASE("determinism: a different seed changes the choice log of a random-strategy scenario") {
  const app::Scenario sc = app::load_scenario(apptest::scenario_path("hotplug_storm_8"));
  REQUIRE(sc.strategy == sim::PolicyKind::Random);
  app::RunOptions o;
  o.seed = sc.seed + 1;
  CHECK(run(sc).choices != run(sc, o).choices);
}

TEST_CASE("determinism: trace outputs and log levels do not change the trace hash") {
  const app::Scenario sc = app::load_scenario(apptest::scenario_path("default"));
  const std::uint64_t plain = run(sc).result.trace_hash;
  std::ostringstream text, jsonl;
  app::RunOptions o;
  o.text_trace = &text;
  o.log_levels = {{"*", sim::Level::Debug}};
  CHECK(run(sc, o).result.trace_hash == plain);
  app::RunOptions j;
  j.jsonl_trace = &jsonl;
  j.log_levels = {{"sched", sim::Level::Warn}};
  CHECK(run(sc, j).result.trace_hash == plain);
}

TEST_CASE("replay: every artifact a bundled scenario writes replays to the same signature and trace hash") {
  apptest::TempDir tmp;
  int artifacts = 0;
  for (const auto& name : apptest::bundled_scenarios()) {
    CAPTURE(name);
    const std::string path = tmp.file(name + ".repro.json");
    apptest::smpsim({"run", apptest::scenario_path(name), "--artifact", path});
    if (!std::filesystem::exists(path)) continue;
    ++artifacts;
    const app::Artifact art = app::read_artifact(path);
    CHECK(art.scenario_name == name);
    const auto rp = apptest::smpsim({"replay", path});
    CHECK_MESSAGE(rp.status == 0, rp.out);
    CHECK(rp.out.find("replay     reproduced: signature " + art.signature.text()) != std::string::npos);
  }
  CHECK(artifacts >= 5);  // the lockup, RCU stall, bug and sleeping-callback demonstrations
}

TEST_CASE("replay: an artifact of a failure the scenario does not expect reproduces with status 0, as any artifact that reproduces") {
  apptest::TempDir tmp;
  const std::string path = tmp.file("b18.json");
  const auto r = apptest::smpsim({"run", apptest::scenario_path("default"), "--bug", "B18", "--artifact", path});
  CHECK(r.status == 1);
  CHECK(r.out.find("failure    I-SM-6") != std::string::npos);
  CHECK(r.out.find("replay     smpsim replay " + path) != std::string::npos);
  const auto rp = apptest::smpsim({"replay", path});
  CHECK(rp.status == 0);
  CHECK(rp.out.find("reproduced") != std::string::npos);
}

TEST_CASE("golden: short traces of the bundled scenarios match tests/golden byte for byte") {
  for (const auto& name : apptest::bundled_scenarios())
    if (!kNoGolden.count(name)) check_golden(name, std::nullopt);
  for (const auto& [name, seed] : kExtraGoldenSeeds) check_golden(name, seed);
}

TEST_CASE("propagation delay: spinners see writes up to [sim] propagation_delay later, each delay a recorded choice, and the run replays") {
  const std::string base = R"(
[machine]
cpus = 4
[run]
strategy = "random"
[[action]]
do = "stop_machine"
cpu = 0
count = 2
)";
  app::RunOptions o;
  o.seed = 7;
  const app::RunReport instant = run(apptest::parse(base), o);
  CHECK_FALSE(instant.failed);
  CHECK(count_kind(instant.choices, sim::ChoiceKind::Delay) == 0);
  const app::Scenario delayed_sc = apptest::parse(base + "[sim]\npropagation_delay = \"3us\"\n");
  const app::RunReport delayed = run(delayed_sc, o);
  CHECK_FALSE(delayed.failed);
  CHECK(count_kind(delayed.choices, sim::ChoiceKind::Delay) > 0);  // every stopper spinning on msdata->state draws its delay
  CHECK(delayed.result.end_time > instant.result.end_time);
  check_replays(delayed_sc, delayed);
}

TEST_CASE("host faults: a vCPU stalled inside stop_machine holds the others in multi_cpu_stop for the stall, with no lockup, a cpu_up told to fail by the fail attribute rolls back and returns -EAGAIN") {
  const app::Scenario sc = app::load_scenario(apptest::scenario_path("host_faults"));
  std::ostringstream trace;
  app::RunOptions o;
  o.text_trace = &trace;
  const app::RunReport r = run(sc, o);
  CHECK_FALSE(r.failed);
  // Every CPU but the stalled one spun for the whole 50 ms stall.
  REQUIRE(r.result.lanes.size() == 4);
  for (unsigned c : {0u, 1u, 3u}) CHECK(r.result.lanes[c].spin >= sim::Duration::ns(49'000'000));
  CHECK(r.result.lanes[2].spin < sim::Duration::ns(1'000'000));
  const std::string t = trace.str();
  CHECK(t.find("cpuhp.fail cpu=3 state=CPUHP_AP_ACTIVE bringup=1 ret=-11") != std::string::npos);
  CHECK(t.find("scn.ret name=up_fails n=0 ret=-11") != std::string::npos);
  // The stall landed between two states of the stop_machine, 50 ms apart.
  std::vector<std::int64_t> msm;
  std::istringstream in(t);
  std::string line;
  app::TraceLine tl;
  while (std::getline(in, line))
    if (line.find("msm.state msdata=1") != std::string::npos && app::parse_trace_line(line, tl)) msm.push_back(tl.t_ns);
  REQUIRE(msm.size() >= 2);
  CHECK(msm.back() - msm.front() >= 50'000'000);
}

TEST_CASE("fault ratios: [kernel] hotplug_fault_ratio makes hotplug calls fail by injection (recorded choices, expectations relaxed for them), [sim] vcpu_stall_ratio stalls CPUs, both replay") {
  const std::string base = R"(
[machine]
cpus = 4
[run]
strategy = "random"
[[action]]
name = "down"
do = "cpu_down"
at = "1ms"
targets = "1-3"
count = 3
expect_ret = 0
[[action]]
do = "stop_machine"
at = "2ms"
[expect]
online = "0"
)";
  const app::Scenario clean = apptest::parse(base);
  CHECK_FALSE(run(clean).failed);
  const app::Scenario faulty =
      apptest::parse(base + "[kernel]\nhotplug_fault_ratio = \"1/1\"\n[sim]\nvcpu_stall_ratio = \"1/50\"\n");
  std::ostringstream trace;
  app::RunOptions o;
  o.text_trace = &trace;
  const app::RunReport r = run(faulty, o);
  CHECK_FALSE(r.failed);
  CHECK(r.expectation_met);  // the calls made to fail are not held to expect_ret, nor the end state
  for (const auto& a : r.actions)
    if (a.name == "down") CHECK(a.rets == std::vector<int>{-16, -16, -16});  // __cpu_disable refused: -EBUSY
  CHECK(r.online == "0-3");
  CHECK(trace.str().find("scn.fault name=down n=2 cpu=3 disable_fails=-16") != std::string::npos);
  CHECK(count_kind(r.choices, sim::ChoiceKind::Fault) == 3);  // one recorded chance per hotplug call
  CHECK(count_kind(r.choices, sim::ChoiceKind::StallLen) > 0);
  check_replays(faulty, r);
}

TEST_CASE("cpuhp: a callback failing while the AP thread rolls back a refused cpu_down is warned about, as the kernel does (no way forward, no way back)") {
  const app::Scenario sc = apptest::parse(R"(
[machine]
cpus = 4
[[action]]
name = "cb"
do = "cpuhp_setup_state"
state = "CPUHP_AP_ONLINE_DYN"
startup = "count"
teardown = "count"
invoke = false
startup_fails_on = [2]
fail_ret = -16
fail_times = 1
[[action]]
name = "down"
do = "cpu_down"
at = "1ms"
target = 2
disable_fails = -16
expect_ret = -16
)");
  std::ostringstream trace;
  app::RunOptions o;
  o.text_trace = &trace;
  const app::RunReport r = run(sc, o);
  CHECK_FALSE(r.failed);  // I-HP-7 accepts a CPU left in between after a warned rollback failure
  CHECK(trace.str().find("cpuhp.warn msg=\"rollback failed on cpu2\"") != std::string::npos);
}

TEST_CASE("fault injection belongs to its call: a fail state armed by a cpu_up that finds its CPU online cannot hit another action's cpu_down of that CPU") {
  const app::Scenario sc = apptest::parse(R"(
[machine]
cpus = 4
[run]
strategy = "random"
[[action]]
name = "up"
do = "cpu_up"
at = "1ms"
target = 2
fail_state = "CPUHP_AP_ACTIVE"
count = 4
expect_ret = 0
[[action]]
name = "down"
cpu = 1
do = "cpu_down"
at = "1ms"
target = 2
expect_ret = 0
[expect]
online = "0-1,3"
)");
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    app::RunOptions o;
    o.seed = seed;
    const app::RunReport r = run(sc, o);
    CHECK_FALSE(r.failed);
    for (const auto& a : r.actions)
      if (a.name == "down") CHECK(a.rets == std::vector<int>{0});
  }
}

TEST_CASE("run: an unbound action's task is moved to the CPU that goes idle by its balance, a bound one stays") {
  // cpu1 is busy when the two cpu0 tasks start (so the unbound one is not woken there), and its
  // task sleeps from 2 ms to 10 ms between two calls: schedule() then has nothing left to run.
  for (const bool unbound : {true, false}) {
    CAPTURE(unbound);
    const app::Scenario sc = apptest::parse(fmt::format(R"(
[machine]
cpus = 2
[kernel]
idle_balance = true
[[action]]
name = "nap"
do = "busy"
cpu = 1
duration = "2ms"
count = 2
every = "10ms"
[[action]]
name = "pinned"
do = "busy"
cpu = 0
duration = "20ms"
[[action]]
name = "roam"
do = "busy"
cpu = 0
unbound = {}
duration = "20ms"
)", unbound));
    std::ostringstream trace;
    app::RunOptions o;
    o.text_trace = &trace;
    const app::RunReport rep = run(sc, o);
    CHECK(rep.result.outcome == sim::Outcome::Completed);
    const bool moved = trace.str().find("sched.migrate comm=roam/0 from=0 to=1") != std::string::npos;
    CHECK(moved == unbound);
  }
}
