#include "fixture.hpp"

#include "model/cpu.hpp"
#include "model/coverage.hpp"
#include "model/rcu.hpp"

#include <algorithm>

using namespace model;

namespace {

struct Snapshot {
  cpumask online, active;
  std::vector<int> states;
  std::vector<bool> stopper_enabled;
  bool operator==(const Snapshot&) const = default;
};

Snapshot snapshot(unsigned n) {
  auto& k = kernel();
  Snapshot s{k.cpu_online_mask, k.cpu_active_mask, {}, {}};
  for (unsigned c = 0; c < n; ++c) {
    s.states.push_back(cpuhp_state_of(c)->state);
    s.stopper_enabled.push_back(stopper_of(c)->enabled);
  }
  return s;
}

}  // namespace

TEST_CASE("cpuhp: boot brings every cpu to CPUHP_ONLINE through the state machine (cpus=4)") {
  SimFixture t({.cpus = 4});
  const auto r = t.run([&] {
    for (unsigned c = 0; c < 4; ++c) {
      CHECK(cpuhp_state_of(c)->state == CPUHP_ONLINE);
      CHECK(cpu_online(c));
      CHECK(cpu_active(c));
      CHECK(stopper_of(c)->enabled);
      REQUIRE(cpuhp_state_of(c)->thread != nullptr);
      CHECK(cpuhp_state_of(c)->thread->comm == fmt::format("cpuhp/{}", c));
    }
  });
  CHECK_PASSED(t, r);
}

TEST_CASE("cpuhp: cpu_down then cpu_up of every cpu but the boot cpu returns to the same masks and thread states") {
  for (unsigned n : {2u, 4u, 64u}) {
    CAPTURE(n);
    SimFixture t({.cpus = n});
    const auto r = t.run([&] {
      const Snapshot before = snapshot(n);
      for (unsigned c = 1; c < n; ++c) {
        REQUIRE(cpu_down(c) == 0);
        CHECK_FALSE(cpu_online(c));
        CHECK(cpuhp_state_of(c)->state == CPUHP_OFFLINE);
        CHECK_FALSE(stopper_of(c)->enabled);
        CHECK(stopper_of(c)->thread->state == TASK_PARKED);
        CHECK(cpuhp_state_of(c)->thread->state == TASK_PARKED);
        CHECK(cpumask_test_cpu(c, &kernel().cpu_dying_mask));
      }
      CHECK(num_online_cpus() == 1);
      for (unsigned c = 1; c < n; ++c) REQUIRE(cpu_up(c) == 0);
      CHECK(snapshot(n) == before);
    });
    CHECK_PASSED(t, r);
  }
}

TEST_CASE("cpuhp: cpu_down of the last online cpu returns -EBUSY (cpus=2)") {
  SimFixture t({.cpus = 2});
  int ret = 0;
  const auto r = t.run([&] {
    REQUIRE(cpu_down(1) == 0);
    ret = cpu_down(0);
  });
  CHECK_PASSED(t, r);
  CHECK(ret == -EBUSY);
}

TEST_CASE("cpuhp: entry-point errors: -EINVAL not possible/present, -EBUSY while disabled, 0 when already there") {
  SimFixture t({.cpus = 4});
  const auto r = t.run([&] {
    CHECK(cpu_up(7) == -EINVAL);
    CHECK(cpu_up(2) == 0);  // already online
    cpu_hotplug_disable();
    CHECK(cpu_down(2) == -EBUSY);
    CHECK(cpu_up(2) == -EBUSY);
    cpu_hotplug_enable();
    CHECK(cpu_down(2) == 0);
  });
  CHECK_PASSED(t, r);
}

TEST_CASE("cpuhp: stop_machine and hotplug never overlap (cpus=4, 200 seeds)") {
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    SimFixture t({.cpus = 4, .seed = seed, .policy = sim::PolicyKind::Random});
    int calls = 0;
    const auto r = t.run([&] {
      auto* a = spawn_on(1, [&] {
        for (int i = 0; i < 2; ++i) {
          cpu_down(2);
          cpu_up(2);
        }
      });
      auto* b = spawn_on(3, [&] {
        for (int i = 0; i < 3; ++i) stop_machine(cpu_stop_fn_t([&](void*) { ++calls; return 0; }), nullptr, nullptr);
      });
      join_all({a, b});
    });
    REQUIRE_MESSAGE(r.outcome == sim::Outcome::Completed, fmt::format("seed {}: {}", seed, t.failure_text()));
    CHECK(calls == 3);
  }
}

TEST_CASE("coverage: a hotplug cycle with a stop_machine reaches the named probes it should (cpus=2)") {
  SimFixture t({.cpus = 2});
  const auto r = t.run([] {
    stop_machine(cpu_stop_fn_t([](void*) { return 0; }), nullptr, nullptr);
    cpu_down(1);
    cpu_up(1);
  });
  CHECK_PASSED(t, r);
  for (const char* p : {"cpuhp CPUHP_TEARDOWN_CPU down", "cpuhp CPUHP_AP_ACTIVE up", "msm RUN observed (active)",
                        "msm EXIT observed"}) {
    CAPTURE(p);
    CHECK(r.probes.count(p) == 1);
  }
  for (const auto& [name, hits] : r.probes) {
    CAPTURE(name);
    const auto all = model_probe_names();
    CHECK(std::find(all.begin(), all.end(), name) != all.end());  // every probe hit is a declared one
  }
}

TEST_CASE("balance_push: a task woken on a CPU going down runs none of its code there, its stopper pushes it away (cpus=2)") {
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    CAPTURE(seed);
    SimFixture t({.cpus = 2, .seed = seed, .policy = sim::PolicyKind::Random});
    bool stop = false;
    int ran_on_inactive = 0, ran_on_1 = 0;
    const auto r = t.run([&] {
      auto* sleeper = spawn_on(1, [&] {
        while (!stop) {
          schedule_timeout_uninterruptible(sim::Duration::ns(10'000));
          if (task_cpu(current) == 1) {
            ++ran_on_1;
            if (!cpu_active(1)) ++ran_on_inactive;
          }
        }
      });
      auto* down = spawn_on(0, [&] {
        schedule_timeout_uninterruptible(sim::Duration::ns(50'000));
        cpu_down(1);
        stop = true;
      });
      join_all({sleeper, down});
    });
    CHECK_PASSED(t, r);
    CHECK(ran_on_1 > 0);            // it did live on cpu1 before the down
    CHECK(ran_on_inactive == 0);    // and never woke up to run there once cpu1 was inactive
    CHECK(r.probes.count("sched: balance_push hands a task on the outgoing cpu to its stopper") == 1);
  }
}

TEST_CASE("idle balance: a CPU left with nothing to run has the busy CPU's stopper push it an unbound task (cpus=2)") {
  for (const bool on : {true, false}) {
    for (std::uint64_t seed = 1; seed <= 4; ++seed) {
      CAPTURE(on);
      CAPTURE(seed);
      SimFixture t({.cpus = 2, .seed = seed, .policy = sim::PolicyKind::Random});
      t.k().cfg.idle_balance = on;
      unsigned roamer_ended_on = 99;
      const auto r = t.run([&] {
        // cpu0: a pinned and an unbound task share the CPU; cpu1 idles once its short task sleeps.
        auto* pinned = spawn_on(0, [] { busy_loop(sim::Duration::ns(20'000'000)); });
        auto* roamer = spawn_on(0, [&] {
          busy_loop(sim::Duration::ns(20'000'000));
          roamer_ended_on = task_cpu(current);
        });
        roamer->unbound = true;
        auto* shortlived = spawn_on(1, [] { schedule_timeout_uninterruptible(sim::Duration::ns(2'000'000)); });
        join_all({pinned, roamer, shortlived});
      });
      CHECK_PASSED(t, r);
      CHECK(roamer_ended_on == (on ? 1u : 0u));
      CHECK(r.probes.count("sched: idle balance queues an active balance on a busy cpu") == (on ? 1u : 0u));
    }
  }
}

TEST_CASE("idle balance: a timer wake-up that comes while the sleeper is still switching out is not lost (cpus=2)") {
  // cpu1's sleeper balances on each sleep (cpu0 has two runnable tasks); timeouts of a few
  // nanoseconds expire while that balance is still spinning for cpu0's stopper lock.
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    CAPTURE(seed);
    SimFixture t({.cpus = 2, .seed = seed, .policy = sim::PolicyKind::Random});
    t.k().cfg.idle_balance = true;
    int naps = 0;
    const auto r = t.run([&] {
      auto* a = spawn_on(0, [] { busy_loop(sim::Duration::ns(3'000'000)); });
      auto* b = spawn_on(0, [] { busy_loop(sim::Duration::ns(3'000'000)); });
      auto* sleeper = spawn_on(1, [&] {
        for (std::int64_t i = 0; i < 300; ++i, ++naps) schedule_timeout_uninterruptible(sim::Duration::ns(1 + i % 40));
      });
      join_all({a, b, sleeper});
    });
    CHECK_PASSED(t, r);
    CHECK(naps == 300);
  }
}

TEST_CASE("teardown: every thread left idle at the end of a run ends by returning, none by unwinding (cpus=4)") {
  // Idle loops, active and parked smpboot threads, the RCU grace-period thread: the quiet end
  // (sim::Sim::QuietExit) covers every place a thread waits once a run is over.
  SimFixture t({.cpus = 4});
  const auto r = t.run([&] {
    REQUIRE(stop_machine([](void*) { return 0; }, nullptr, nullptr) == 0);
    synchronize_rcu();
    REQUIRE(cpu_down(3) == 0);  // its threads stay parked
    REQUIRE(cpu_down(2) == 0);
    REQUIRE(cpu_up(2) == 0);
  });
  CHECK_PASSED(t, r);
  std::size_t alive = 0;
  for (sim::FiberId f = 0; f < t.k().sim.fiber_count(); ++f) alive += t.k().sim.fiber_finished(f) ? 0 : 1;
  CHECK(alive >= 4 * 3);  // an idle task and at least two smpboot threads per CPU
  CHECK(t.k().sim.end_fibers() == 0);
  for (sim::FiberId f = 0; f < t.k().sim.fiber_count(); ++f) CHECK(t.k().sim.fiber_finished(f));
}

TEST_CASE("teardown: a thread blocked outside an idle loop (a deadlock) is still ended, by unwinding") {
  SimFixture t({.cpus = 2});
  completion never;
  init_completion(&never);
  const auto r = t.run([&] { wait_for_completion(&never); });
  CHECK(r.outcome == sim::Outcome::Deadlock);
  CHECK(t.k().sim.end_fibers() == 1);  // init, in wait_for_completion
}

// ---------------------------------------------------------------------------------------------
// CONFIG_HOTPLUG_CORE_SYNC: the BP/AP hand-shake through ap_sync_state (spec §3.11)

namespace {

int sync_state(unsigned cpu) { return cpuhp_state_of(cpu)->ap_sync_state.peek(); }
sim::Duration seconds(std::int64_t s) { return sim::Duration::ns(s * 1'000'000'000); }

/// The host stalls `cpu` for `d` from the first trace line containing `event` (as a scenario's
/// vcpu_stall action with `on`); `fired` records that it happened.
void stall_on_event(Kernel& k, bool& fired, std::string event, unsigned cpu, sim::Duration d) {
  k.sim.trace().add_observer([&k, &fired, event, cpu, d](const sim::TraceContext&, std::string_view line) {
    if (fired || line.find(event) == std::string_view::npos) return;
    fired = true;
    k.sim.at(k.sim.now(), [&k, cpu, d] { k.sim.stall_lane(cpu, k.sim.now() + d); });
  });
}

}  // namespace

TEST_CASE("cpuhp sync: every bring-up ends with the AP ONLINE and every tear-down with it DEAD, without a timeout (cpus=4)") {
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    CAPTURE(seed);
    SimFixture t({.cpus = 4, .seed = seed, .policy = sim::PolicyKind::Random, .capture_trace = true});
    const auto r = t.run([&] {
      for (unsigned c = 0; c < 4; ++c) CHECK(sync_state(c) == SYNC_STATE_ONLINE);  // the boot CPU too
      for (unsigned c = 1; c < 4; ++c) {
        const sim::Time t0 = kernel().sim.now();
        REQUIRE(cpu_down(c) == 0);
        CHECK(sync_state(c) == SYNC_STATE_DEAD);
        CHECK(kernel().sim.now() - t0 < sim::Duration::ns(100'000'000));  // no 10 s wait
      }
      for (unsigned c = 1; c < 4; ++c) {
        REQUIRE(cpu_up(c) == 0);
        CHECK(sync_state(c) == SYNC_STATE_ONLINE);
      }
    });
    CHECK_PASSED(t, r);
    CHECK(t.trace().find("failed to report") == std::string::npos);
  }
}

TEST_CASE("cpuhp sync: an AP that stays silent for 10 s fails cpu_up with -EIO, then waits ALIVE when it comes, and the next cpu_up restarts it") {
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    CAPTURE(seed);
    SimFixture t({.cpus = 4, .online = 3, .seed = seed, .policy = sim::PolicyKind::Random, .capture_trace = true});
    auto& k = t.k();
    bool stalled = false;
    stall_on_event(k, stalled, "cpuhp.ap_kick cpu=3", 3, seconds(11));  // from the BP's boot request
    const auto r = t.run([&] {
      CHECK(sync_state(3) == SYNC_STATE_DEAD);
      const sim::Time t0 = k.sim.now();
      CHECK(cpu_up(3) == -EIO);
      CHECK(k.sim.now() - t0 >= seconds(10));
      CHECK(k.sim.now() - t0 < seconds(10) + sim::Duration::ns(20'000'000));
      CHECK_FALSE(cpu_online(3));
      CHECK(cpuhp_state_of(3)->state == CPUHP_OFFLINE);  // rolled back
      CHECK(sync_state(3) == SYNC_STATE_KICKED);           // asked to boot, never came
      schedule_timeout_uninterruptible(seconds(2));
      CHECK(sync_state(3) == SYNC_STATE_ALIVE);  // it came late, and waits for the BP
      CHECK_FALSE(cpu_online(3));
      CHECK(cpu_up(3) == 0);
      CHECK(cpu_online(3));
      CHECK(cpu_active(3));
      CHECK(sync_state(3) == SYNC_STATE_ONLINE);
    });
    CHECK(stalled);
    CHECK_PASSED(t, r);
    CHECK(t.trace().find("CPU3 failed to report alive state") != std::string::npos);
    CHECK(r.probes.count("cpuhp: AP failed to report alive") == 1);
  }
}

TEST_CASE("cpuhp sync: a CPU that reports idle-dead but not DEAD within 10 s: cpu_down warns and returns 0, cpu_up gets -EAGAIN until it does") {
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    CAPTURE(seed);
    SimFixture t({.cpus = 4, .seed = seed, .policy = sim::PolicyKind::Random, .capture_trace = true});
    auto& k = t.k();
    bool stalled = false;
    // Between CPU 2's idle-dead report and its play-dead's DEAD report.
    stall_on_event(k, stalled, "cpuhp.idle_dead cpu=2", 2, seconds(12));
    const auto r = t.run([&] {
      const sim::Time t0 = k.sim.now();
      CHECK(cpu_down(2) == 0);
      CHECK(k.sim.now() - t0 >= seconds(10));
      CHECK_FALSE(cpu_online(2));
      CHECK(cpuhp_state_of(2)->state == CPUHP_OFFLINE);
      CHECK(sync_state(2) == SYNC_STATE_SHOULD_DIE);  // limbo
      CHECK(cpu_up(2) == -EAGAIN);
      CHECK_FALSE(cpu_online(2));
      CHECK(cpuhp_state_of(2)->state == CPUHP_OFFLINE);
      schedule_timeout_uninterruptible(seconds(3));
      CHECK(sync_state(2) == SYNC_STATE_DEAD);
      CHECK(cpu_up(2) == 0);
      CHECK(cpu_active(2));
      CHECK(sync_state(2) == SYNC_STATE_ONLINE);
    });
    CHECK(stalled);
    CHECK_PASSED(t, r);
    CHECK(t.trace().find("CPU2 failed to report dead state") != std::string::npos);
    CHECK(r.probes.count("cpuhp: AP failed to report dead") == 1);
    CHECK(r.probes.count("cpuhp: bring-up refused, AP in limbo") == 1);
  }
}

// ---------------------------------------------------------------------------------------------
// SMT control (CONFIG_HOTPLUG_SMT)

TEST_CASE("smt: booted with nosmt, each secondary thread boots once and goes back offline, and cpu_up of one is -EPERM (cpus=8, smt=2)") {
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    CAPTURE(seed);
    SimFixture t({.cpus = 8, .smt = 2, .smt_control = CPU_SMT_DISABLED, .seed = seed,
                  .policy = sim::PolicyKind::Random});
    const auto r = t.run([&] {
      for (unsigned c = 0; c < 8; ++c) {
        CAPTURE(c);
        CHECK(cpuhp_state_of(c)->booted_once);  // x86 needs every logical CPU initialised once
        CHECK(cpu_online(c) == (c % 2 == 0));
        CHECK(cpu_active(c) == (c % 2 == 0));
        CHECK(cpuhp_state_of(c)->state == (c % 2 == 0 ? CPUHP_ONLINE : CPUHP_OFFLINE));
        CHECK(stopper_of(c)->enabled == (c % 2 == 0));
      }
      CHECK(cpu_up(3) == -EPERM);
      CHECK_FALSE(cpu_online(3));
      CHECK(cpu_up(2) == 0);  // a primary thread that is up: nothing to do
      REQUIRE(cpu_down(2) == 0);
      CHECK(cpu_up(2) == 0);  // primary threads stay bootable
      CHECK(stop_machine(cpu_stop_fn_t([](void*) { return 0; }), nullptr, nullptr) == 0);
    });
    CHECK_PASSED(t, r);
    CHECK(r.probes.count("cpuhp: SMT sibling booted once, sent back offline") == 1);
  }
}

TEST_CASE("smt: the control's off takes the secondary threads down, on brings every offline CPU back, forceoff then refuses writes (cpus=8, smt=2)") {
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    CAPTURE(seed);
    SimFixture t({.cpus = 8, .smt = 2, .seed = seed, .policy = sim::PolicyKind::Random});
    const auto r = t.run([&] {
      auto online = [] { return cpumask_pr(&kernel().cpu_online_mask); };
      CHECK(online() == "0-7");
      CHECK(cpu_smt_control_store("off") == 0);
      CHECK(online() == "0,2,4,6");
      CHECK(cpu_up(5) == -EPERM);
      CHECK(cpu_smt_control_store("off") == 0);  // already off: nothing happens
      REQUIRE(cpu_down(4) == 0);                   // a primary thread, offline by hand
      CHECK(cpu_smt_control_store("on") == 0);
      CHECK(online() == "0-7");  // every present offline CPU, the hand-offlined one too (SIM)
      CHECK(cpu_up(5) == 0);
      CHECK(cpu_smt_control_store("forceoff") == 0);
      CHECK(online() == "0,2,4,6");
      CHECK(cpu_smt_control_store("on") == -EPERM);
      CHECK(cpu_smt_control_store("off") == -EPERM);
      CHECK(cpu_up(1) == -EPERM);
      CHECK(online() == "0,2,4,6");
    });
    CHECK_PASSED(t, r);
  }
}

TEST_CASE("smt: without SMT the control answers -ENODEV, and any value but on/off/forceoff is -EINVAL (cpus=4)") {
  SimFixture t({.cpus = 4});
  const auto r = t.run([&] {
    CHECK(cpu_smt_control_store("off") == -ENODEV);
    CHECK(cpu_smt_control_store("bogus") == -EINVAL);
    CHECK(cpumask_pr(&kernel().cpu_online_mask) == "0-3");
    CHECK(cpu_bootable(3));
  });
  CHECK_PASSED(t, r);
}

TEST_CASE("cpuhp warnings: a STARTING callback failing when cpuhp_setup_state runs it on an online cpu warns once and rolls back (cpus=3)") {
  // cpuhp_thread_fun runs an atomic (STARTING/DYING) state with irqs off; such callbacks must not
  // fail, so a failure is a WARN_ON_ONCE there, and cpuhp_setup_state still rolls back.
  SimFixture t({.cpus = 3, .capture_trace = true});
  std::vector<unsigned> ups, downs;
  int ret = 0;
  const auto r = t.run([&] {
    ret = cpuhp_setup_state(CPUHP_AP_CACHECTRL_STARTING, "test:atomic",
                            [&](unsigned cpu) { ups.push_back(cpu); return cpu >= 1 ? -EIO : 0; },
                            [&](unsigned cpu) { downs.push_back(cpu); return 0; });
    // The second failing call meets the warning already given.
    const int again = cpuhp_setup_state(CPUHP_AP_CACHECTRL_STARTING, "test:atomic",
                                        [](unsigned cpu) { return cpu >= 1 ? -EIO : 0; }, {});
    CHECK(again == -EIO);
  });
  CHECK_PASSED(t, r);
  CHECK(ret == -EIO);
  CHECK(ups == std::vector<unsigned>{0, 1});
  CHECK(downs == std::vector<unsigned>{0});
  const std::string tr = t.trace();
  const auto at = tr.find("cpuhp.warn site=cpuhp_thread_fun:atomic");
  REQUIRE(at != std::string::npos);
  CHECK(tr.find("cpu1: CPUHP_AP_CACHECTRL_STARTING failed (-5)", at) != std::string::npos);
  CHECK(tr.find("cpuhp.warn site=cpuhp_thread_fun:atomic", at + 1) == std::string::npos);
}

TEST_CASE("cpuhp warnings: a PREPARE instance failing on cpu_up undoes the instances before it: a good undo swallows the error, a failing one warns and fails cpu_up (cpus=2)") {
  // On the BP a multi-instance state undoes, in place, the instances it already ran when a later
  // one fails, and (baseline quirk, spec 3.3) returns the last undo's result: a good undo makes the
  // state look done, so cpu_up goes on and succeeds; an undo that fails too is warned about
  // (WARN_ON_ONCE) and its error fails cpu_up, which rolls back. Instances run newest first
  // (cpuhp_state_add_instance adds at the list's head): b, then a.
  for (const bool undo_fails : {false, true}) {
    CAPTURE(undo_fails);
    SimFixture t({.cpus = 2, .capture_trace = true});
    static hlist_node a, b;
    std::vector<std::string> calls;
    int down = 0, up = 0;
    const auto r = t.run([&] {
      down = cpu_down(1);
      const int s = cpuhp_setup_state_multi(
          CPUHP_BP_PREPARE_DYN, "test:inst",
          [&](unsigned, hlist_node* n) { calls.push_back(n == &a ? "up a" : "up b"); return n == &a ? -ENOMEM : 0; },
          [&, undo_fails](unsigned, hlist_node* n) {
            calls.push_back(n == &a ? "down a" : "down b");
            return undo_fails ? -EIO : 0;
          });
      REQUIRE(s >= CPUHP_BP_PREPARE_DYN);
      REQUIRE(cpuhp_state_add_instance_nocalls(s, &a) == 0);
      REQUIRE(cpuhp_state_add_instance_nocalls(s, &b) == 0);
      up = cpu_up(1);
    });
    CHECK_PASSED(t, r);
    CHECK(down == 0);
    CHECK(up == (undo_fails ? -EIO : 0));
    CHECK(cpumask_test_cpu(1, &t.k().cpu_online_mask) == !undo_fails);
    REQUIRE(calls.size() >= 3);
    CHECK(std::vector<std::string>(calls.begin(), calls.begin() + 3) == std::vector<std::string>{"up b", "up a", "down b"});
    CHECK((t.trace().find("cpuhp.warn site=cpuhp_invoke_callback:undo") != std::string::npos) == undo_fails);
  }
}
