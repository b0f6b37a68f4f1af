#include "sim/sim.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <sstream>

using namespace sim;
using namespace sim::literals;

namespace {

// N CPUs hand a token around a ring through one watched word, spinning with relax().
struct TokenRing {
  std::string trace_text;
  RunResult result;
  ChoiceLog log;
  std::size_t stacks_outstanding = 0;
};

// `tick`: a timer also fires every that long, tracing the time it sees.
TokenRing run_ring(Config cfg, std::uint32_t rounds, Duration tick = Duration{}) {
  TokenRing out;
  std::ostringstream os;
  {
    Sim s(cfg);
    s.trace().add_text_sink(os);
    std::function<void()> on_tick = [&] {
      s.trace().event("test", Level::Info, "tick", "now={}", s.now().ns_since_boot());
      s.at(s.now() + tick, on_tick, true);
    };
    if (tick > Duration{}) s.at(Time{} + tick, on_tick, true);
    Watched<std::uint32_t> token(0, "token");
    const std::uint32_t n = cfg.lanes;
    for (std::uint32_t c = 0; c < n; ++c) {
      const FiberId f = s.spawn(fmt::format("ring/{}", c), [&s, &token, c, n, rounds] {
        for (std::uint32_t r = 0; r < rounds; ++r) {
          while (token.load() != r * n + c) s.relax();
          s.trace().event("test", Level::Info, "ring.token", "round={} cpu={}", r, c);
          s.point();
          token.store(token.load() + 1);
        }
      }, {.essential = true});
      s.set_current(c, f);
    }
    out.result = s.run();
    out.log = s.chooser().log();
    out.stacks_outstanding = s.stack_pool().outstanding();
  }
  out.trace_text = os.str();
  return out;
}

/// A random-policy ring configuration, with random stalls at `stalls`.
Config random_config(std::uint32_t lanes, std::uint64_t seed, Ratio stalls = Ratio{0, 1}) {
  Config cfg;
  cfg.lanes = lanes;
  cfg.policy = PolicyKind::Random;
  cfg.seed = seed;
  cfg.stall_ratio = stalls;
  return cfg;
}

}  // namespace

TEST_CASE("sim: fibers run to completion and every stack returns to the pool (cpus=4)") {
  Config cfg;
  cfg.lanes = 4;
  const auto r = run_ring(cfg, 5);
  CHECK(r.result.outcome == Outcome::Completed);
  CHECK(r.stacks_outstanding == 0);
  CHECK(r.trace_text.find("ring.token round=4 cpu=3") != std::string::npos);
}

TEST_CASE("sim: a suspended fiber is unwound at teardown, running its destructors") {
  int destroyed = 0;
  std::size_t outstanding = 1;
  {
    struct Guard {
      int* n;
      ~Guard() { ++*n; }
    };
    Sim s(Config{});
    const FiberId f = s.spawn("sleeper", [&s, &destroyed] {
      Guard g{&destroyed};
      s.halt();  // never kicked
    });
    s.set_current(0, f);
    const auto r = s.run();
    CHECK(r.outcome == Outcome::Completed);  // not essential: halting is fine
    CHECK(destroyed == 0);
    outstanding = s.stack_pool().outstanding();
    CHECK(outstanding == 1);
  }
  CHECK(destroyed == 1);
}

TEST_CASE("sim: a fiber halted inside QuietExit ends at teardown by its halt returning, without unwinding") {
  int destroyed = 0;
  bool returned = false, saw_ending = false;
  {
    struct Guard {
      int* n;
      ~Guard() { ++*n; }
    };
    Sim s(Config{});
    const FiberId f = s.spawn("idler", [&] {
      Guard g{&destroyed};
      {
        Sim::QuietExit quiet;
        s.halt();  // never kicked
      }
      returned = true;
      saw_ending = Sim::ending();
    });
    s.set_current(0, f);
    CHECK(s.run().outcome == Outcome::Completed);
    CHECK_FALSE(returned);
    CHECK(s.end_fibers() == 0);  // ended quietly
    CHECK(returned);
    CHECK(saw_ending);
    CHECK(destroyed == 1);  // its frame's destructors ran on the normal return
    CHECK(s.fiber_finished(f));
    CHECK(s.stack_pool().outstanding() == 0);
    CHECK(s.end_fibers() == 0);  // nothing left to end
  }
  CHECK(destroyed == 1);
}

TEST_CASE("sim: a fiber that halts outside QuietExit, or goes on to another interleaving point after a quiet return, is unwound") {
  int after_point = 0;
  Config cfg;
  cfg.lanes = 2;
  Sim s(cfg);
  const FiberId plain = s.spawn("plain", [&s] { s.halt(); });
  const FiberId careless = s.spawn("careless", [&s, &after_point] {
    {
      Sim::QuietExit quiet;
      s.halt();
    }
    s.point();  // ignores Sim::ending(): this throws FiberKilled instead of returning
    ++after_point;
  });
  s.set_current(0, plain);
  s.set_current(1, careless);
  CHECK(s.run().outcome == Outcome::Completed);
  CHECK(s.end_fibers() == 2);
  CHECK(after_point == 0);
  CHECK(s.fiber_finished(plain));
  CHECK(s.fiber_finished(careless));
}

namespace {
// Runs `body` as the only fiber, on lane 0, until the run ends; the Sim is kept for end_fibers().
Outcome run_alone(Sim& s, Fiber::Body body) {
  s.set_current(0, s.spawn("alone", std::move(body)));
  return s.run().outcome;
}
}  // namespace

TEST_CASE("sim: QuietExit scopes nest: leaving the inner one keeps the outer one's quiet exit") {
  bool returned = false;
  Sim s(Config{});
  CHECK(run_alone(s, [&] {
          Sim::QuietExit outer;
          { Sim::QuietExit inner; }
          s.halt();
          returned = Sim::ending();
        }) == Outcome::Completed);
  CHECK(s.end_fibers() == 0);
  CHECK(returned);
}

TEST_CASE("sim: two runs with one seed give equal trace hashes, a different seed changes the choice log") {
  Config cfg;
  cfg.lanes = 4;
  cfg.policy = PolicyKind::Random;
  cfg.seed = 77;
  const auto a = run_ring(cfg, 6);
  const auto b = run_ring(cfg, 6);
  CHECK(a.result.trace_hash == b.result.trace_hash);
  CHECK(a.trace_text == b.trace_text);
  CHECK(a.log == b.log);
  CHECK(a.result.unseed == b.result.unseed);
  cfg.seed = 78;
  const auto c = run_ring(cfg, 6);
  CHECK(c.log.entries() != a.log.entries());
}

TEST_CASE("sim: a random run replayed from its choice log gives a byte-identical trace") {
  const Config cfg = random_config(3, 2024, Ratio{1, 10});
  const auto original = run_ring(cfg, 8);
  REQUIRE(original.log.size() > 10);
  Config rcfg = cfg;
  rcfg.policy = PolicyKind::Replay;
  std::string err;
  auto parsed = ChoiceLog::parse(original.log.to_text(), err);
  REQUIRE(parsed.has_value());
  rcfg.replay = *parsed;
  const auto replayed = run_ring(rcfg, 8);
  CHECK_FALSE(replayed.result.replay_diverged_at.has_value());
  CHECK(replayed.trace_text == original.trace_text);
  CHECK(replayed.result.trace_hash == original.result.trace_hash);
}

TEST_CASE("sim: replay of a log from a different run reports the first divergent choice") {
  Config cfg;
  cfg.lanes = 3;
  cfg.policy = PolicyKind::Random;
  cfg.seed = 5;
  const auto original = run_ring(cfg, 4);
  Config rcfg = cfg;
  rcfg.policy = PolicyKind::Replay;
  ChoiceLog truncated;
  for (std::size_t i = 0; i + 3 < original.log.size(); ++i) truncated.push(original.log.entries()[i]);
  rcfg.replay = truncated;
  const auto replayed = run_ring(rcfg, 4);
  REQUIRE(replayed.result.replay_diverged_at.has_value());
  CHECK(*replayed.result.replay_diverged_at == truncated.size());
}

TEST_CASE("sim: a fiber that goes on in place or hands off directly makes the same run as one that switches to the scheduler at every step") {
  // Fifo, random with random stalls (a draw at every step), PCT with change-point stalls, and a
  // replay of the random run, with a timer firing between steps: each gives the same trace, choice
  // log and step count either way.
  const Config random = random_config(3, 31, Ratio{1, 8});
  Config pct = random;
  pct.policy = PolicyKind::Pct;
  pct.stall_ratio = Ratio{0, 1};
  pct.pct_depth = 3;
  pct.pct_steps = 60;
  pct.pct_stall = 100_us;
  Config fifo = random;
  fifo.policy = PolicyKind::Fifo;
  fifo.stall_ratio = Ratio{0, 1};
  Config replay = random;
  replay.policy = PolicyKind::Replay;
  replay.replay = run_ring(random, 8, 101_ns).log;
  for (const Config& base : {fifo, random, pct, replay}) {
    CAPTURE(static_cast<int>(base.policy));
    Config switching = base;
    switching.continue_in_place = false;
    const auto a = run_ring(base, 8, 101_ns);
    const auto b = run_ring(switching, 8, 101_ns);
    CHECK(a.result.outcome == Outcome::Completed);
    CHECK(a.trace_text == b.trace_text);
    CHECK(a.log == b.log);
    CHECK(a.result.steps == b.result.steps);
    CHECK(a.result.unseed == b.result.unseed);
    CHECK(a.result.in_place > 0);  // the fast path was taken...
    CHECK(a.result.in_place < a.result.steps);  // ...but not for every step
    CHECK(b.result.in_place == 0);
    CHECK(a.result.handoffs > 0);  // and steps began by a direct switch from the previous fiber
    CHECK(b.result.handoffs == 0);
    CHECK_FALSE(a.result.replay_diverged_at.has_value());
  }
}

TEST_CASE("sim: pct runs are deterministic per seed") {
  Config cfg;
  cfg.lanes = 4;
  cfg.policy = PolicyKind::Pct;
  cfg.pct_depth = 3;
  cfg.seed = 99;
  const auto a = run_ring(cfg, 4);
  const auto b = run_ring(cfg, 4);
  CHECK(a.result.outcome == Outcome::Completed);
  CHECK(a.trace_text == b.trace_text);
}

TEST_CASE("sim: a spin-wait wakes on the write and not before") {
  Config cfg;
  cfg.lanes = 2;
  cfg.relax_timeout = 1_s;  // longer than the test: only the write can wake the spinner
  Sim s(cfg);
  Watched<int> flag(0, "flag");
  Time seen_at;
  std::uint64_t steps_at_write = 0, spinner_iterations = 0;
  const FiberId spinner = s.spawn("spinner", [&] {
    while (flag.load() == 0) {
      ++spinner_iterations;
      s.relax();
    }
    seen_at = s.now();
  }, {.essential = true});
  const FiberId writer = s.spawn("writer", [&] {
    s.wait_until(Time::zero() + 500_us);
    steps_at_write = s.steps();
    flag.store(1);
  }, {.essential = true});
  s.set_current(0, spinner);
  s.set_current(1, writer);
  const auto r = s.run();
  CHECK(r.outcome == Outcome::Completed);
  CHECK(seen_at >= Time::zero() + 500_us);
  CHECK(seen_at < Time::zero() + 501_us);
  CHECK(spinner_iterations <= 2);  // parked, not burned: O(writes), not O(iterations)
  CHECK(r.lanes[0].spin >= 499_us);
}

TEST_CASE("sim: relax() returns at once if the word changed between the read and the relax") {
  Config cfg;
  cfg.lanes = 1;
  cfg.relax_timeout = 1_s;
  Sim s(cfg);
  Watched<int> w(0, "w");
  Time returned_at = Time::max();
  const FiberId f = s.spawn("f", [&] {
    (void)w.load();
    w.store(1);  // our own write after the read: the read is stale
    s.relax();
    returned_at = s.now();
  }, {.essential = true});
  s.set_current(0, f);
  s.run();
  CHECK(returned_at < Time::zero() + 1_us);
}

TEST_CASE("sim: a stalled vCPU takes no step during the stall, and a wake-up meant for it takes effect when it ends") {
  Config cfg;
  cfg.lanes = 2;
  Sim s(cfg);
  std::vector<Time> steps;  // lane 0's clock after each of its points
  Time woke = Time::max();
  const FiberId busy = s.spawn("busy", [&] {
    for (int i = 0; i < 60; ++i) {
      s.point();
      steps.push_back(s.now());
    }
  }, {.essential = true});
  const FiberId idle = s.spawn("idle", [&] {
    s.halt();
    woke = s.now();
  }, {.essential = true});
  s.set_current(0, busy);
  s.set_current(1, idle);
  s.at(Time::zero() + 200_ns, [&] { s.stall_lane(0, Time::zero() + 5_us); });
  s.at(Time::zero() + 100_ns, [&] { s.stall_lane(1, Time::zero() + 3_us); });
  s.at(Time::zero() + 300_ns, [&] { s.kick(1, s.now()); });  // an interrupt for the stalled CPU
  CHECK(s.run().outcome == Outcome::Completed);
  REQUIRE(steps.size() == 60);
  std::size_t before = 0, after = 0;
  for (Time t : steps) {
    CHECK_FALSE((t > Time::zero() + 210_ns && t < Time::zero() + 5_us));  // nothing inside the stall
    before += t <= Time::zero() + 210_ns ? 1 : 0;
    after += t >= Time::zero() + 5_us ? 1 : 0;
  }
  CHECK(before > 0);
  CHECK(after > 0);
  CHECK(woke == Time::zero() + 3_us);  // kicked at 300 ns, halted CPU stalled until 3 us
}

TEST_CASE("sim: a parked spinner also wakes at the relax timeout quantum") {
  Config cfg;
  cfg.lanes = 1;
  cfg.relax_timeout = 3_ms;
  Sim s(cfg);
  Watched<int> w(0, "w");
  int wakes = 0;
  const FiberId f = s.spawn("f", [&] {
    while (s.now() < Time::zero() + 10_ms) {
      (void)w.load();
      s.relax();
      ++wakes;
    }
  }, {.essential = true});
  s.set_current(0, f);
  CHECK(s.run().outcome == Outcome::Completed);
  CHECK(wakes == 4);
}

TEST_CASE("sim: kick wakes a halted lane and wait_until reports the early wake") {
  Config cfg;
  cfg.lanes = 2;
  Sim s(cfg);
  bool early = false;
  Time woke;
  const FiberId sleeper = s.spawn("sleeper", [&] {
    early = s.wait_until(Time::zero() + 1_s);
    woke = s.now();
  }, {.essential = true});
  s.set_current(0, sleeper);
  s.at(Time::zero() + 2_ms, [&] { s.kick(0, s.now()); });
  CHECK(s.run().outcome == Outcome::Completed);
  CHECK(early);
  CHECK(woke == Time::zero() + 2_ms);
}

TEST_CASE("sim: the step bound is reported, not hung") {
  Config cfg;
  cfg.max_steps = 1000;
  Sim s(cfg);
  const FiberId f = s.spawn("forever", [&] { for (;;) s.point(); }, {.essential = true});
  s.set_current(0, f);
  const auto r = s.run();
  CHECK(r.outcome == Outcome::StepLimit);
  CHECK(r.steps == 1000);
}

TEST_CASE("sim: the virtual-time bound is reported, not hung") {
  Config cfg;
  cfg.max_time = Time::zero() + 5_ms;
  Sim s(cfg);
  const FiberId f = s.spawn("forever", [&] { for (;;) s.yield_point(100_us); }, {.essential = true});
  s.set_current(0, f);
  const auto r = s.run();
  CHECK(r.outcome == Outcome::TimeLimit);
  CHECK(r.end_time <= Time::zero() + 5_ms);
}

TEST_CASE("sim: a deadlock is reported with each fiber's state") {
  Config cfg;
  cfg.lanes = 2;
  Sim s(cfg);
  const FiberId a = s.spawn("waiter-a", [&] {
    s.set_wait_reason(s.this_fiber(), "D wait_for_completion");
    s.halt();
  }, {.essential = true});
  s.set_current(0, a);
  const auto r = s.run();
  CHECK(r.outcome == Outcome::Deadlock);
  REQUIRE(r.failure.has_value());
  CHECK(r.failure->kind == "deadlock");
  CHECK(r.failure->message.find("waiter-a") != std::string::npos);
  CHECK(r.failure->message.find("halted") != std::string::npos);
}

namespace {
// Spinners park after 10 ms without a write; a second of that with nobody running is a livelock.
Config livelock_config(std::uint32_t lanes) {
  Config cfg;
  cfg.lanes = lanes;
  cfg.relax_timeout = 10_ms;
  cfg.livelock_after = 1_s;
  return cfg;
}
}  // namespace

TEST_CASE("sim: a livelock (everyone spins, nobody writes) is reported") {
  Sim s(livelock_config(2));
  Watched<int> a(0, "flag_a"), b(0, "flag_b");
  const FiberId fa = s.spawn("spin-a", [&] { while (b.load() == 0) s.relax(); }, {.essential = true});
  const FiberId fb = s.spawn("spin-b", [&] { while (a.load() == 0) s.relax(); }, {.essential = true});
  s.set_current(0, fa);
  s.set_current(1, fb);
  const auto r = s.run();
  CHECK(r.outcome == Outcome::Livelock);
  REQUIRE(r.failure.has_value());
  CHECK(r.failure->message.find("flag_b") != std::string::npos);
  CHECK(r.end_time < Time::zero() + 2_s);
}

TEST_CASE("sim: a spinner parking after a failure does not turn the failure into a livelock") {
  Sim s(livelock_config(1));
  Watched<int> flag(0, "flag");
  const FiberId f = s.spawn("fails-then-spins", [&] {
    s.yield_point(2_s);  // long enough since the last write for the livelock check to be due
    s.fail("oracle-x", "found a bug", "here");
    while (flag.load() == 0) s.relax();
  }, {.essential = true});
  s.set_current(0, f);
  const auto r = s.run();
  CHECK(r.outcome == Outcome::Failed);
  REQUIRE(r.failure.has_value());
  CHECK(r.failure->kind == "oracle-x");
}

TEST_CASE("sim: an exception escaping a fiber becomes a failure with time, fiber name and seed") {
  Config cfg;
  cfg.seed = 31337;
  Sim s(cfg);
  const FiberId f = s.spawn("thrower", [&] {
    s.yield_point(7_us);
    throw std::runtime_error("boom");
  }, {.essential = true});
  s.set_current(0, f);
  const auto r = s.run();
  CHECK(r.outcome == Outcome::Failed);
  REQUIRE(r.failure.has_value());
  CHECK(r.failure->kind == "exception");
  CHECK(r.failure->message == "boom");
  CHECK(r.failure->task == "thrower");
  CHECK(r.failure->seed == 31337);
  CHECK(r.failure->time == Time::zero() + 7_us);
}

TEST_CASE("sim: a checker registered with the engine runs after every step and stops the run") {
  Config cfg;
  Sim s(cfg);
  Watched<int> counter(0, "counter");
  int checks = 0;
  s.add_checker("counter<5", [&] {
    ++checks;
    if (counter.peek() >= 5) s.fail("counter-too-big", fmt::format("counter={}", counter.peek()));
  });
  const FiberId f = s.spawn("inc", [&] { for (int i = 0; i < 100; ++i) { counter.store(i + 1); s.point(); } },
                            {.essential = true});
  s.set_current(0, f);
  const auto r = s.run();
  CHECK(r.outcome == Outcome::Failed);
  REQUIRE(r.failure.has_value());
  CHECK(r.failure->kind == "counter-too-big");
  CHECK(counter.peek() == 5);
  CHECK(checks == 5);
}

TEST_CASE("sim: CPUs advance in virtual time with bounded skew") {
  Config cfg;
  cfg.lanes = 2;
  cfg.skew = 5_us;
  cfg.policy = PolicyKind::Random;
  Sim s(cfg);
  Duration max_skew;
  s.add_checker("skew", [&] {
    const Time a = s.lane_clock(0), b = s.lane_clock(1);
    const Duration d = a > b ? a - b : b - a;
    if (d > max_skew) max_skew = d;
  });
  for (LaneId l = 0; l < 2; ++l) {
    const FiberId f = s.spawn(fmt::format("w{}", l), [&] { for (int i = 0; i < 2000; ++i) s.yield_point(1_us); },
                              {.essential = true});
    s.set_current(l, f);
  }
  CHECK(s.run().outcome == Outcome::Completed);
  CHECK(max_skew <= 6_us);  // window + one step cost
}

TEST_CASE("sim: granularity decides which accesses are interleaving points") {
  for (auto g : {Granularity::Locks, Granularity::Shared}) {
    Config cfg;
    cfg.granularity = g;
    Sim s(cfg);
    Watched<int> w(0, "w");
    const FiberId f = s.spawn("f", [&] { for (int i = 0; i < 10; ++i) w.store(i); }, {.essential = true});
    s.set_current(0, f);
    const auto r = s.run();
    CHECK(r.steps == (g == Granularity::Shared ? 11u : 1u));
  }
}

TEST_CASE("sim: switch_to hands the CPU to another fiber, which can hand it back") {
  Sim s(Config{});
  std::string order;
  FiberId a = kNoFiber, b = kNoFiber;
  a = s.spawn("a", [&] {
    order += "a1 ";
    s.switch_to(b);
    order += "a2 ";
  }, {.essential = true});
  b = s.spawn("b", [&] {
    order += "b1 ";
    s.switch_to(a);
    order += "b2 ";
  }, {.essential = true});
  s.on_fiber_exit([&](LaneId l, FiberId f) {
    if (f == a && !s.fiber_finished(b)) s.set_current(l, b);
  });
  s.set_current(0, a);
  CHECK(s.run().outcome == Outcome::Completed);
  CHECK(order == "a1 b1 a2 b2 ");
}

namespace {

// Two CPUs stepping 10 ns at a time under PCT with one change point (depth 2) early in the run;
// returns the largest gap seen between their clocks and the choice log.
std::pair<Duration, ChoiceLog> pct_gap(Duration pct_stall, PolicyKind policy = PolicyKind::Pct, ChoiceLog replay = {}) {
  Config cfg;
  cfg.lanes = 2;
  cfg.seed = 7;
  cfg.policy = policy;
  cfg.replay = std::move(replay);
  cfg.pct_depth = 2;
  cfg.pct_steps = 50;
  cfg.pct_stall = pct_stall;
  Sim s(cfg);
  Duration gap;
  s.add_checker("gap", [&] {
    const Time a = s.lane_clock(0), b = s.lane_clock(1);
    gap = std::max(gap, a > b ? a - b : b - a);
  });
  for (LaneId l = 0; l < 2; ++l) {
    const FiberId f = s.spawn(fmt::format("w{}", l), [&] { for (int i = 0; i < 500; ++i) s.point(); }, {.essential = true});
    s.set_current(l, f);
  }
  CHECK(s.run().outcome == Outcome::Completed);
  return {gap, s.chooser().log()};
}

}  // namespace

TEST_CASE("sim: without change-point stalls a PCT demotion lets the other CPU lead by the skew window only") {
  const auto [gap, log] = pct_gap(Duration{});
  CHECK(gap <= 1_us + 10_ns);  // window + one step cost
  for (const auto& c : log.entries()) CHECK(c.kind == ChoiceKind::Pick);
}

TEST_CASE("sim: a PCT change point stalls the CPU it demotes, and only then: the other CPU leads by far more than the skew") {
  const auto [gap, log] = pct_gap(1_ms);
  CHECK(gap >= 250_us);  // the shortest stall is a quarter of pct_stall
  CHECK(gap <= 1_ms + 10_ns);
  std::size_t stalls = 0, pos = 0;
  for (std::size_t i = 0; i < log.size(); ++i) {
    CHECK(log.entries()[i].kind != ChoiceKind::Stall);  // no yes/no question at every step
    if (log.entries()[i].kind == ChoiceKind::StallLen) ++stalls, pos = i;
  }
  CHECK(stalls == 1);  // depth 2: one change point
  REQUIRE(pos > 0);
  CHECK(log.entries()[pos - 1].kind == ChoiceKind::Pick);  // the stall follows the change point's pick
}

TEST_CASE("sim: a PCT run with a change-point stall replays from its choice log alone") {
  const auto [gap, log] = pct_gap(1_ms);
  const auto [replayed_gap, replayed_log] = pct_gap(1_ms, PolicyKind::Replay, log);
  CHECK(replayed_gap == gap);
  CHECK(replayed_log == log);
}

TEST_CASE("sim: probes are counted by name, whatever address the name is passed from") {
  Sim s(Config{});
  std::string buf = "alpha";
  s.probe(buf);
  buf[0] = 'b';  // same address and length, another name
  s.probe(buf);
  s.probe("alpha");
  s.probe(std::string_view("alphabet").substr(0, 5));
  const RunResult r = s.run();
  CHECK(r.probes == std::map<std::string, std::uint64_t, std::less<>>{{"alpha", 3}, {"blpha", 1}});
}

TEST_CASE("sim: a fiber stopped at an interleaving point inside QuietExit is unwound, not resumed past the point") {
  bool ran_on = false;
  Config cfg;
  cfg.lanes = 1;
  cfg.max_steps = 3;  // the run ends at the step bound with the fiber stopped at its point
  Sim s(cfg);
  CHECK(run_alone(s, [&] {
          Sim::QuietExit quiet;
          for (;;) {
            s.point();
            ran_on = Sim::ending();
          }
        }) == Outcome::StepLimit);
  CHECK(s.end_fibers() == 1);
  CHECK_FALSE(ran_on);
}
