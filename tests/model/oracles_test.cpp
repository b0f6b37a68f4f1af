// Oracle self-tests: every invariant the model checks (spec §6.1, §6.2, lockdep, scheduling while
// atomic) is made to fire on a deliberately broken input, in a test of its own, so that an oracle
// that went silent cannot pass unnoticed. A broken input is a knob (model::Knobs), a callback or
// task that breaks a rule on purpose, or hand-built internal state. Where a violation needs a
// particular interleaving the test searches seeds under the Random policy and asserts a hit.
// For several oracles the same scenario without the breakage is checked to pass.
#include "fixture.hpp"

#include <algorithm>
#include <string>

using namespace model;

namespace {

constexpr sim::Duration ms(std::int64_t n) { return sim::Duration::ns(n * 1'000'000); }
constexpr sim::Duration us(std::int64_t n) { return sim::Duration::ns(n * 1'000); }

/// Runs `attempt(seed)` for seeds 1..max_seeds until it reports `want`; returns that seed or 0.
/// `attempt` builds its own SimFixture (one simulated kernel per thread at a time).
template <class Attempt>
std::uint64_t find_seed(const std::string& want, Attempt&& attempt, std::uint64_t max_seeds = 200) {
  for (std::uint64_t seed = 1; seed <= max_seeds; ++seed)
    if (attempt(seed) == want) return seed;
  return 0;
}

/// A stop callback that only counts its calls.
cpu_stop_fn_t counting_fn(int& calls, const char* name = "count") {
  return cpu_stop_fn_t([&calls](void*) {
    ++calls;
    return 0;
  }, name);
}

/// Keeps `cpu` busy with preemption disabled for `d`: its stopper cannot run meanwhile.
task_struct* block_cpu(unsigned cpu, sim::Duration d, bool& started) {
  return spawn_on(cpu, [d, &started] {
    preempt_disable();
    started = true;
    busy_loop(d);
    preempt_enable();
  }, "blocker/%u");
}

/// Sleeps the calling task until `cond()` holds (polling in virtual time).
template <class Cond>
void sleep_until(Cond&& cond, sim::Duration step = us(100)) {
  while (!cond()) schedule_timeout_uninterruptible(step);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// I-SM-1: monotonic states

TEST_CASE("oracle I-SM-1: fires when set_state jumps from DISABLE_IRQ straight to EXIT (cpus=2)") {
  SimFixture t({.cpus = 2});
  t.knobs().set_state_skip_state = true;
  int calls = 0;
  t.run([&] { stop_machine(counting_fn(calls), nullptr, nullptr); });
  CHECK_MESSAGE(t.failure_kind() == "I-SM-1", t.failure_text());
}

// ---------------------------------------------------------------------------------------------
// I-SM-2: ack accounting

TEST_CASE("oracle I-SM-2: fires when more CPUs join a multi_cpu_stop than num_threads counts (cpus=2)") {
  // Broken input: a hand-built msdata that says one thread, queued on two stoppers. Nobody is
  // active (empty active mask), so only the ack accounting can notice.
  SimFixture t({.cpus = 2});
  t.run([&] {
    multi_stop_data msdata;
    const cpumask nobody(kernel().nr_cpu_ids);
    msdata.fn = cpu_stop_fn_t([](void*) { return 0; }, "never");
    msdata.num_threads = 1;
    msdata.active_cpus = &nobody;
    msdata.id = 9001;
    msdata.last_ack.assign(kernel().nr_cpu_ids, MULTI_STOP_NONE);
    msdata.participants = cpumask(kernel().nr_cpu_ids);
    atomic_set(&msdata.thread_ack, 1);
    msdata.ack_reset_for = MULTI_STOP_PREPARE;
    msdata.state.store(MULTI_STOP_PREPARE);
    const cpumask both = kernel().cpu_online_mask;
    stop_cpus(&both, cpu_stop_fn_t(multi_cpu_stop, "multi_cpu_stop"), &msdata);
  });
  CHECK_MESSAGE(t.failure_kind() == "I-SM-2", t.failure_text());
}

TEST_CASE("oracle I-SM-2: fires when set_state forgets to reset thread_ack (knob set_state_skip_reset, cpus=2)"
          * doctest::skip()) {
  // Skipped: with this knob set_state also leaves ack_reset_for stale, so the first participant
  // that reads PREPARE trips I-SM-15 (publication ordering) before its ack can drive thread_ack
  // below zero. The knob therefore reaches I-SM-15, never I-SM-2; I-SM-2 is covered above.
  SimFixture t({.cpus = 2});
  t.knobs().set_state_skip_reset = true;
  int calls = 0;
  t.run([&] { stop_machine(counting_fn(calls), nullptr, nullptr); });
  CHECK_MESSAGE(t.failure_kind() == "I-SM-2", t.failure_text());
}

// ---------------------------------------------------------------------------------------------
// I-SM-3: fn exactly once per active CPU

TEST_CASE("oracle I-SM-3: fires when the active CPU calls fn twice in RUN (cpus=2)") {
  SimFixture t({.cpus = 2});
  t.knobs().msm_double_fn = true;
  int calls = 0;
  t.run([&] { stop_machine(counting_fn(calls), nullptr, nullptr); });
  CHECK_MESSAGE(t.failure_kind() == "I-SM-3", t.failure_text());
}

// ---------------------------------------------------------------------------------------------
// I-SM-4: irqs off during RUN

TEST_CASE("oracle I-SM-4: fires when a participant keeps irqs on in RUN (cpus=2)") {
  SimFixture t({.cpus = 2});
  t.knobs().msm_skip_irq_disable = true;
  int calls = 0;
  t.run([&] { stop_machine(counting_fn(calls), nullptr, nullptr); });
  CHECK_MESSAGE(t.failure_kind() == "I-SM-4", t.failure_text());
}

TEST_CASE("oracle I-SM-4 negative: the same stop_machine with irqs disabled passes (cpus=2)") {
  SimFixture t({.cpus = 2});
  int calls = 0;
  const auto r = t.run([&] { stop_machine(counting_fn(calls), nullptr, nullptr); });
  CHECK_PASSED(t, r);
  CHECK(calls == 1);
}

// ---------------------------------------------------------------------------------------------
// I-SM-5: quiescence during RUN

namespace {
/// A fair task on cpu1 that sleeps inside an irq-disabled region (if `break_it`) while init runs
/// a stop_machine over every online CPU.
sim::RunResult run_quiescence_scenario(SimFixture& t, bool break_it, int& calls) {
  return t.run([break_it, &calls] {
    bool asleep = false;
    auto* sleeper = spawn_on(1, [&asleep, break_it] {
      if (break_it) local_irq_disable();
      asleep = true;
      schedule_timeout_uninterruptible(ms(50));
      if (break_it) local_irq_enable();
    }, "sleeper/%u");
    sleep_until([&] { return asleep && !sleeper->on_cpu.peek(); });
    stop_machine(counting_fn(calls), nullptr, nullptr);
    join_all({sleeper});
  });
}
}  // namespace

TEST_CASE("oracle I-SM-5: fires when a task switched out with irqs off while stop_machine runs fn (cpus=2)") {
  SimFixture t({.cpus = 2});
  int calls = 0;
  run_quiescence_scenario(t, true, calls);
  CHECK_MESSAGE(t.failure_kind() == "I-SM-5", t.failure_text());
}

TEST_CASE("oracle I-SM-5 negative: a task that sleeps with irqs on does not break quiescence (cpus=2)") {
  SimFixture t({.cpus = 2});
  int calls = 0;
  const auto r = run_quiescence_scenario(t, false, calls);
  CHECK_PASSED(t, r);
  CHECK(calls == 1);
}

// ---------------------------------------------------------------------------------------------
// I-SM-6: flags restored

namespace {
/// cpu1 leaves the active mask, disables irqs (as in a STARTING callback) and calls
/// stop_machine_from_inactive_cpu; cpu0 participates through its stopper.
sim::RunResult run_inactive_cpu_scenario(SimFixture& t, int& calls, bool& irqs_off_after) {
  return t.run([&calls, &irqs_off_after] {
    auto* ap = spawn_on(1, [&calls, &irqs_off_after] {
      set_cpu_active(1, false);
      local_irq_disable();
      stop_machine_from_inactive_cpu(counting_fn(calls), nullptr, nullptr);
      irqs_off_after = irqs_disabled();
      local_irq_enable();
      set_cpu_active(1, true);
    }, "ap/%u");
    join_all({ap});
  });
}
}  // namespace

TEST_CASE("oracle I-SM-6: fires when multi_cpu_stop enables instead of restoring irqs on the inactive CPU (cpus=2)") {
  SimFixture t({.cpus = 2});
  t.knobs().msm_enable_irqs_on_exit = true;
  int calls = 0;
  bool off = false;
  run_inactive_cpu_scenario(t, calls, off);
  CHECK_MESSAGE(t.failure_kind() == "I-SM-6", t.failure_text());
}

TEST_CASE("oracle I-SM-6 negative: stop_machine_from_inactive_cpu returns with irqs still off (cpus=2)") {
  SimFixture t({.cpus = 2});
  int calls = 0;
  bool off = false;
  const auto r = run_inactive_cpu_scenario(t, calls, off);
  CHECK_PASSED(t, r);
  CHECK(calls == 1);
  CHECK(off);
}

// ---------------------------------------------------------------------------------------------
// I-SM-7: completion accounting

TEST_CASE("oracle I-SM-7: fires when the stopper signals a cpu_stop_done twice (cpus=2)") {
  SimFixture t({.cpus = 2});
  t.knobs().done_double_signal = true;
  int calls = 0;
  t.run([&] { stop_one_cpu(1, counting_fn(calls), nullptr); });
  CHECK_MESSAGE(t.failure_kind() == "I-SM-7", t.failure_text());
}

// ---------------------------------------------------------------------------------------------
// I-SM-8: work fate

TEST_CASE("oracle I-SM-8: fires when stop_one_cpu queues its work twice while it is still listed (cpus=2)") {
  SimFixture t({.cpus = 2});
  t.knobs().stop_one_cpu_double_queue = true;
  int calls = 0;
  t.run([&] {
    bool started = false;
    block_cpu(1, ms(20), started);  // cpu1's stopper cannot run: the first queueing stays listed
    sleep_until([&] { return started; });
    stop_one_cpu(1, counting_fn(calls), nullptr);
  });
  CHECK_MESSAGE(t.failure_kind() == "I-SM-8", t.failure_text());
}

TEST_CASE("oracle I-SM-8 negative: stop_one_cpu on a busy non-preemptible CPU runs fn once when it gets there (cpus=2)") {
  SimFixture t({.cpus = 2});
  int calls = 0;
  int ret = 1;
  const auto r = t.run([&] {
    bool started = false;
    auto* b = block_cpu(1, ms(20), started);
    sleep_until([&] { return started; });
    ret = stop_one_cpu(1, counting_fn(calls), nullptr);
    join_all({b});
  });
  CHECK_PASSED(t, r);
  CHECK(calls == 1);
  CHECK(ret == 0);
}

TEST_CASE("oracle I-SM-8: the record of works is the window not yet run through, not every work of the run (cpus=3)") {
  SimFixture t({.cpus = 3});
  int calls = 0;
  std::size_t longest = 0;
  std::uint64_t dropped = 0;
  const auto r = t.run([&] {
    for (int i = 0; i < 300; ++i) {
      stop_one_cpu(1 + static_cast<unsigned>(i % 2), counting_fn(calls), nullptr);
      longest = std::max(longest, kernel().sm->fates.size());
    }
    dropped = kernel().sm->fates_base;
  });
  CHECK_PASSED(t, r);
  CHECK(calls == 300);
  CHECK(longest <= 64);   // compacted once half of it has run: never the 300 works of the run
  CHECK(dropped >= 236);  // and the works dropped from it are remembered as run (by number)
}

// ---------------------------------------------------------------------------------------------
// I-SM-9: parked stopper is empty

namespace {
/// Inside a stop_one_cpu callback on cpu1: queue one more work on cpu1, then park cpu1's
/// stopper (as take_cpu_down does). cpu1 is marked dying so that I-SM-10 stays quiet.
sim::RunResult run_park_from_callback(SimFixture& t, int& extra_runs) {
  return t.run([&extra_runs] {
    cpu_stop_work extra;
    stop_machine_note_dying(1, true);
    stop_one_cpu(1, cpu_stop_fn_t([&](void*) {
      CHECK(stop_one_cpu_nowait(1, counting_fn(extra_runs, "extra"), nullptr, &extra));
      stop_machine_park(smp_processor_id());
      return 0;
    }, "park_self"), nullptr);
    task_struct* stopper = stopper_of(1)->thread;
    sleep_until([&] { return stopper->state == TASK_PARKED && !stopper->on_cpu.peek(); });
    stop_machine_unpark(1);
    stop_machine_note_dying(1, false);
  });
}
}  // namespace

TEST_CASE("oracle I-SM-9: fires when the stopper parks with a work still queued (cpus=2)") {
  SimFixture t({.cpus = 2});
  t.knobs().stopper_park_nonempty = true;
  int extra_runs = 0;
  run_park_from_callback(t, extra_runs);
  CHECK_MESSAGE(t.failure_kind() == "I-SM-9", t.failure_text());
}

TEST_CASE("oracle I-SM-9 negative: the stopper drains works queued before the park, then parks empty (cpus=2)") {
  SimFixture t({.cpus = 2});
  int extra_runs = 0;
  const auto r = run_park_from_callback(t, extra_runs);
  CHECK_PASSED(t, r);
  CHECK(extra_runs == 1);
}

// ---------------------------------------------------------------------------------------------
// I-SM-10: enabled window

namespace {
/// Takes cpu1 down, then enables its (parked) stopper while it is offline, then stop_machine.
sim::RunResult run_unpark_offline(SimFixture& t, int& calls) {
  return t.run([&calls] {
    REQUIRE(cpu_down(1) == 0);
    stop_machine_unpark(1);
    stop_machine(counting_fn(calls), nullptr, nullptr);
  });
}
}  // namespace

TEST_CASE("oracle I-SM-10: fires when a stopper is enabled while its CPU is offline (cpus=2)") {
  SimFixture t({.cpus = 2});
  int calls = 0;
  run_unpark_offline(t, calls);
  CHECK_MESSAGE(t.failure_kind() == "I-SM-10", t.failure_text());
}

TEST_CASE("oracle I-SM-10: fires when an online CPU's stopper is disabled outside take_cpu_down (cpus=2)") {
  SimFixture t({.cpus = 2});
  t.run([] { stop_machine_park(1); });
  CHECK_MESSAGE(t.failure_kind() == "I-SM-10", t.failure_text());
}

TEST_CASE("oracle I-SM-10 negative: cpu_down then cpu_up re-enables the stopper only once the CPU is online (cpus=2)") {
  SimFixture t({.cpus = 2});
  int calls = 0;
  bool enabled = false;
  const auto r = t.run([&] {
    REQUIRE(cpu_down(1) == 0);
    CHECK_FALSE(stopper_of(1)->enabled);
    REQUIRE(cpu_up(1) == 0);
    enabled = stopper_of(1)->enabled;
    stop_machine(counting_fn(calls), nullptr, nullptr);
  });
  CHECK_PASSED(t, r);
  CHECK(enabled);
  CHECK(calls == 1);
}

// ---------------------------------------------------------------------------------------------
// I-SM-11: stop_machine precondition

TEST_CASE("oracle I-SM-11: fires when stop_machine starts while an online CPU's stopper is parked (cpus=2)") {
  SimFixture t({.cpus = 2});
  int calls = 0;
  t.run([&] {
    // Park cpu1's stopper the way take_cpu_down does, but leave cpu1 online.
    stop_machine_note_dying(1, true);
    stop_one_cpu(1, cpu_stop_fn_t([](void*) {
      stop_machine_park(smp_processor_id());
      return 0;
    }, "park_self"), nullptr);
    stop_machine(counting_fn(calls), nullptr, nullptr);
  });
  CHECK_MESSAGE(t.failure_kind() == "I-SM-11", t.failure_text());
  CHECK(calls == 0);
}

TEST_CASE("oracle I-SM-11: fires when the online mask changes under a running stop_machine (cpus=3)") {
  SimFixture t({.cpus = 3});
  t.run([] {
    stop_machine(cpu_stop_fn_t([](void*) {
      set_cpu_online(2, false);  // not the dying CPU of a take_cpu_down
      return 0;
    }, "offline_other"), nullptr, nullptr);
  });
  CHECK_MESSAGE(t.failure_kind() == "I-SM-11", t.failure_text());
}

TEST_CASE("oracle I-SM-11: fires when a cpu goes offline and back under a running stop_machine (cpus=3)") {
  // The mask is the same before and after: only a check as the bit flips sees it.
  SimFixture t({.cpus = 3});
  t.run([] {
    stop_machine(cpu_stop_fn_t([](void*) {
      set_cpu_online(2, false);
      set_cpu_online(2, true);
      return 0;
    }, "offline_and_back"), nullptr, nullptr);
  });
  CHECK_MESSAGE(t.failure_kind() == "I-SM-11", t.failure_text());
  CHECK(t.failure_text().find("changes online state") != std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// I-SM-12: serialization

namespace {
/// cpu1 runs stop_cpus({1}) whose callback busy-waits 10 ms; 1 ms later cpu2 runs stop_cpus({2}).
sim::RunResult run_two_stop_cpus(SimFixture& t, int& calls) {
  return t.run([&calls] {
    auto* a = spawn_on(1, [&calls] {
      const cpumask m = cpumask_of(1);
      stop_cpus(&m, cpu_stop_fn_t([&calls](void*) {
        ++calls;
        busy_loop(ms(10));
        return 0;
      }, "slow"), nullptr);
    }, "a/%u");
    auto* b = spawn_on(2, [&calls] {
      schedule_timeout_uninterruptible(ms(1));
      const cpumask m = cpumask_of(2);
      stop_cpus(&m, counting_fn(calls), nullptr);
    }, "b/%u");
    join_all({a, b});
  });
}
}  // namespace

TEST_CASE("oracle I-SM-12: fires when two stop_cpus run at once without stop_cpus_mutex (cpus=3)") {
  SimFixture t({.cpus = 3});
  t.knobs().stop_cpus_no_mutex = true;
  int calls = 0;
  run_two_stop_cpus(t, calls);
  CHECK_MESSAGE(t.failure_kind() == "I-SM-12", t.failure_text());
}

TEST_CASE("oracle I-SM-12 negative: stop_cpus_mutex serializes two overlapping stop_cpus (cpus=3)") {
  SimFixture t({.cpus = 3});
  int calls = 0;
  const auto r = run_two_stop_cpus(t, calls);
  CHECK_PASSED(t, r);
  CHECK(calls == 2);
}

TEST_CASE("oracle I-SM-12: fires when stop_two_cpus appends while a stop_cpus queue loop runs (random, cpus=4)") {
  // Knob two_works_ignore_in_progress (B1/B15): cpu_stop_queue_two_works skips its check of
  // stop_cpus_in_progress. Needs the two queueing paths to overlap: searched over seeds.
  const auto attempt = [](std::uint64_t seed) {
    SimFixture t({.cpus = 4, .seed = seed, .policy = sim::PolicyKind::Random});
    t.knobs().two_works_ignore_in_progress = true;
    int calls = 0;
    t.run([&calls] {
      auto* a = spawn_on(1, [&calls] { stop_machine(counting_fn(calls), nullptr, nullptr); }, "sm/%u");
      auto* b = spawn_on(2, [&calls] { stop_two_cpus(3, 2, counting_fn(calls, "two"), nullptr); }, "two/%u");
      join_all({a, b});
    });
    return t.failure_kind();
  };
  const std::uint64_t seed = find_seed("I-SM-12", attempt);
  CHECK_MESSAGE(seed != 0, "no seed in 1..200 made stop_two_cpus append inside a stop_cpus loop");
  MESSAGE("first seed: " << seed);
}

// ---------------------------------------------------------------------------------------------
// I-SM-13: consistent queue order

TEST_CASE("oracle I-SM-13: fires when two multi-CPU stops are queued in opposite orders on two CPUs (cpus=3)") {
  // Broken input: two hand-built multi_cpu_stop operations, A and B, queued A,B on cpu1 and
  // B,A on cpu2 through cpu_stop_queue_work, while both CPUs are busy and cannot run them yet.
  SimFixture t({.cpus = 3});
  t.run([] {
    bool s1 = false, s2 = false;
    block_cpu(1, ms(20), s1);
    block_cpu(2, ms(20), s2);
    sleep_until([&] { return s1 && s2; });
    multi_stop_data a, b;
    a.id = 7001;
    b.id = 7002;
    a.num_threads = b.num_threads = 2;
    cpu_stop_work a1, a2, b1, b2;
    for (auto [w, md] : {std::pair{&a1, &a}, std::pair{&a2, &a}, std::pair{&b1, &b}, std::pair{&b2, &b}}) {
      w->fn = cpu_stop_fn_t(multi_cpu_stop, "multi_cpu_stop");
      w->arg = md;
      w->caller = "oracle_test";
    }
    cpu_stop_queue_work(1, &a1);
    cpu_stop_queue_work(1, &b1);
    cpu_stop_queue_work(2, &b2);
    cpu_stop_queue_work(2, &a2);  // B ahead of A here, A ahead of B on cpu1: deadlock
  });
  CHECK_MESSAGE(t.failure_kind() == "I-SM-13", t.failure_text());
}

TEST_CASE("oracle I-SM-13: fires when a stop is queued behind one its stopper already runs, ahead of it elsewhere (cpus=3)") {
  // Broken input: hand-built A is taken off cpu1's queue and runs there (waiting in
  // multi_cpu_stop for its second participant); then B is queued on cpu1 behind it, and on cpu2,
  // still busy, B goes ahead of A. A running counts as first on cpu1: the orders are opposite.
  // The operations outlive the machine: its stoppers still hold them when the body returns.
  multi_stop_data a, b;
  cpu_stop_work a1, a2, b1, b2;
  SimFixture t({.cpus = 3});
  t.run([&] {
    bool s2 = false;
    block_cpu(2, ms(20), s2);
    sleep_until([&] { return s2; });
    for (auto [md, id] : {std::pair{&a, 7101}, std::pair{&b, 7102}}) {
      // What set_state_initial() does: two participants, in PREPARE, acks reset for it.
      md->id = static_cast<std::uint64_t>(id);
      md->num_threads = 2;
      md->last_ack.assign(kernel().nr_cpu_ids, MULTI_STOP_NONE);
      md->participants = cpumask(kernel().nr_cpu_ids);
      md->thread_ack.counter.set_quiet(2);
      md->ack_reset_for = MULTI_STOP_PREPARE;
      md->state.set_quiet(MULTI_STOP_PREPARE);
    }
    for (auto [w, md] : {std::pair{&a1, &a}, std::pair{&a2, &a}, std::pair{&b1, &b}, std::pair{&b2, &b}}) {
      w->fn = cpu_stop_fn_t(multi_cpu_stop, "multi_cpu_stop");
      w->arg = md;
      w->caller = "oracle_test";
    }
    cpu_stop_queue_work(1, &a1);
    schedule_timeout_uninterruptible(ms(1));  // cpu1's stopper takes A and waits in it
    REQUIRE(stopper_of(1)->works.empty());
    cpu_stop_queue_work(1, &b1);
    cpu_stop_queue_work(2, &b2);
    cpu_stop_queue_work(2, &a2);
  });
  CHECK_MESSAGE(t.failure_kind() == "I-SM-13", t.failure_text());
}

TEST_CASE("oracle I-SM-13: fires with knob queue_order_inverted (stop_machine racing stop_two_cpus, random, cpus=4)"
          * doctest::skip()) {
  // Skipped: the knob cannot reach I-SM-13. stop_two_cpus appends both works under both stopper
  // locks and only when stop_cpus_in_progress is clear, so it lands wholly before or wholly after
  // a (reversed) stop_cpus loop, and two stop_cpus loops are serialized by stop_cpus_mutex. Adding
  // two_works_ignore_in_progress (B1/B15) or stop_cpus_no_mutex makes I-SM-12 fire first, at the
  // append itself, before the I-SM-13 queue-order check runs.
  const auto attempt = [](std::uint64_t seed) {
    SimFixture t({.cpus = 4, .seed = seed, .policy = sim::PolicyKind::Random});
    t.knobs().queue_order_inverted = true;
    int calls = 0;
    t.run([&calls] {
      auto* a = spawn_on(1, [&calls] { stop_machine(counting_fn(calls), nullptr, nullptr); }, "sm/%u");
      auto* b = spawn_on(2, [&calls] { stop_two_cpus(0, 3, counting_fn(calls, "two"), nullptr); }, "two/%u");
      join_all({a, b});
    });
    return t.failure_kind();
  };
  CHECK(find_seed("I-SM-13", attempt) != 0);
}

// ---------------------------------------------------------------------------------------------
// I-SM-14: no lost wake-up

TEST_CASE("oracle I-SM-14: fires when queueing a work forgets to wake the stopper (cpus=2)") {
  SimFixture t({.cpus = 2});
  t.knobs().stopper_no_wake = true;
  int calls = 0;
  t.run([&] { stop_one_cpu(1, counting_fn(calls), nullptr); });
  CHECK_MESSAGE(t.failure_kind() == "I-SM-14", t.failure_text());
  CHECK(calls == 0);
}

// ---------------------------------------------------------------------------------------------
// I-SM-15: publication ordering

TEST_CASE("oracle I-SM-15: fires when set_state publishes the state before the ack reset (random, shared, cpus=2)") {
  const auto attempt = [](std::uint64_t seed) {
    SimFixture t({.cpus = 2, .seed = seed, .policy = sim::PolicyKind::Random,
                  .granularity = sim::Granularity::Shared});
    t.knobs().state_publish_early = true;
    int calls = 0;
    t.run([&calls] { stop_machine(counting_fn(calls), nullptr, nullptr); });
    return t.failure_kind();
  };
  const std::uint64_t seed = find_seed("I-SM-15", attempt);
  CHECK_MESSAGE(seed != 0, "no seed in 1..200 let a CPU read the new state before the ack reset");
  MESSAGE("first seed: " << seed);
}

TEST_CASE("oracle I-SM-15 negative: the kernel's reset-then-publish order passes on 20 random seeds (shared, cpus=2)") {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    SimFixture t({.cpus = 2, .seed = seed, .policy = sim::PolicyKind::Random,
                  .granularity = sim::Granularity::Shared});
    int calls = 0;
    const auto r = t.run([&calls] { stop_machine(counting_fn(calls), nullptr, nullptr); });
    CHECK_PASSED(t, r);
    CHECK(calls == 1);
  }
}

// ---------------------------------------------------------------------------------------------
// I-SM-16: atomic callbacks

TEST_CASE("oracle I-SM-16: fires when a stop callback sleeps (schedule_timeout_uninterruptible, cpus=2)") {
  SimFixture t({.cpus = 2});
  t.run([] {
    stop_one_cpu(1, cpu_stop_fn_t([](void*) {
      schedule_timeout_uninterruptible(ms(1));
      return 0;
    }, "sleeps"), nullptr);
  });
  CHECK_MESSAGE(t.failure_kind() == "I-SM-16", t.failure_text());
}

TEST_CASE("oracle I-SM-16: fires when a stop callback blocks on a held mutex (cpus=2)") {
  mutex held{"oracle_test_mutex"};
  SimFixture t({.cpus = 2});
  t.run([&held] {
    mutex_lock(&held);
    stop_one_cpu(1, cpu_stop_fn_t([&held](void*) {
      mutex_lock(&held);
      mutex_unlock(&held);
      return 0;
    }, "blocks"), nullptr);
    mutex_unlock(&held);
  });
  CHECK_MESSAGE(t.failure_kind() == "I-SM-16", t.failure_text());
}

TEST_CASE("oracle I-SM-16: fires when a stop callback leaks a preempt count (cpus=2)") {
  SimFixture t({.cpus = 2});
  t.run([] {
    stop_one_cpu(1, cpu_stop_fn_t([](void*) {
      preempt_disable();
      return 0;
    }, "leaks"), nullptr);
  });
  CHECK_MESSAGE(t.failure_kind() == "I-SM-16", t.failure_text());
}

TEST_CASE("oracle I-SM-16 negative: a stop callback that busy-waits instead of sleeping passes (cpus=2)") {
  SimFixture t({.cpus = 2});
  int calls = 0;
  const auto r = t.run([&] {
    stop_one_cpu(1, cpu_stop_fn_t([&](void*) {
      ++calls;
      busy_loop(ms(1));
      return 0;
    }, "spins"), nullptr);
  });
  CHECK_PASSED(t, r);
  CHECK(calls == 1);
}

// ---------------------------------------------------------------------------------------------
// I-SM-17: liveness

TEST_CASE("oracle I-SM-17: fires when a stop_one_cpu callback never finishes and the caller cannot return (cpus=2)") {
  SimFixture t({.cpus = 2});  // max_time 120 s > the 60 s liveness bound
  // The soft-lockup detector would (rightly) report the busy stopper after ~21.5 s: switch the
  // lockup detectors off so that the liveness oracle is the one under test.
  t.k().cfg.watchdog_thresh = sim::Duration{};
  int ret = 1;
  t.run([&] {
    ret = stop_one_cpu(1, cpu_stop_fn_t([](void*) {
      busy_loop(sim::Duration::ns(100LL * 1'000'000'000));  // unbounded for the bound's purposes
      return 0;
    }, "runs_100s"), nullptr);
  });
  CHECK_MESSAGE(t.failure_kind() == "I-SM-17", t.failure_text());
  CHECK(ret == 1);  // stop_one_cpu never returned
}

TEST_CASE("oracle I-SM-17: fires when a participant never acks PREPARE and stop_machine cannot return (cpus=2)") {
  SimFixture t({.cpus = 2});
  t.k().cfg.watchdog_thresh = sim::Duration{};  // else soft-lockup (after ~21.5 s) fires first
  t.knobs().msm_skip_ack = true;
  int calls = 0;
  t.run([&] { stop_machine(counting_fn(calls), nullptr, nullptr); });
  CHECK_MESSAGE(t.failure_kind() == "I-SM-17", t.failure_text());
  CHECK(calls == 0);
}

// ---------------------------------------------------------------------------------------------
// smpboot (I-SB)

namespace {
/// A minimal non-selfparking descriptor whose threads never have work.
struct idle_desc {
  std::vector<task_struct*> store;
  smp_hotplug_thread ht;
  explicit idle_desc(const char* comm) {
    ht.store = &store;
    ht.thread_should_run = [](unsigned) { return 0; };
    ht.thread_fn = [](unsigned) {};
    ht.thread_comm = comm;
  }
};
}  // namespace

TEST_CASE("oracle I-SB-1: fires when smpboot calls setup twice (cpus=2)") {
  idle_desc d("sbtest/%u");
  SimFixture t({.cpus = 2});
  t.run([&d] {
    kernel().knobs.smpboot_double_setup = true;
    smpboot_register_percpu_thread(&d.ht);
    schedule_timeout_uninterruptible(ms(1));
  });
  CHECK_MESSAGE(t.failure_kind() == "I-SB-1", t.failure_text());
}

TEST_CASE("oracle I-SB-2: fires when an smpboot thread runs on a CPU other than its own (cpus=2)") {
  idle_desc d("sbtest/%u");
  SimFixture t({.cpus = 2});
  t.run([&d] {
    kernel().knobs.smpboot_wrong_cpu = true;
    smpboot_register_percpu_thread(&d.ht);
    schedule_timeout_uninterruptible(ms(1));
  });
  CHECK_MESSAGE(t.failure_kind() == "I-SB-2", t.failure_text());
}

TEST_CASE("oracle I-SB-2 negative: the same registration with correctly bound threads passes (cpus=2)") {
  idle_desc d("sbtest/%u");
  SimFixture t({.cpus = 2});
  const auto r = t.run([&d] {
    smpboot_register_percpu_thread(&d.ht);
    schedule_timeout_uninterruptible(ms(1));
    smpboot_unregister_percpu_thread(&d.ht);
  });
  CHECK_PASSED(t, r);
}

TEST_CASE("oracle I-SB-3: fires when kthread_park returns for a thread that signalled parked but kept running (cpus=2)") {
  // Broken input: a kthread that completes its `parked` completion itself and stays on its CPU
  // instead of going through kthread_parkme().
  SimFixture t({.cpus = 2});
  t.run([] {
    bool running = false;
    auto* liar = kthread_create_on_cpu([&running](void*) {
      running = true;
      while (!kthread_should_park()) busy_loop(us(100));
      complete(&current->kt->parked);
      busy_loop(ms(5));
      return 0;
    }, nullptr, 1, "liar/%u");
    wake_up_process(liar);
    sleep_until([&] { return running; });  // past the kthread_parkme() every new kthread runs first
    kthread_park(liar);
  });
  CHECK_MESSAGE(t.failure_kind() == "I-SB-3", t.failure_text());
}

TEST_CASE("oracle I-SB-3: fires when kthread_park returns before the thread is off-CPU (knob kthread_park_early_return)") {
  const auto attempt = [](std::uint64_t seed) {
    SimFixture t({.cpus = 2, .seed = seed, .policy = sim::PolicyKind::Random});
    t.knobs().kthread_park_early_return = true;
    t.run([] {
      auto* k = kthread_create_on_cpu([](void*) {
        while (!kthread_should_stop()) {
          if (kthread_should_park()) kthread_parkme();
          else busy_loop(us(100));
        }
        return 0;
      }, nullptr, 1, "worker/%u");
      wake_up_process(k);
      schedule_timeout_uninterruptible(ms(1));
      kthread_park(k);
      kthread_unpark(k);
      kthread_stop(k);
    });
    return t.failure_kind();
  };
  CHECK(find_seed("I-SB-3", attempt, 50) != 0);
}

namespace {
sim::RunResult run_park_threads(SimFixture& t, idle_desc& d) {
  return t.run([&d] {
    smpboot_register_percpu_thread(&d.ht);
    auto* hp = spawn_on(0, [] {
      smpboot_park_threads(1);
      smpboot_unpark_threads(1);
    }, "hp/%u");
    join_all({hp});
  });
}
}  // namespace

TEST_CASE("oracle I-SB-4: fires when smpboot_park_threads leaves a non-selfparking thread running (cpus=2)") {
  idle_desc d("sbtest/%u");
  SimFixture t({.cpus = 2});
  t.knobs().smpboot_skip_park = true;
  run_park_threads(t, d);
  CHECK_MESSAGE(t.failure_kind() == "I-SB-4", t.failure_text());
}

TEST_CASE("oracle I-SB-4 negative: smpboot_park_threads then smpboot_unpark_threads passes (cpus=2)") {
  idle_desc d("sbtest/%u");
  SimFixture t({.cpus = 2});
  const auto r = run_park_threads(t, d);
  CHECK_PASSED(t, r);
}

TEST_CASE("oracle I-SB-5: fires when a second thread is created for one (descriptor, cpu) (cpus=2)") {
  idle_desc d("sbtest/%u");
  SimFixture t({.cpus = 2});
  t.run([&d] {
    smpboot_register_percpu_thread(&d.ht);
    kernel().knobs.smpboot_duplicate_create = true;
    smpboot_create_threads(1);
  });
  CHECK_MESSAGE(t.failure_kind() == "I-SB-5", t.failure_text());
}

TEST_CASE("oracle I-SB-5 negative: CREATE_THREADS again for a CPU that has its threads keeps them (cpus=2)") {
  idle_desc d("sbtest/%u");
  SimFixture t({.cpus = 2});
  task_struct* before = nullptr;
  task_struct* after = nullptr;
  const auto r = t.run([&] {
    smpboot_register_percpu_thread(&d.ht);
    before = d.store[1];
    smpboot_create_threads(1);
    after = d.store[1];
  });
  CHECK_PASSED(t, r);
  CHECK(before != nullptr);
  CHECK(before == after);
}

// ---------------------------------------------------------------------------------------------
// lockdep

TEST_CASE("oracle lockdep: fires on a circular lock order (A then B, later B then A, cpus=1)") {
  SimFixture t({.cpus = 1});
  t.run([] {
    mutex a{"oracle_lock_a"}, b{"oracle_lock_b"};
    mutex_lock(&a);
    mutex_lock(&b);
    mutex_unlock(&b);
    mutex_unlock(&a);
    mutex_lock(&b);
    mutex_lock(&a);
    mutex_unlock(&a);
    mutex_unlock(&b);
  });
  CHECK_MESSAGE(t.failure_kind() == "lockdep", t.failure_text());
  CHECK_MESSAGE(t.failure_text().find("circular") != std::string::npos, t.failure_text());
}

TEST_CASE("oracle lockdep negative: the same two locks always taken A then B pass (cpus=1)") {
  SimFixture t({.cpus = 1});
  const auto r = t.run([] {
    mutex a{"oracle_lock_a"}, b{"oracle_lock_b"};
    for (int i = 0; i < 2; ++i) {
      mutex_lock(&a);
      mutex_lock(&b);
      mutex_unlock(&b);
      mutex_unlock(&a);
    }
  });
  CHECK_PASSED(t, r);
}

TEST_CASE("oracle lockdep: fires on recursive locking of one lock class without a nesting annotation (cpus=1)") {
  SimFixture t({.cpus = 1});
  t.run([] {
    raw_spinlock_t l1{"oracle_class"}, l2{"oracle_class"};
    raw_spin_lock(&l1);
    raw_spin_lock(&l2);
    raw_spin_unlock(&l2);
    raw_spin_unlock(&l1);
  });
  CHECK_MESSAGE(t.failure_kind() == "lockdep", t.failure_text());
  CHECK_MESSAGE(t.failure_text().find("recursive") != std::string::npos, t.failure_text());
}

TEST_CASE("oracle lockdep negative: the second lock of a class taken with raw_spin_lock_nested passes (cpus=1)") {
  SimFixture t({.cpus = 1});
  const auto r = t.run([] {
    raw_spinlock_t l1{"oracle_class"}, l2{"oracle_class"};
    raw_spin_lock(&l1);
    raw_spin_lock_nested(&l2, SINGLE_DEPTH_NESTING);
    raw_spin_unlock(&l2);
    raw_spin_unlock(&l1);
  });
  CHECK_PASSED(t, r);
}

TEST_CASE("oracle lockdep: fires when stop_machine_cpuslocked is called without cpu_hotplug_lock (cpus=2)") {
  SimFixture t({.cpus = 2});
  int calls = 0;
  t.run([&] { stop_machine_cpuslocked(counting_fn(calls), nullptr, nullptr); });
  CHECK_MESSAGE(t.failure_kind() == "lockdep", t.failure_text());
}

// ---------------------------------------------------------------------------------------------
// scheduling while atomic (and the BUG in stop_machine_from_inactive_cpu)

TEST_CASE("oracle scheduling-while-atomic: fires when a task sleeps with preemption disabled (cpus=1)") {
  SimFixture t({.cpus = 1});
  t.run([] {
    preempt_disable();
    schedule_timeout_uninterruptible(ms(1));
    preempt_enable();
  });
  CHECK_MESSAGE(t.failure_kind() == "scheduling-while-atomic", t.failure_text());
}

TEST_CASE("oracle scheduling-while-atomic negative: sleeping after preempt_enable passes (cpus=1)") {
  SimFixture t({.cpus = 1});
  const auto r = t.run([] {
    preempt_disable();
    preempt_enable();
    schedule_timeout_uninterruptible(ms(1));
  });
  CHECK_PASSED(t, r);
}

TEST_CASE("oracle BUG: fires when stop_machine_from_inactive_cpu is called on an active CPU (cpus=2)") {
  SimFixture t({.cpus = 2});
  int calls = 0;
  t.run([&] { stop_machine_from_inactive_cpu(counting_fn(calls), nullptr, nullptr); });
  CHECK_MESSAGE(t.failure_kind() == "BUG", t.failure_text());
}

// ---------------------------------------------------------------------------------------------
// hotplug (spec §6.3), lockdep's read recursion and the BUGs of state removal

TEST_CASE("oracle I-HP-1: fires when an online cpu is missing from the present mask (cpus=3)") {
  SimFixture t({.cpus = 3});
  t.run([] {
    cpumask_clear_cpu(2, &kernel().cpu_present_mask);  // hand-built: online but not present
    cpu_down(1);
  });
  CHECK_MESSAGE(t.failure_kind() == "I-HP-1", t.failure_text());
}

TEST_CASE("oracle I-HP-3: fires when an ONLINE-section callback leaves irqs off for the next one (cpus=2)") {
  for (const bool broken : {true, false}) {
    CAPTURE(broken);
    SimFixture t({.cpus = 2});
    const auto r = t.run([broken] {
      // Dynamic states are numbered in install order, so "leak" runs first on the way up.
      cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "test:leak", [broken](unsigned) {
        if (broken) local_irq_disable();
        return 0;
      }, {});
      cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "test:next", [](unsigned) { return 0; }, {});
      cpu_down(1);
      cpu_up(1);
    });
    if (broken) CHECK_MESSAGE(t.failure_kind() == "I-HP-3", t.failure_text());
    else CHECK_PASSED(t, r);
  }
}

TEST_CASE("oracle I-HP-3: fires when an AP state installed through cpuhp/N finds irqs left off there (cpus=2)") {
  // Install-time calls of AP states run in cpuhp/N, held to the ONLINE-section context like an
  // operation's: the second install finds the irqs the first one's startup left off on cpu1.
  SimFixture t({.cpus = 2});
  t.run([] {
    cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "test:leak", [](unsigned cpu) {
      if (cpu == 1) local_irq_disable();
      return 0;
    }, {});
    cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "test:next", [](unsigned) { return 0; }, {});
  });
  CHECK_MESSAGE(t.failure_kind() == "I-HP-3", t.failure_text());
}

TEST_CASE("oracle I-HP-4: fires when a startup runs below the last state of its pass (cpus=2)") {
  SimFixture t({.cpus = 2});
  t.run([] {
    // Hand-built, from inside the pass: the first startup makes the pass look as if it had
    // reached CPUHP_ONLINE already, so the next startup is out of order.
    cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "test:skew", [](unsigned cpu) {
      kernel().cpu->last_invoked[cpu] = CPUHP_ONLINE;
      return 0;
    }, {});
    cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "test:next", [](unsigned) { return 0; }, {});
    cpu_down(1);
    cpu_up(1);
  });
  CHECK_MESSAGE(t.failure_kind() == "I-HP-4", t.failure_text());
}

TEST_CASE("oracle I-HP-5: fires when a hotplug operation starts while another is in flight (cpus=2)") {
  SimFixture t({.cpus = 2});
  t.run([] {
    ++kernel().cpu->ops_in_flight;  // hand-built: an operation that never ended
    cpu_down(1);
  });
  CHECK_MESSAGE(t.failure_kind() == "I-HP-5", t.failure_text());
}

TEST_CASE("oracle I-HP-6: fires when a DYING callback marks the dying cpu online again (cpus=2)") {
  SimFixture t({.cpus = 2});
  t.run([] {
    cpuhp_setup_state_nocalls(CPUHP_AP_CACHECTRL_STARTING, "test:revive", [](unsigned) { return 0; }, [](unsigned cpu) {
      set_cpu_online(cpu, true);
      return 0;
    });
    cpu_down(1);
  });
  CHECK_MESSAGE(t.failure_kind() == "I-HP-6", t.failure_text());
}

TEST_CASE("oracle I-HP-7: fires when cpu_down leaves the dead cpu's cpuhp thread unparked (cpus=2)") {
  for (const bool broken : {true, false}) {
    CAPTURE(broken);
    SimFixture t({.cpus = 2});
    const auto r = t.run([broken] {
      // A BP teardown runs after the CPU died and its threads parked.
      cpuhp_setup_state_nocalls(CPUHP_BP_PREPARE_DYN, "test:unpark", [](unsigned) { return 0; }, [broken](unsigned cpu) {
        if (broken) kthread_unpark(kernel().cpu->st[cpu].thread);
        return 0;
      });
      cpu_down(1);
    });
    if (broken) {
      CHECK_MESSAGE(t.failure_kind() == "I-HP-7", t.failure_text());
      CHECK(t.failure_text().find("running: cpuhp/1") != std::string::npos);
    } else {
      CHECK_PASSED(t, r);
    }
  }
}

TEST_CASE("oracle I-HP-9: fires when stop_machine runs while a hotplug operation is in flight (cpus=2)") {
  SimFixture t({.cpus = 2});
  int calls = 0;
  t.run([&] {
    ++kernel().cpu->ops_in_flight;  // hand-built: a hotplug writer that is not this caller
    stop_machine(counting_fn(calls), nullptr, nullptr);
  });
  CHECK_MESSAGE(t.failure_kind() == "I-HP-9", t.failure_text());
}

TEST_CASE("oracle lockdep: fires when cpus_read_lock is taken twice (a non-recursive read, cpus=2)") {
  SimFixture t({.cpus = 2});
  t.run([] {
    cpus_read_lock();
    cpus_read_lock();
    cpus_read_unlock();
    cpus_read_unlock();
  });
  CHECK_MESSAGE(t.failure_kind() == "lockdep", t.failure_text());
  CHECK(t.failure_text().find("possible recursive locking detected") != std::string::npos);
}

TEST_CASE("oracle BUG: fires when a teardown fails while its state is removed (cpus=2)") {
  for (const bool instance : {false, true}) {
    CAPTURE(instance);
    SimFixture t({.cpus = 2});
    static hlist_node node;
    t.run([instance] {
      if (!instance) {
        const int s = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "test:stuck", [](unsigned) { return 0; },
                                        [](unsigned) { return -EIO; });
        REQUIRE(s >= CPUHP_AP_ONLINE_DYN);
        cpuhp_remove_state(s);
      } else {
        const int s = cpuhp_setup_state_multi(CPUHP_AP_ONLINE_DYN, "test:stuck_multi",
                                              [](unsigned, hlist_node*) { return 0; },
                                              [](unsigned, hlist_node*) { return -EIO; });
        REQUIRE(s >= CPUHP_AP_ONLINE_DYN);
        REQUIRE(cpuhp_state_add_instance(s, &node) == 0);
        cpuhp_state_remove_instance(s, &node);
      }
    });
    CHECK_MESSAGE(t.failure_kind() == "BUG", t.failure_text());
    CHECK(t.failure_text().find("teardown of CPUHP_AP_ONLINE_DYN") != std::string::npos);
  }
}

TEST_CASE("oracle BUG: remove_instance of an invalid state returns -EINVAL after its BUG (cpus=1)") {
  SimFixture t({.cpus = 1});
  static hlist_node node;
  int ret = 0;
  t.run([&] { ret = cpuhp_state_remove_instance(CPUHP_ONLINE + 5, &node); });
  CHECK_MESSAGE(t.failure_kind() == "BUG", t.failure_text());
  CHECK(ret == -EINVAL);
}
