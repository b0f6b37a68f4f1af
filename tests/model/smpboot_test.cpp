// Contract tests for kernel/smpboot.c and the kthread park/unpark/stop rules it relies on
// (spec §2.1-§2.3 and §2.5): callback order and context for a registered smp_hotplug_thread,
// smpboot_park_threads / smpboot_unpark_threads, selfparking threads, unregistration, one thread
// per (descriptor, cpu), and kthread_park / kthread_unpark / kthread_stop.
#include "fixture.hpp"

#include <deque>
#include <sstream>
#include <string>
#include <vector>

using namespace model;

namespace {

constexpr sim::Duration ms(std::int64_t n) { return sim::Duration::ns(n * 1'000'000); }
constexpr sim::Duration us(std::int64_t n) { return sim::Duration::ns(n * 1'000); }

template <class Cond>
void sleep_until(Cond&& cond, sim::Duration step = us(100)) {
  while (!cond()) schedule_timeout_uninterruptible(step);
}

bool is_parked(const task_struct* p) {
  return p->state == TASK_PARKED && !p->on_cpu.peek() && (p->kt->flags & KTHREAD_SHOULD_PARK) != 0;
}

/// An smp_hotplug_thread with every callback, recording what ran where. thread_should_run
/// reports a per-CPU watched flag that the test sets before waking the thread from the store.
struct recording_desc {
  std::string name;
  unsigned nr;
  std::vector<task_struct*> store;
  smp_hotplug_thread ht;
  std::deque<sim::Watched<int>> pending;  // thread_fn requested on cpu
  std::vector<int> creates, setups, fns, parks, unparks, cleanups;
  std::vector<int> cleanup_online, cleanup_ran_on;
  std::vector<std::string>* order = nullptr;  // shared log of park/unpark callbacks
  task_struct* registrar = nullptr;           // the task expected to run create()
  completion fn_done{"test.fn_done"};
  completion unpark_done{"test.unpark_done"};
  int bad_context = 0;  // callbacks that ran on a wrong CPU or task, or in a wrong state

  recording_desc(std::string n, unsigned cpus, bool selfparking = false)
      : name(std::move(n)), nr(cpus), creates(cpus), setups(cpus), fns(cpus), parks(cpus), unparks(cpus),
        cleanups(cpus), cleanup_online(cpus, -1), cleanup_ran_on(cpus, -1) {
    for (unsigned c = 0; c < cpus; ++c) pending.emplace_back(0, "test.pending");
    ht.store = &store;
    ht.selfparking = selfparking;
    ht.thread_comm = name + "/%u";
    ht.thread_should_run = [this](unsigned cpu) {
      in_thread(cpu, "thread_should_run");
      if (preempt_count() == 0) ++bad_context;  // called with preemption disabled
      return pending[cpu].load();
    };
    ht.thread_fn = [this](unsigned cpu) {
      in_thread(cpu, "thread_fn");
      if (setups[cpu] != 1 || preempt_count() != 0 || current->state != TASK_RUNNING) ++bad_context;
      pending[cpu].store(0);
      ++fns[cpu];
      complete(&fn_done);
    };
    ht.create = [this](unsigned cpu) {
      // From the creating context, after the new thread parked and left the CPU.
      task_struct* t = store[cpu];
      if (t == nullptr || t == static_cast<task_struct*>(current) || current != registrar || !is_parked(t) ||
          setups[cpu] != 0)
        ++bad_context;
      ++creates[cpu];
    };
    ht.setup = [this](unsigned cpu) {
      in_thread(cpu, "setup");
      if (fns[cpu] != 0) ++bad_context;
      ++setups[cpu];
    };
    ht.cleanup = [this](unsigned cpu, bool online) {
      if (store[cpu] != static_cast<task_struct*>(current)) ++bad_context;
      ++cleanups[cpu];
      cleanup_online[cpu] = online ? 1 : 0;
      cleanup_ran_on[cpu] = static_cast<int>(smp_processor_id());
    };
    ht.park = [this](unsigned cpu) {
      in_thread(cpu, "park");
      ++parks[cpu];
      if (order) order->push_back(fmt::format("park {}/{}", name, cpu));
    };
    ht.unpark = [this](unsigned cpu) {
      in_thread(cpu, "unpark");
      ++unparks[cpu];
      if (order) order->push_back(fmt::format("unpark {}/{}", name, cpu));
      complete(&unpark_done);
    };
  }

  void in_thread(unsigned cpu, const char*) {
    if (smp_processor_id() != cpu || store[cpu] != static_cast<task_struct*>(current)) ++bad_context;
  }

  /// Asks the thread of `cpu` to run thread_fn once and waits until it did.
  void kick_and_wait(unsigned cpu) {
    const int before = fns[cpu];
    pending[cpu].store(1);
    wake_up_process(store[cpu]);
    while (fns[cpu] == before) wait_for_completion(&fn_done);
  }
};

int count_tasks_named(const std::string& comm) {
  int n = 0;
  for (const auto& t : kernel().tasks)
    if (t->comm == comm && t->state != TASK_DEAD) ++n;
  return n;
}

void check_register_contract(unsigned n) {
  CAPTURE(n);
  recording_desc d("sbt", n);
  SimFixture t({.cpus = n});
  bool finished = false;
  const auto r = t.run([&] {
    d.registrar = current;
    REQUIRE(smpboot_register_percpu_thread(&d.ht) == 0);
    for (unsigned c = 0; c < n; ++c) {
      REQUIRE(d.store[c] != nullptr);
      CHECK(d.store[c]->comm == fmt::format("sbt/{}", c));
      CHECK(task_cpu(d.store[c]) == c);
      CHECK(d.creates[c] == 1);
    }
    // thread_fn runs when thread_should_run says so, on its own CPU.
    for (unsigned c = 0; c < n; ++c) {
      d.pending[c].store(1);
      wake_up_process(d.store[c]);
    }
    for (unsigned c = 0; c < n; ++c) wait_for_completion(&d.fn_done);
    // A wake-up without a request does not run thread_fn.
    wake_up_process(d.store[0]);
    schedule_timeout_uninterruptible(ms(1));
    for (unsigned c = 0; c < n; ++c) {
      CHECK(d.setups[c] == 1);
      CHECK(d.fns[c] == 1);
      CHECK(d.parks[c] == 0);
      CHECK(d.unparks[c] == 0);
    }
    smpboot_unregister_percpu_thread(&d.ht);
    for (unsigned c = 0; c < n; ++c) {
      CHECK(d.cleanups[c] == 1);  // setup ran on every CPU
      CHECK(d.cleanup_online[c] == 1);
      CHECK(d.store[c] == nullptr);
    }
    finished = true;
  });
  CHECK_PASSED(t, r);
  CHECK(finished);
  CHECK(d.bad_context == 0);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// smp_hotplug_thread callbacks (§2.1-§2.3)

TEST_CASE("smpboot register: create in the registering context after the park, setup once per cpu before the first "
          "thread_fn, thread_fn on its cpu when asked, cleanup on unregister (cpus=1)") {
  check_register_contract(1);
}

TEST_CASE("smpboot register: create in the registering context after the park, setup once per cpu before the first "
          "thread_fn, thread_fn on its cpu when asked, cleanup on unregister (cpus=2)") {
  check_register_contract(2);
}

TEST_CASE("smpboot register: create in the registering context after the park, setup once per cpu before the first "
          "thread_fn, thread_fn on its cpu when asked, cleanup on unregister (cpus=4)") {
  check_register_contract(4);
}

TEST_CASE("smpboot register: create in the registering context after the park, setup once per cpu before the first "
          "thread_fn, thread_fn on its cpu when asked, cleanup on unregister (cpus=64)") {
  check_register_contract(64);
}

TEST_CASE("smpboot park/unpark threads: park then unpark callbacks run on the cpu, the thread is parked in between and "
          "runs thread_fn again after (cpus=2)") {
  recording_desc d("sbt", 2);
  SimFixture t({.cpus = 2});
  bool finished = false;
  const auto r = t.run([&] {
    d.registrar = current;
    REQUIRE(smpboot_register_percpu_thread(&d.ht) == 0);
    d.kick_and_wait(0);
    d.kick_and_wait(1);  // both threads ACTIVE: setup has run
    task_struct* const t1 = d.store[1];
    auto* hp = spawn_on(0, [&] {
      CHECK(smpboot_park_threads(1) == 0);
      CHECK(d.parks[1] == 1);
      CHECK(d.parks[0] == 0);
      CHECK(is_parked(t1));
      CHECK_FALSE(is_parked(d.store[0]));  // other CPUs' threads are not touched
      CHECK(smpboot_unpark_threads(1) == 0);
      CHECK((t1->kt->flags & KTHREAD_SHOULD_PARK) == 0);
      wait_for_completion(&d.unpark_done);
      CHECK(d.unparks[1] == 1);
      CHECK(d.unparks[0] == 0);
    }, "hp/%u");
    join_all({hp});
    CHECK(t1->state != TASK_PARKED);
    d.kick_and_wait(1);
    CHECK(d.fns[1] == 2);
    CHECK(d.setups[1] == 1);  // no second setup after an unpark
    CHECK(d.store[1] == t1);
    smpboot_unregister_percpu_thread(&d.ht);
    finished = true;
  });
  CHECK_PASSED(t, r);
  CHECK(finished);
  CHECK(d.bad_context == 0);
}

TEST_CASE("smpboot park threads: descriptors park tail-to-head of the list (oldest registration first) (cpus=2)") {
  recording_desc a("old", 2), b("new", 2);
  std::vector<std::string> order;
  a.order = b.order = &order;
  SimFixture t({.cpus = 2});
  const auto r = t.run([&] {
    a.registrar = b.registrar = current;
    REQUIRE(smpboot_register_percpu_thread(&a.ht) == 0);
    REQUIRE(smpboot_register_percpu_thread(&b.ht) == 0);
    a.kick_and_wait(1);
    b.kick_and_wait(1);
    auto* hp = spawn_on(0, [&] {
      smpboot_park_threads(1);
      smpboot_unpark_threads(1);
    }, "hp/%u");
    join_all({hp});
    wait_for_completion(&a.unpark_done);
    wait_for_completion(&b.unpark_done);
  });
  CHECK_PASSED(t, r);
  REQUIRE(order.size() == 4);
  CHECK(order[0] == "park old/1");
  CHECK(order[1] == "park new/1");
  CHECK(a.bad_context == 0);
  CHECK(b.bad_context == 0);
}

TEST_CASE("smpboot selfparking: register leaves the threads parked, smpboot_park/unpark_threads leave them alone, the "
          "owner unparks them (cpus=2)") {
  recording_desc s("self", 2, /*selfparking=*/true);
  SimFixture t({.cpus = 2});
  bool finished = false;
  const auto r = t.run([&] {
    s.registrar = current;
    REQUIRE(smpboot_register_percpu_thread(&s.ht) == 0);
    CHECK(is_parked(s.store[0]));
    CHECK(is_parked(s.store[1]));
    auto* hp = spawn_on(0, [&] {
      smpboot_unpark_threads(1);
      CHECK(is_parked(s.store[1]));  // not ours to unpark
    }, "hp/%u");
    join_all({hp});
    kthread_unpark(s.store[1]);  // the owner does it
    s.kick_and_wait(1);
    CHECK(s.setups[1] == 1);
    auto* hp2 = spawn_on(0, [&] {
      smpboot_park_threads(1);
      CHECK((s.store[1]->kt->flags & KTHREAD_SHOULD_PARK) == 0);
      CHECK(s.parks[1] == 0);
    }, "hp2/%u");
    join_all({hp2});
    s.kick_and_wait(1);  // still running normally
    CHECK(s.fns[1] == 2);
    finished = true;
  });
  CHECK_PASSED(t, r);
  CHECK(finished);
  CHECK(s.bad_context == 0);
}

TEST_CASE("smpboot unregister: cleanup runs iff setup ran (selfparking, only cpu1 ever unparked) (cpus=2)") {
  recording_desc s("self", 2, /*selfparking=*/true);
  SimFixture t({.cpus = 2});
  const auto r = t.run([&] {
    s.registrar = current;
    REQUIRE(smpboot_register_percpu_thread(&s.ht) == 0);
    kthread_unpark(s.store[1]);
    s.kick_and_wait(1);
    smpboot_unregister_percpu_thread(&s.ht);
  });
  CHECK_PASSED(t, r);
  CHECK(s.setups[0] == 0);
  CHECK(s.cleanups[0] == 0);
  CHECK(s.setups[1] == 1);
  CHECK(s.cleanups[1] == 1);
  CHECK(s.cleanup_online[1] == 1);
  CHECK(s.fns[0] == 0);
  CHECK(s.bad_context == 0);
}

TEST_CASE("smpboot unregister: an offline cpu's thread is stopped on an online cpu, where cleanup gets online=false (cpus=3)") {
  // kthread_stop unparks the thread bound to its dead CPU; the wake-up cannot place it there
  // (select_task_rq -> select_fallback_rq), so cleanup runs on another CPU (spec §6.2 I-SB-2).
  recording_desc s("desc", 3);
  SimFixture t({.cpus = 3});
  const auto r = t.run([&] {
    s.registrar = current;
    REQUIRE(smpboot_register_percpu_thread(&s.ht) == 0);
    s.kick_and_wait(1);
    REQUIRE(cpu_down(1) == 0);
    smpboot_unregister_percpu_thread(&s.ht);
    CHECK(!cpu_online(1));
  });
  CHECK_PASSED(t, r);
  CHECK(s.cleanups[1] == 1);
  CHECK(s.cleanup_online[1] == 0);
  CHECK(s.cleanup_ran_on[1] != 1);
  CHECK(s.cleanup_ran_on[1] >= 0);
  CHECK(s.bad_context == 0);
}

TEST_CASE("smpboot threads: one thread per (descriptor, cpu), the same task across a park/unpark cycle and a repeated "
          "CREATE_THREADS (cpus=4)") {
  recording_desc d("sbt", 4);
  SimFixture t({.cpus = 4});
  const auto r = t.run([&] {
    d.registrar = current;
    REQUIRE(smpboot_register_percpu_thread(&d.ht) == 0);
    d.kick_and_wait(2);
    const std::vector<task_struct*> before = d.store;
    auto* hp = spawn_on(0, [&] {
      for (int round = 0; round < 2; ++round) {
        smpboot_park_threads(2);
        CHECK(smpboot_create_threads(2) == 0);  // slot already set: nothing new
        smpboot_unpark_threads(2);
        wait_for_completion(&d.unpark_done);
      }
    }, "hp/%u");
    join_all({hp});
    d.kick_and_wait(2);
    CHECK(d.store == before);
    for (unsigned c = 0; c < 4; ++c) CHECK(count_tasks_named(fmt::format("sbt/{}", c)) == 1);
    CHECK(d.creates[2] == 1);
    CHECK(d.setups[2] == 1);
    CHECK(d.parks[2] == 2);
    CHECK(d.unparks[2] == 2);
  });
  CHECK_PASSED(t, r);
  CHECK(d.bad_context == 0);
}

TEST_CASE("smpboot stoppers: migration/N is selfparking and smpboot_park_threads leaves it running (cpus=2)") {
  SimFixture t({.cpus = 2});
  int calls = 0;
  const auto r = t.run([&] {
    auto* hp = spawn_on(0, [] { smpboot_park_threads(1); }, "hp/%u");
    join_all({hp});
    CHECK((stopper_of(1)->thread->kt->flags & KTHREAD_SHOULD_PARK) == 0);
    CHECK(stopper_of(1)->enabled);
    CHECK(stop_one_cpu(1, cpu_stop_fn_t([&](void*) {
      ++calls;
      return 0;
    }, "count"), nullptr) == 0);
    auto* hp2 = spawn_on(0, [] { smpboot_unpark_threads(1); }, "hp2/%u");
    join_all({hp2});
  });
  CHECK_PASSED(t, r);
  CHECK(calls == 1);
}

// ---------------------------------------------------------------------------------------------
// kthread park / unpark / stop (§2.5)

namespace {
/// A kthread on `cpu` that busy-works in small slices and parks when asked.
task_struct* start_worker(unsigned cpu, int& iterations, int result = 0) {
  auto* w = kthread_create_on_cpu([&iterations, result](void*) {
    while (!kthread_should_stop()) {
      if (kthread_should_park()) {
        kthread_parkme();
        continue;
      }
      ++iterations;
      busy_loop(us(50));
    }
    return result;
  }, nullptr, cpu, "worker/%u");
  wake_up_process(w);
  return w;
}
}  // namespace

TEST_CASE("kthread_park: returns 0 only once the thread is TASK_PARKED and off its cpu (20 random seeds, cpus=2)") {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    SimFixture t({.cpus = 2, .seed = seed, .policy = sim::PolicyKind::Random});
    int iterations = 0;
    bool parked_on_return = false;
    const auto r = t.run([&] {
      auto* w = start_worker(1, iterations);
      sleep_until([&] { return iterations > 0; });
      CHECK(kthread_park(w) == 0);
      parked_on_return = w->state == TASK_PARKED && !w->on_cpu.peek();
      kthread_stop(w);
    });
    CHECK_PASSED(t, r);
    CHECK(parked_on_return);
  }
}

TEST_CASE("kthread_park: a second park while SHOULD_PARK is set returns -EBUSY, warns once, and the thread stays parked (cpus=2)") {
  SimFixture t({.cpus = 2, .capture_trace = true});
  int iterations = 0;
  int first = 1, second = 0, third = 0;
  bool still_parked = false;
  const auto r = t.run([&] {
    auto* w = start_worker(1, iterations);
    sleep_until([&] { return iterations > 0; });
    first = kthread_park(w);
    second = kthread_park(w);
    third = kthread_park(w);
    still_parked = is_parked(w);
    kthread_unpark(w);
    kthread_stop(w);
  });
  CHECK_PASSED(t, r);
  CHECK(first == 0);
  CHECK(second == -EBUSY);
  CHECK(third == -EBUSY);
  CHECK(still_parked);
  // WARN_ON_ONCE: the first -EBUSY warns, the second does not.
  const std::string tr = t.trace();
  const auto at = tr.find("kthread.warn site=kthread_park:again");
  CHECK(at != std::string::npos);
  CHECK(tr.find("kthread.warn site=kthread_park:again", at + 1) == std::string::npos);
}

TEST_CASE("kthread_park: parking a thread that has exited returns -ENOSYS with a warning (cpus=2)") {
  SimFixture t({.cpus = 2, .capture_trace = true});
  int ret = 0;
  const auto r = t.run([&] {
    auto* w = spawn_on(1, [] {});
    join_all({w});
    sleep_until([&] { return w->state == TASK_DEAD; });
    ret = kthread_park(w);
  });
  CHECK_PASSED(t, r);
  CHECK(ret == -ENOSYS);
  CHECK(t.trace().find("kthread.warn site=kthread_park:exiting") != std::string::npos);
}

TEST_CASE("kthread_park: a thread parking itself only sets the flag, kthread_parkme then parks it (cpus=2)") {
  SimFixture t({.cpus = 2});
  int self_ret = 1;
  bool flag_after = false;
  bool resumed = false;
  const auto r = t.run([&] {
    auto* w = kthread_create_on_cpu([&](void*) {
      self_ret = kthread_park(current);
      flag_after = kthread_should_park();
      kthread_parkme();
      resumed = true;
      return 0;
    }, nullptr, 1, "selfpark/%u");
    wake_up_process(w);
    sleep_until([&] { return w->state == TASK_PARKED && !w->on_cpu.peek(); });
    CHECK_FALSE(resumed);
    kthread_unpark(w);
    wait_for_completion(&w->kt->exited);
  });
  CHECK_PASSED(t, r);
  CHECK(self_ret == 0);
  CHECK(flag_after);
  CHECK(resumed);
}

TEST_CASE("kthread_unpark: unparking a thread that is not parked is a no-op (it does not wake a sleeper) (cpus=2)") {
  SimFixture t({.cpus = 2, .capture_trace = true});
  int wakeups = 0;
  const auto r = t.run([&] {
    auto* w = kthread_create_on_cpu([&](void*) {
      for (;;) {
        set_current_state(TASK_INTERRUPTIBLE);
        if (kthread_should_stop()) break;
        schedule();
        ++wakeups;
      }
      set_current_state(TASK_RUNNING);
      return 0;
    }, nullptr, 1, "sleeper/%u");
    kthread_set_per_cpu(w, 1);
    wake_up_process(w);
    sleep_until([&] { return w->state == TASK_INTERRUPTIBLE && !w->on_cpu.peek(); });
    const int before = wakeups;
    kthread_unpark(w);
    CHECK(w->state == TASK_INTERRUPTIBLE);
    CHECK_FALSE(w->on_rq);
    CHECK((w->kt->flags & KTHREAD_SHOULD_PARK) == 0);
    schedule_timeout_uninterruptible(ms(1));
    CHECK(wakeups == before);
    kthread_stop(w);
  });
  CHECK_PASSED(t, r);
  // Nothing was done: no unpark (nor a failed re-bind of the per-CPU thread) was traced.
  std::istringstream lines(t.trace());
  int unpark_events = 0;
  for (std::string line; std::getline(lines, line);)
    if (line.find("kthread.unpark") != std::string::npos && line.find("sleeper/1") != std::string::npos) ++unpark_events;
  CHECK(unpark_events == 0);
}

TEST_CASE("kthread_stop: returns the thread function's result (cpus=2)") {
  SimFixture t({.cpus = 2});
  int iterations = 0;
  int ret = 0;
  const auto r = t.run([&] {
    auto* w = start_worker(1, iterations, 42);
    sleep_until([&] { return iterations > 0; });
    ret = kthread_stop(w);
  });
  CHECK_PASSED(t, r);
  CHECK(ret == 42);
}

TEST_CASE("kthread_stop: a parked thread is unparked and stopped and its result returned (cpus=2)") {
  SimFixture t({.cpus = 2});
  int iterations = 0;
  int ret = 0;
  const auto r = t.run([&] {
    auto* w = start_worker(1, iterations, 7);
    sleep_until([&] { return iterations > 0; });
    REQUIRE(kthread_park(w) == 0);
    ret = kthread_stop(w);
  });
  CHECK_PASSED(t, r);
  CHECK(ret == 7);
}

TEST_CASE("kthread_stop: a thread that never ran returns -EINTR without calling its function (cpus=2)") {
  SimFixture t({.cpus = 2});
  bool ran = false;
  int ret = 0;
  const auto r = t.run([&] {
    auto* w = kthread_create_on_cpu([&](void*) {
      ran = true;
      return 0;
    }, nullptr, 1, "never/%u");
    ret = kthread_stop(w);
  });
  CHECK_PASSED(t, r);
  CHECK(ret == -EINTR);
  CHECK_FALSE(ran);
}

TEST_CASE("kthread: a plain wake_up_process does not wake a TASK_PARKED thread, kthread_unpark does (cpus=2)") {
  SimFixture t({.cpus = 2});
  int iterations = 0;
  int woke = 1;
  bool stayed_parked = false;
  int frozen_delta = -1;
  bool resumed = false;
  const auto r = t.run([&] {
    auto* w = start_worker(1, iterations);
    sleep_until([&] { return iterations > 0; });
    REQUIRE(kthread_park(w) == 0);
    const int at_park = iterations;
    woke = wake_up_process(w);
    schedule_timeout_uninterruptible(ms(2));
    stayed_parked = is_parked(w);
    frozen_delta = iterations - at_park;
    kthread_unpark(w);
    sleep_until([&] { return iterations > at_park; });
    resumed = true;
    kthread_stop(w);
  });
  CHECK_PASSED(t, r);
  CHECK(woke == 0);
  CHECK(stayed_parked);
  CHECK(frozen_delta == 0);
  CHECK(resumed);
}
