#include "fixture.hpp"

#include "model/cpu.hpp"
#include "model/rcu.hpp"
#include "model/watchdog.hpp"

#include <algorithm>

using namespace model;
using namespace sim::literals;

namespace {

/// Runs a thread on CPU 3 that keeps interrupts off for 30 s.
sim::RunResult run_irqs_off_30s_on_cpu3(SimFixture& t) {
  return t.run([&] {
    auto* hog = spawn_on(3, [] {
      local_irq_disable();
      busy_loop(30_s);
      local_irq_enable();
    });
    join_all({hog});
  });
}

}  // namespace

TEST_CASE("watchdog: a cpu with irqs off for 30 s is reported as a hard lockup, on that cpu only (cpus=8)") {
  SimFixture t({.cpus = 8});
  const auto r = run_irqs_off_30s_on_cpu3(t);
  REQUIRE(r.failure.has_value());
  CHECK(r.failure->kind == "hard-lockup");
  CHECK(r.failure->message.find("hard LOCKUP on cpu 3") != std::string::npos);
  // Detection latency is between ~0 and 2 x watchdog_thresh (spec §4.4).
  CHECK(r.failure->time <= sim::Time::zero() + 21_s);
}

TEST_CASE("watchdog: a long irq-off fn in stop_machine is a hard lockup on the fn cpu, never on the waiters, which touch") {
  SimFixture t({.cpus = 4});
  t.k().cfg.detectors_stop_run = false;
  const auto r = t.run([&] {
    cpumask one = cpumask_of(2);
    stop_machine(cpu_stop_fn_t([](void*) { busy_loop(25_s); return 0; }, "spin_25s"), nullptr, &one);
  });
  CHECK_PASSED(t, r);
  const auto& reps = t.k().reports;
  REQUIRE_FALSE(reps.empty());
  CHECK(reps.front().kind == "hard-lockup");
  CHECK(reps.front().message.find("on cpu 2") != std::string::npos);
  CHECK(reps.front().place == "multi_cpu_stop:RUN:spin_25s");
  // Once the fn returns and interrupts are back on, cpu2's watchdog timer may also find its
  // soft-lockup timestamp 24 s old (when cpu2 acked RUN last and went straight to EXIT, it never
  // touched it): the kernel reports that too. The waiters touch the watchdogs in their loop.
  for (const auto& rep : reps) {
    CHECK(rep.message.find("2") != std::string::npos);
    CHECK((rep.kind == "hard-lockup" || (rep.kind == "soft-lockup" && rep.message.find("CPU#2") != std::string::npos)));
  }
}

TEST_CASE("watchdog: a cpu spinning in PREPARE with irqs on is a soft lockup and an RCU stall at the kernel's times") {
  SimFixture t({.cpus = 3, .max_time = 40_s});
  t.k().cfg.detectors_stop_run = false;
  t.knobs().msm_skip_ack_cpu = 1;  // cpu1 never acks PREPARE: cpu0 and cpu1 spin there, irqs on
  sim::Time prepare_at, gp_at;
  const auto r = t.run([&] {
    auto* gp = spawn_on(2, [&] {
      schedule_timeout_uninterruptible(1_ms);
      prepare_at = kernel().sim.now();
      CHECK(cpu_rq(0)->msm_cur == MULTI_STOP_PREPARE);
      gp_at = kernel().sim.now();
      synchronize_rcu();  // a grace period starts while cpu0 and cpu1 spin
    });
    auto* two = spawn_on(0, [] { stop_two_cpus(0, 1, cpu_stop_fn_t([](void*) { return 0; }, "count"), nullptr); });
    join_all({two, gp});
  });
  CHECK(r.outcome == sim::Outcome::TimeLimit);
  bool soft = false, stall = false;
  for (const auto& rep : t.k().reports) {
    if (rep.kind == "soft-lockup" && !soft) {
      soft = true;
      const sim::Duration after = rep.time - prepare_at;
      CHECK(after > sim::Duration::ns(20LL << 30));                // more than 20 units of 2^30 ns
      CHECK(after <= sim::Duration::ns(21LL << 30) + 4_s);        // at the next 4 s hrtimer
      CHECK(rep.place == "multi_cpu_stop:PREPARE");
    }
    if (rep.kind == "rcu-stall" && !stall) {
      stall = true;
      const sim::Duration after = rep.time - gp_at;
      CHECK(after >= 21_s);
      CHECK(after <= 21_s + 20_ms);  // the first tick past the timeout
      CHECK(rep.message.find("stall") != std::string::npos);
      CHECK(rep.message.find(" 0 1") != std::string::npos);  // names both spinning cpus
    }
  }
  CHECK(soft);
  CHECK(stall);
}

TEST_CASE("rcu: synchronize_rcu returns after every online cpu passed a quiescent state (cpus=4)") {
  SimFixture t({.cpus = 4});
  std::uint64_t before = 0, after = 0;
  sim::Time returned;
  const auto r = t.run([&] {
    // cpu2 keeps preemption off for 50 ms: it cannot pass a QS until then.
    auto* busy = spawn_on(2, [] {
      preempt_disable();
      busy_loop(50_ms);
      preempt_enable();
    });
    schedule_timeout_uninterruptible(1_ms);
    before = kernel().rcu->gps_completed;
    synchronize_rcu();
    after = kernel().rcu->gps_completed;
    returned = kernel().sim.now();
    join_all({busy});
  });
  CHECK_PASSED(t, r);
  CHECK(after > before);
  CHECK(returned >= sim::Time::zero() + 50_ms);
}

TEST_CASE("rcu: an offline cpu does not block synchronize_rcu (cpus=4)") {
  SimFixture t({.cpus = 4});
  const auto r = t.run([&] {
    REQUIRE(cpu_down(3) == 0);
    const sim::Time t0 = kernel().sim.now();
    synchronize_rcu();
    CHECK(kernel().sim.now() - t0 < 100_ms);
    CHECK_FALSE(cpumask_test_cpu(3, &kernel().rcu->rcu_online));
  });
  CHECK_PASSED(t, r);
}

TEST_CASE("cpuhp: a failing callback in each section rolls back exactly the states already run, in reverse") {
  struct Case {
    int state;
    bool down;
  };
  for (Case c : {Case{CPUHP_BP_PREPARE_DYN, false}, Case{CPUHP_AP_ONLINE_DYN, false}, Case{CPUHP_AP_ONLINE_DYN, true},
                 Case{CPUHP_TEARDOWN_CPU, true}}) {
    CAPTURE(c.state);
    CAPTURE(c.down);
    SimFixture t({.cpus = 2, .capture_trace = true});
    int ret = 0, slot = 0;
    std::vector<std::string> log;
    const auto r = t.run([&] {
      const int s = c.state == CPUHP_TEARDOWN_CPU ? CPUHP_AP_ONLINE_DYN : c.state;
      slot = cpuhp_setup_state_nocalls(s, "test:probe",
                                       [&](unsigned cpu) { log.push_back(fmt::format("up{}", cpu)); return 0; },
                                       [&](unsigned cpu) { log.push_back(fmt::format("down{}", cpu)); return 0; });
      REQUIRE(slot > 0);
      if (c.down) {
        if (c.state == CPUHP_TEARDOWN_CPU) kernel().cpu->disable_error[1] = -ENOSPC;
        else REQUIRE(cpuhp_fail_state(1, slot) == 0);
        ret = cpu_down(1);
        CHECK(cpuhp_state_of(1)->state == CPUHP_ONLINE);
        CHECK(cpu_online(1));
        CHECK(cpu_active(1));
      } else {
        REQUIRE(cpu_down(1) == 0);
        log.clear();
        REQUIRE(cpuhp_fail_state(1, c.state == CPUHP_BP_PREPARE_DYN ? slot : slot) == 0);
        ret = cpu_up(1);
        CHECK(cpuhp_state_of(1)->state == CPUHP_OFFLINE);
        CHECK_FALSE(cpu_online(1));
      }
    });
    CHECK_PASSED(t, r);
    CHECK(ret != 0);
    if (c.down && c.state == CPUHP_TEARDOWN_CPU) {
      CHECK(ret == -ENOSPC);
      CHECK(log == std::vector<std::string>{"down1", "up1"});  // torn down, then started again by the rollback
    } else if (c.down) {
      CHECK(ret == -EAGAIN);
      CHECK(log.empty());  // the failed state itself is not undone
    } else {
      CHECK(ret == -EAGAIN);
      CHECK(log.empty());
    }
    CHECK(t.trace().find("cpuhp.rollback") != std::string::npos);
  }
}

TEST_CASE("cpuhp: dynamic states return a free slot, -ENOSPC when full, and removal frees the slot") {
  SimFixture t({.cpus = 2});
  const auto r = t.run([&] {
    std::vector<int> slots;
    for (int i = 0; i <= CPUHP_AP_ONLINE_DYN_END - CPUHP_AP_ONLINE_DYN; ++i) {
      const int s = cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "dyn", [](unsigned) { return 0; }, {});
      REQUIRE(s >= CPUHP_AP_ONLINE_DYN);
      REQUIRE(s <= CPUHP_AP_ONLINE_DYN_END);
      slots.push_back(s);
    }
    CHECK(slots.size() == 41);
    CHECK(cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "dyn", [](unsigned) { return 0; }, {}) == -ENOSPC);
    cpuhp_remove_state_nocalls(slots[7]);
    CHECK(cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "dyn", [](unsigned) { return 0; }, {}) == slots[7]);
    CHECK(cpuhp_setup_state_nocalls(CPUHP_AP_SCHED_STARTING, "taken", [](unsigned) { return 0; }, {}) == -EBUSY);
    CHECK(cpuhp_setup_state(CPUHP_OFFLINE, "bad", {}, {}) == -EINVAL);
  });
  CHECK_PASSED(t, r);
}

TEST_CASE("cpuhp: cpuhp_setup_state invokes startup on online cpus and rolls back when one fails (cpus=4)") {
  SimFixture t({.cpus = 4});
  std::vector<unsigned> ups, downs;
  int ret = 0;
  const auto r = t.run([&] {
    ret = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "test:fail-on-2",
                            [&](unsigned cpu) { ups.push_back(cpu); return cpu == 2 ? -EIO : 0; },
                            [&](unsigned cpu) { downs.push_back(cpu); return 0; });
  });
  CHECK_PASSED(t, r);
  CHECK(ret == -EIO);
  CHECK(ups == std::vector<unsigned>{0, 1, 2});
  CHECK(downs == std::vector<unsigned>{0, 1});
}

TEST_CASE("cpuhp: random hotplug churn with stop_machine, stop_two_cpus and stop_one_cpu callers (1000 seeds)") {
  int runs = 0;
  for (std::uint64_t seed = 1; seed <= 1000; ++seed) {
    SimFixture t({.cpus = 4, .seed = seed, .policy = seed % 2 ? sim::PolicyKind::Random : sim::PolicyKind::Pct});
    const auto r = t.run([&] {
      auto* hp = spawn_on(0, [seed] {
        for (int i = 0; i < 2; ++i) {
          const unsigned c = 1 + static_cast<unsigned>((seed + static_cast<unsigned>(i)) % 3);
          cpu_down(c);
          cpu_up(c);
        }
      });
      auto* sm = spawn_on(1, [] { stop_machine(cpu_stop_fn_t([](void*) { return 0; }), nullptr, nullptr); });
      auto* two = spawn_on(2, [] { stop_two_cpus(2, 3, cpu_stop_fn_t([](void*) { return 0; }), nullptr); });
      auto* one = spawn_on(3, [] { stop_one_cpu(1, cpu_stop_fn_t([](void*) { return 0; }), nullptr); });
      join_all({hp, sm, two, one});
    });
    ++runs;
    REQUIRE_MESSAGE(r.outcome == sim::Outcome::Completed, fmt::format("seed {}: {}", seed, t.failure_text()));
  }
  CHECK(runs == 1000);
}

namespace {

// A task waits in D state on cpu1 while init on cpu0 sleeps in 10 ms steps for `busy_ms`, then
// completes the wait. Returns the run's failure kind and message ("" when it passed).
std::pair<std::string, std::string> d_state_wait(sim::Duration hung_task_timeout, int busy_ms) {
  SimFixture t({.cpus = 2});
  t.k().cfg.hung_task_timeout = hung_task_timeout;
  completion c{"never_soon"};
  const auto r = t.run([&] {
    auto* waiter = spawn_on(1, [&] { wait_for_completion(&c); }, "waiter/%u");
    // init itself is the busy one: it sleeps and wakes, so it never looks hung.
    for (int i = 0; i < busy_ms / 10; ++i) schedule_timeout_uninterruptible(sim::Duration::ns(10'000'000));
    complete(&c);
    join_all({waiter});
  });
  if (!r.failure) return {"", ""};
  return {r.failure->kind, r.failure->message};
}

}  // namespace

TEST_CASE("hung task: a task blocked in D state longer than hung_task_timeout is reported by name, a shorter wait is not (cpus=2)") {
  const auto [kind, msg] = d_state_wait(sim::Duration::ns(2'000'000'000), 5000);
  CHECK(kind == "hung-task");
  INFO(msg);
  CHECK(msg.find("INFO: task waiter/1:") != std::string::npos);
  CHECK(msg.find("blocked for more than 2 seconds") != std::string::npos);
  CHECK(d_state_wait(sim::Duration::ns(10'000'000'000), 5000).first.empty());
  // Off by default: the same 5 s wait is not reported.
  CHECK(d_state_wait(sim::Duration{}, 5000).first.empty());
}

// ---------------------------------------------------------------------------------------------
// The buddy hard-lockup detector (CONFIG_HARDLOCKUP_DETECTOR_BUDDY)

TEST_CASE("watchdog buddy: a cpu with irqs off for 30 s is reported by the cpu before it, from that cpu's hrtimer (cpus=4)") {
  SimFixture t({.cpus = 4});
  t.k().cfg.hardlockup_buddy = true;
  const auto r = run_irqs_off_30s_on_cpu3(t);
  REQUIRE(r.failure.has_value());
  CHECK(r.failure->kind == "hard-lockup");
  CHECK(r.failure->message.find("CPU2: Watchdog detected hard LOCKUP on cpu 3") != std::string::npos);
  // CPU2 checks every third 4 s hrtimer; the report needs two checks a period apart.
  CHECK(r.failure->time <= sim::Time::zero() + 25_s);
}

TEST_CASE("watchdog buddy: while every online cpu has irqs off nobody checks, so a 25 s irqs-off stop_machine fn is no hard lockup (perf's NMI reports it)") {
  for (const bool buddy : {false, true}) {
    CAPTURE(buddy);
    SimFixture t({.cpus = 4});
    t.k().cfg.detectors_stop_run = false;
    t.k().cfg.hardlockup_buddy = buddy;
    const auto r = t.run([&] {
      cpumask one = cpumask_of(2);
      stop_machine(cpu_stop_fn_t([](void*) { busy_loop(25_s); return 0; }, "spin_25s"), nullptr, &one);
    });
    CHECK_PASSED(t, r);
    const auto& reps = t.k().reports;
    const bool hard = std::any_of(reps.begin(), reps.end(), [](const auto& rep) { return rep.kind == "hard-lockup"; });
    CHECK(hard == !buddy);
  }
}

TEST_CASE("watchdog buddy: cpus leaving and joining the buddy ring raise no false hard lockup (cpus=4, 6 seeds, 60 s of churn)") {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    CAPTURE(seed);
    SimFixture t({.cpus = 4, .seed = seed, .policy = sim::PolicyKind::Random, .max_time = 90_s});
    t.k().cfg.hardlockup_buddy = true;
    const auto r = t.run([&] {
      for (int i = 0; i < 60; ++i) {
        const unsigned cpu = 1 + static_cast<unsigned>(i % 3);
        if (cpu_online(cpu)) REQUIRE(cpu_down(cpu) == 0);
        else REQUIRE(cpu_up(cpu) == 0);
        schedule_timeout_uninterruptible(1_s);
      }
    });
    CHECK_PASSED(t, r);
    CHECK(t.k().reports.empty());
  }
}

TEST_CASE("rcu stall: a cpu that cannot report itself is reported by another 2 jiffies after the timeout, again 3 x timeout + 3 jiffies (+2) later (cpus=3)") {
  // cpu1 spins with irqs off (no tick, so no self-report and no QS); cpu2 is busy with irqs on
  // and sees the stall from its ticks (HZ=250: a jiffy is 4 ms, the tick comes every jiffy).
  SimFixture t({.cpus = 3, .max_time = 20_s});
  t.k().cfg.rcu_cpu_stall_timeout = 3_s;
  t.k().cfg.detectors_stop_run = false;
  sim::Time gp_start;
  const auto r = t.run([&] {
    auto* a = spawn_on(1, [] {
      local_irq_disable();
      busy_loop(16_s);
      local_irq_enable();
    });
    auto* b = spawn_on(2, [] { busy_loop(16_s, true); });
    schedule_timeout_uninterruptible(1_ms);
    call_rcu([] {});
    schedule_timeout_uninterruptible(1_ms);
    gp_start = kernel().rcu->gp_start;
    join_all({a, b});
  });
  CHECK_PASSED(t, r);
  std::vector<Kernel::report> stalls;
  for (const auto& rep : t.k().reports)
    if (rep.kind == "rcu-stall") stalls.push_back(rep);
  REQUIRE(stalls.size() >= 2);
  const sim::Duration jiffy = 4_ms;
  const sim::Duration first = stalls[0].time - gp_start, again = stalls[1].time - stalls[0].time;
  INFO("first ", first.count_ns(), " ns, again ", again.count_ns(), " ns, reports ", stalls.size());
  CHECK(stalls[0].cpu == 2);
  CHECK(stalls[0].message.find("detected stalls on CPUs/tasks: { 1 }") != std::string::npos);
  CHECK(first >= 3_s + jiffy * 2);
  CHECK(first <= 3_s + jiffy * 3);
  // The repeat is due 3 x timeout + 3 jiffies later; a CPU that does not owe the QS again waits
  // the 2 jiffies of RCU_STALL_RAT_DELAY on top.
  CHECK(again >= 3_s * 3 + jiffy * 5);
  CHECK(again <= 3_s * 3 + jiffy * 6);
}
