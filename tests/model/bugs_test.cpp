// The bug zoo (spec §7): for each knob, a workload written as a user would (no scripted
// interleaving), a fixed seed budget that must find the expected failure kind with the knob on,
// and the same budget finding nothing with it off.
#include "fixture.hpp"

#include "model/bugs.hpp"
#include "model/cpu.hpp"
#include "model/rcu.hpp"

#include <deque>
#include <functional>
#include <set>
#include <sstream>

using namespace model;
using namespace sim::literals;

namespace {

struct Workload {
  unsigned cpus = 2;
  unsigned online = 0;
  sim::Duration max_time = 30_s;
  sim::Granularity granularity = sim::Granularity::Locks;
  std::function<void(Kernel&)> setup = {};  // before boot (fault injection)
  std::function<void()> body = {};     // the init task's work after boot
};

std::set<std::string> kinds_of(const std::string& expect) {
  std::set<std::string> out;
  std::stringstream ss(expect);
  std::string k;
  while (std::getline(ss, k, '|')) out.insert(k);
  return out;
}

/// Runs `w` for seeds 1..budget alternating random and pct; returns the first failure kind seen.
std::string hunt(const char* bug, const Workload& w, std::uint64_t budget, std::uint64_t* seed_found = nullptr) {
  for (std::uint64_t seed = 1; seed <= budget; ++seed) {
    SimFixture t({.cpus = w.cpus, .online = w.online, .seed = seed,
                  .policy = seed % 2 ? sim::PolicyKind::Random : sim::PolicyKind::Pct,
                  .granularity = w.granularity, .max_time = w.max_time});
    if (bug) find_bug(bug)->enable(t.knobs());
    if (w.setup) w.setup(t.k());
    const auto r = t.run(w.body);
    if (r.failure) {
      if (seed_found) *seed_found = seed;
      return r.failure->kind;
    }
  }
  return "none";
}

void check_bug(const char* name, const Workload& w, std::uint64_t budget) {
  const bug_knob* b = find_bug(name);
  REQUIRE(b != nullptr);
  std::uint64_t seed = 0;
  const std::string found = hunt(name, w, budget, &seed);
  INFO(name, " found ", found, " at seed ", seed, ", expected ", b->expect);
  CHECK(kinds_of(b->expect).count(found) == 1);
  const std::string baseline = hunt(nullptr, w, budget);
  INFO(name, " without the knob found ", baseline);
  CHECK(baseline == "none");
}

void repeat(int n, const std::function<void()>& f) {
  for (int i = 0; i < n; ++i) f();
}

const cpu_stop_fn_t nop{[](void*) { return 0; }, "nop"};

// B9 and B10's workload: while cpu1 goes down, cpu2 keeps handing it nowait works (a fresh
// buffer each, as the load balancer's active_balance would).
void nowait_stream_while_down() {
  auto* a = spawn_on(2, [] {
    while (!cpumask_test_cpu(1, &kernel().cpu_dying_mask)) schedule_timeout_uninterruptible(100_us);
    static std::deque<cpu_stop_work> bufs;  // the caller owns work_buf until fn has run
    bufs.clear();
    for (int i = 0; i < 20000; ++i) {
      bufs.emplace_back();
      if (!stop_one_cpu_nowait(1, nop, nullptr, &bufs.back())) break;
      cond_resched();
    }
  });
  auto* b = spawn_on(0, [] { cpu_down(1); });
  join_all({a, b});
}

}  // namespace

TEST_CASE("bug zoo: every knob is listed with a history and an expected failure kind") {
  CHECK(bug_registry().size() >= 14);
  for (const char* required : {"B1", "B2", "B4", "B5", "B8", "B9", "B11", "B13", "B15", "B16", "B18", "B19", "B20"}) {
    CAPTURE(required);
    const bug_knob* b = find_bug(required);
    REQUIRE(b != nullptr);
    CHECK_FALSE(b->history.empty());
    CHECK_FALSE(b->expect.empty());
  }
  CHECK(find_bug("B999") == nullptr);
  CHECK(find_bug("B10") != nullptr);
  CHECK(find_bug("B22") != nullptr);
}

TEST_CASE("bug zoo B1: stop_machine racing stop_two_cpus queues in opposite orders (cpus=2)") {
  check_bug("B1", {.body = [] {
    auto* a = spawn_on(0, [] { repeat(4, [] { stop_machine(nop, nullptr, nullptr); }); });
    auto* b = spawn_on(1, [] { repeat(4, [] { stop_two_cpus(0, 1, nop, nullptr); }); });
    join_all({a, b});
  }}, 60);
}

TEST_CASE("bug zoo B15: stop_cpus_in_progress not visible for the whole loop (cpus=3)") {
  check_bug("B15", {.cpus = 3, .body = [] {
    auto* a = spawn_on(0, [] { repeat(4, [] { stop_machine(nop, nullptr, nullptr); }); });
    auto* b = spawn_on(1, [] { repeat(4, [] { stop_two_cpus(0, 2, nop, nullptr); }); });
    join_all({a, b});
  }}, 80);
}

TEST_CASE("bug zoo B2: three concurrent stop_two_cpus form a cycle (cpus=3)") {
  check_bug("B2", {.cpus = 3, .body = [] {
    auto* a = spawn_on(0, [] { repeat(3, [] { stop_two_cpus(0, 1, nop, nullptr); }); });
    auto* b = spawn_on(1, [] { repeat(3, [] { stop_two_cpus(1, 2, nop, nullptr); }); });
    auto* c = spawn_on(2, [] { repeat(3, [] { stop_two_cpus(2, 0, nop, nullptr); }); });
    join_all({a, b, c});
  }}, 80);
}

// B3's workload: two migrate_swap-style callers on cpu0; cpu1 idles between stopper works.
void b3_swaps() {
  auto* a = spawn_on(0, [] { repeat(10, [] { stop_two_cpus(0, 1, nop, nullptr); }); });
  auto* b = spawn_on(0, [] { repeat(10, [] { stop_two_cpus(0, 1, nop, nullptr); }); });
  join_all({a, b});
}

TEST_CASE("bug zoo B3: a stopper wake-up under the stopper locks is reported by the W1 rule (cpus=2)") {
  // W1 needs no interleaving and no idle balance: the first wake-up under the locks breaks it.
  check_bug("B3", {.body = b3_swaps}, 1);
}

TEST_CASE("bug zoo B3: with the W1 check off, the wake-up under the locks deadlocks with an idle balance (cpus=2)") {
  // What the rule prevents: the waker waits under both locks for migration/1 to finish switching
  // out, while cpu1, in that schedule(), idle-balances and spins on cpu0's stopper lock.
  const Workload w{.setup = [](Kernel& k) {
                     k.cfg.idle_balance = true;
                     k.knobs.w1_unchecked = true;
                   },
                   .body = b3_swaps};
  std::uint64_t seed = 0;
  const std::string found = hunt("B3", w, 8, &seed);
  INFO("found ", found, " at seed ", seed);
  CHECK(found == "hard-lockup");
  // Without the knob the same workload passes, W1 check off or not.
  CHECK(hunt(nullptr, w, 8) == "none");
}

TEST_CASE("bug zoo B4: the first woken stopper preempts the waker (cpus=2)") {
  check_bug("B4", {.body = [] {
    auto* a = spawn_on(0, [] { stop_two_cpus(0, 1, nop, nullptr); });
    join_all({a});
  }}, 4);
}

TEST_CASE("bug zoo B5: a wake_q de-duplication loses a stopper wake-up (cpus=2)") {
  check_bug("B5", {.body = [] {
    auto* t = spawn_on(1, [] { repeat(6, [] { stop_one_cpu(0, nop, nullptr); }); });
    auto* u = spawn_on(0, [] { repeat(6, [] { stop_two_cpus(0, 1, nop, nullptr); }); });
    join_all({t, u});
  }}, 120);
}

TEST_CASE("bug zoo B6: a deferred stopper wake-up lets balance_push queue its push_work twice (cpus=2)") {
  // migrate_swap-style stop_two_cpus(0, 1) while cpu1 goes down and two tasks there sleep and wake.
  check_bug("B6", {.body = [] {
    auto* down = spawn_on(0, [] { cpu_down(1); });
    auto* swap = spawn_on(0, [] { repeat(20, [] { stop_two_cpus(0, 1, nop, nullptr); }); });
    auto* a = spawn_on(1, [] { repeat(20, [] { stop_one_cpu(0, nop, nullptr); }); });
    auto* b = spawn_on(1, [] { repeat(20, [] { stop_one_cpu(0, nop, nullptr); }); });
    join_all({down, swap, a, b});
  }}, 200);
}

TEST_CASE("bug zoo B7: a cpu is online before its stopper is enabled (cpus=2)") {
  check_bug("B7", {.body = [] {
    cpu_down(1);
    cpu_up(1);
  }}, 2);
}

TEST_CASE("bug zoo B8: stop_one_cpu_nowait loses a race with take_cpu_down (cpus=3)") {
  // While cpu1 goes down, cpu2 keeps migrating work to it (set_cpus_allowed_ptr style).
  check_bug("B8", {.cpus = 3, .body = [] {
    auto* a = spawn_on(2, [] {
      while (!cpumask_test_cpu(1, &kernel().cpu_dying_mask)) schedule_timeout_uninterruptible(100_us);
      for (int i = 0; i < 400 && affine_move_task(1) == 0; ++i) {}
    });
    auto* b = spawn_on(0, [] { cpu_down(1); });
    join_all({a, b});
  }}, 200);
}

TEST_CASE("bug zoo B9: a nowait work accepted before take_cpu_down is dropped at park (cpus=3)") {
  check_bug("B9", {.cpus = 3, .body = nowait_stream_while_down}, 200);
}

TEST_CASE("bug zoo B10: a parking stopper signals its pending works but leaves them linked (cpus=3)") {
  // The B9 workload: cpu2 keeps handing the dying cpu1 nowait works; with B10 the park leaves
  // the accepted ones on the list (I-SM-9) instead of dropping them.
  check_bug("B10", {.cpus = 3, .body = nowait_stream_while_down}, 200);
}

TEST_CASE("bug zoo B11: RCU stalls blame cpus that only wait in multi_cpu_stop (cpus=3)") {
  check_bug("B11", {.cpus = 3, .body = [] {
    auto* a = spawn_on(0, [] {
      stop_two_cpus(0, 1, cpu_stop_fn_t([](void*) { busy_loop(25_s, true); return 0; }, "spin_25s_touching"), nullptr);
    });
    auto* g = spawn_on(2, [] {
      schedule_timeout_uninterruptible(1_ms);
      synchronize_rcu();
    });
    join_all({a, g});
  }}, 2);
}

TEST_CASE("I-RCU-3: a waiter is not blamed when the grace-period kthread starves behind another stopper (cpus=4)") {
  // The spec applies the progress half only when the GP kthread can run outside the operation.
  // cpu b waits in stop_two_cpus(a, b) from before the grace period, so only an FQS scan can see
  // its momentary EQSs. The GP kthread starts that GP on cpu g; then stop_one_cpu(g) runs a 25 s
  // callback there. With the fourth cpu busy too, the kthread's timer wake-up stays on g and it
  // starves, in the kernel as well: the stall is real (rcu-stall), and blaming b as B11 does would
  // be a false I-RCU-3. With the fourth cpu idle, the wake-up lands there and the GP completes.
  for (const bool fourth_busy : {true, false}) {
    CAPTURE(fourth_busy);
    SimFixture t({.max_time = 40_s});
    t.k().cfg.detectors_stop_run = false;
    std::uint64_t gp_seq_before = 0, gp_seq_at_stop = 0;
    unsigned gp_cpu_at_stop = 99, g = 99;
    const auto r = t.run([&] {
      schedule_timeout_uninterruptible(1_ms);
      g = kernel().rcu->gp_kthread->cpu;
      std::vector<unsigned> others;
      for (unsigned c = 0; c < 4; ++c)
        if (c != g) others.push_back(c);
      const unsigned a = others[0], b = others[1], d = others[2];
      const auto spin_25s = cpu_stop_fn_t([](void*) { busy_loop(25_s, true); return 0; }, "spin_25s_touching");
      std::vector<task_struct*> ts;
      ts.push_back(spawn_on(a, [=] { stop_two_cpus(a, b, spin_25s, nullptr); }));
      if (fourth_busy) ts.push_back(spawn_on(d, [] { busy_loop(30_s, true); }));
      ts.push_back(spawn_on(g, [&, spin_25s] {
        schedule_timeout_uninterruptible(1_ms);
        gp_seq_before = kernel().rcu->gp_seq;
        call_rcu([] {});  // the GP starts with b already waiting
        schedule_timeout_uninterruptible(1_ms);
        gp_seq_at_stop = kernel().rcu->gp_seq;
        gp_cpu_at_stop = kernel().rcu->gp_kthread->cpu;
        stop_one_cpu(g, spin_25s, nullptr);
      }));
      join_all(ts);
    });
    CHECK_PASSED(t, r);
    CHECK(gp_seq_at_stop == gp_seq_before + 1);  // a GP is in progress when g's stopper takes over
    int stalls = 0;
    for (const auto& rep : t.k().reports) stalls += rep.kind == "rcu-stall" ? 1 : 0;
    if (fourth_busy) {
      CHECK(gp_cpu_at_stop == g);  // no idle cpu to go to: the kthread stays where the stopper takes over
      CHECK(stalls >= 1);
    } else {
      CHECK(stalls == 0);
    }
  }
}

TEST_CASE("bug zoo B12: rcu_momentary_eqs() with irqs enabled (cpus=2)") {
  check_bug("B12", {.body = [] { stop_machine(nop, nullptr, nullptr); }}, 2);
}

TEST_CASE("bug zoo B13: hard-lockup reports on cpus waiting in multi_cpu_stop (cpus=2)") {
  check_bug("B13", {.body = [] {
    const cpumask one = cpumask_of(0);
    stop_machine(cpu_stop_fn_t([](void*) { busy_loop(25_s, true); return 0; }, "spin_25s_touching"), nullptr, &one);
  }}, 2);
}

TEST_CASE("bug zoo B14: the soft-lockup work is queued twice while the stopper cannot run (cpus=2)") {
  check_bug("B14", {.max_time = 15_s, .body = [] {
    auto* a = spawn_on(1, [] {
      preempt_disable();
      busy_loop(10_s);
      preempt_enable();
    });
    join_all({a});
  }}, 2);
}

TEST_CASE("bug zoo B16: a participant keeps a stale msdata->state (cpus=2)") {
  check_bug("B16", {.max_time = 70_s, .body = [] {
    auto* a = spawn_on(1, [] { repeat(8, [] { stop_machine(nop, nullptr, nullptr); }); });
    join_all({a});
  }}, 20);
}

TEST_CASE("bug zoo B17: the new state is visible before the thread_ack reset (cpus=2, shared)") {
  check_bug("B17", {.granularity = sim::Granularity::Shared, .body = [] {
    auto* a = spawn_on(1, [] { repeat(4, [] { stop_machine(nop, nullptr, nullptr); }); });
    join_all({a});
  }}, 40);
}

TEST_CASE("bug zoo B18: stop_machine_from_inactive_cpu enables irqs on the inactive cpu (cpus=2)") {
  check_bug("B18", {.online = 1, .body = [] {
    auto* ap = spawn_on(1, [] {
      local_irq_disable();
      const cpumask local = cpumask_of(1);
      stop_machine_from_inactive_cpu(nop, nullptr, &local);
      local_irq_enable();
    });
    join_all({ap});
  }}, 2);
}

TEST_CASE("bug zoo B19: kthread_park returns before the thread parked (cpus=2)") {
  check_bug("B19", {.body = [] {
    static std::vector<task_struct*> store;
    static smp_hotplug_thread ht;
    store.clear();
    ht = smp_hotplug_thread{};
    ht.store = &store;
    ht.thread_should_run = [](unsigned) { return 0; };
    ht.thread_fn = [](unsigned) {};
    ht.thread_comm = "ksoftirqd/%u";
    smpboot_register_percpu_thread(&ht);
    cpu_down(1);
    cpu_up(1);
  }}, 2);
}

TEST_CASE("bug zoo B20: no rollback when __cpu_disable refuses the takedown (cpus=2)") {
  check_bug("B20", {.setup = [](Kernel& k) { k.cpu->disable_error[1] = -ENOSPC; }, .body = [] { cpu_down(1); }}, 2);
}

TEST_CASE("bug zoo B21: ksoftirqd parked before the down path's synchronize_rcu hangs cpu_down (cpus=2)") {
  check_bug("B21", {.setup = [](Kernel& k) { k.cfg.ksoftirqd = true; }, .body = [] {
    cpu_down(1);
    cpu_up(1);
  }}, 2);
}

TEST_CASE("ksoftirqd: RCU callbacks run in ksoftirqd/N of the CPU that queued them (cpus=2)") {
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    CAPTURE(seed);
    SimFixture t({.cpus = 2, .seed = seed, .policy = sim::PolicyKind::Random});
    t.k().cfg.ksoftirqd = true;
    std::vector<std::string> ran_in;
    const auto r = t.run([&] {
      auto* a = spawn_on(1, [&] {
        call_rcu([&] { ran_in.push_back(current->comm); });
        synchronize_rcu();
      });
      join_all({a});
      cpu_down(1);
      cpu_up(1);
    });
    REQUIRE_FALSE(r.failure);
    REQUIRE(ran_in.size() == 1);
    CHECK(ran_in[0] == "ksoftirqd/1");
  }
}

TEST_CASE("ksoftirqd: a dead CPU's ready and pending RCU callbacks move to the CPU taking it down (cpus=2)") {
  SimFixture t({.cpus = 2});
  t.k().cfg.ksoftirqd = true;
  std::vector<std::string> ran_in;
  const auto r = t.run([&] {
    cpu_down(1);
    // What a CPU can be left with when it dies after its ksoftirqd parked: a callback whose grace
    // period has ended and one still waiting for its grace period.
    auto& g = *kernel().rcu;
    g.done[1].push_back([&] { ran_in.push_back(current->comm); });
    g.callbacks.push_back({g.gp_seq + 2, 1, [&] { ran_in.push_back(current->comm); }});
    rcutree_migrate_callbacks(1);
    CHECK(g.done[1].empty());
    CHECK(g.callbacks.back().cpu == 0);
    synchronize_rcu();
    cpu_up(1);
    synchronize_rcu();
  });
  REQUIRE_FALSE(r.failure);
  CHECK(ran_in == std::vector<std::string>{"ksoftirqd/0", "ksoftirqd/0"});
}

TEST_CASE("bug zoo B22: removing a dynamic state by the DYN base value clears another slot (cpus=2)") {
  check_bug("B22", {.body = [] {
    const int s = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "drv:online", [](unsigned) { return 0; },
                                    [](unsigned) { return 0; });
    REQUIRE(s == CPUHP_AP_ONLINE_DYN);  // the first dynamic slot is the base value itself
    cpu_down(1);
    cpuhp_remove_state(s);
    cpu_up(1);
  }}, 2);
}
