#include "fixture.hpp"

using namespace model;

TEST_CASE("boot: every online cpu has an enabled stopper and is active (cpus=4)") {
  SimFixture t({.cpus = 4});
  bool checked = false;
  const auto r = t.run([&] {
    for (unsigned c = 0; c < 4; ++c) {
      CHECK(cpu_online(c));
      CHECK(cpu_active(c));
      CHECK(stopper_of(c)->enabled);
      REQUIRE(stopper_of(c)->thread != nullptr);
      CHECK(stopper_of(c)->thread->comm == fmt::format("migration/{}", c));
    }
    CHECK(num_online_cpus() == 4);
    checked = true;
  });
  CHECK_PASSED(t, r);
  CHECK(checked);
}

TEST_CASE("stop_one_cpu: fn runs once on the target cpu and its return value comes back (cpus=4)") {
  SimFixture t({.cpus = 4});
  int calls = 0;
  unsigned ran_on = 99;
  int ret = 0;
  const auto r = t.run([&] {
    ret = stop_one_cpu(2, cpu_stop_fn_t([&](void*) {
      ++calls;
      ran_on = smp_processor_id();
      CHECK(preempt_count() > 0);
      return -EIO;
    }, "ret_eio"), nullptr);
  });
  CHECK_PASSED(t, r);
  CHECK(calls == 1);
  CHECK(ran_on == 2);
  CHECK(ret == -EIO);
}

TEST_CASE("stop_machine: fn(NULL cpus) runs exactly once, on the lowest online cpu, with every cpu's irqs off (cpus=4)") {
  SimFixture t({.cpus = 4});
  int calls = 0;
  unsigned ran_on = 99;
  bool all_off = true;
  int ret = 1;
  const auto r = t.run([&] {
    ret = stop_machine(cpu_stop_fn_t([&](void*) {
      ++calls;
      ran_on = smp_processor_id();
      for (unsigned c = 0; c < 4; ++c) all_off &= cpu_rq(c)->irqs_disabled;
      return 0;
    }, "count"), nullptr, nullptr);
  });
  CHECK_PASSED(t, r);
  CHECK(ret == 0);
  CHECK(calls == 1);
  CHECK(ran_on == 0);
  CHECK(all_off);
}

// ---------------------------------------------------------------------------------------------
// Contracts of spec §1.3 / §1.6 on 1, 2, 4 and 64 CPUs.

TEST_CASE("stop_one_cpu: fn's return value comes back, 0 stays 0, on every cpu (cpus=1,2,4,64)") {
  for (unsigned n : {1u, 2u, 4u, 64u}) {
    CAPTURE(n);
    SimFixture t({.cpus = n});
    std::vector<int> rets(n, 99), calls(n, 0);
    const auto r = t.run([&] {
      for (unsigned c = 0; c < n; ++c) {
        rets[c] = stop_one_cpu(c, cpu_stop_fn_t([&, c](void*) {
          ++calls[smp_processor_id()];
          return c % 2 == 0 ? 0 : -static_cast<int>(c);
        }, "by_cpu"), nullptr);
      }
    });
    CHECK_PASSED(t, r);
    for (unsigned c = 0; c < n; ++c) {
      CHECK(calls[c] == 1);
      CHECK(rets[c] == (c % 2 == 0 ? 0 : -static_cast<int>(c)));
    }
  }
}

TEST_CASE("stop_one_cpu: a disabled stopper gives -ENOENT and fn never runs (cpus=4, online=2)") {
  SimFixture t({.cpus = 4, .online = 2});
  int calls = 0, ret = 0;
  const auto r = t.run([&] {
    CHECK_FALSE(stopper_of(3)->enabled);
    ret = stop_one_cpu(3, cpu_stop_fn_t([&](void*) { ++calls; return 0; }, "count"), nullptr);
  });
  CHECK_PASSED(t, r);
  CHECK(ret == -ENOENT);
  CHECK(calls == 0);
}

TEST_CASE("stop_one_cpu_nowait: true runs fn exactly once later, a disabled target gives false and never runs it") {
  SimFixture t({.cpus = 4, .online = 3});
  int calls = 0;
  bool ok = false, rejected = true;
  cpu_stop_work buf1, buf2;
  const auto r = t.run([&] {
    ok = stop_one_cpu_nowait(1, cpu_stop_fn_t([&](void*) { ++calls; return 0; }, "count"), nullptr, &buf1);
    rejected = stop_one_cpu_nowait(3, cpu_stop_fn_t([&](void*) { calls += 100; return 0; }, "count"), nullptr, &buf2);
  });
  CHECK_PASSED(t, r);
  CHECK(ok);
  CHECK_FALSE(rejected);
  CHECK(calls == 1);
}

TEST_CASE("stop_one_cpu_nowait: callable with irqs disabled, fn runs on the target's stopper (cpus=2)") {
  SimFixture t({.cpus = 2});
  unsigned ran_on = 99;
  std::string comm;
  cpu_stop_work buf;
  const auto r = t.run([&] {
    const unsigned long flags = local_irq_save();
    CHECK(stop_one_cpu_nowait(1, cpu_stop_fn_t([&](void*) {
      ran_on = smp_processor_id();
      comm = static_cast<task_struct*>(current)->comm;
      return 0;
    }, "where"), nullptr, &buf));
    local_irq_restore(flags);
    schedule_timeout_uninterruptible(sim::Duration::ns(1'000'000));
  });
  CHECK_PASSED(t, r);
  CHECK(ran_on == 1);
  CHECK(comm == "migration/1");
}

TEST_CASE("stop_two_cpus: fn runs once, on the first cpu named, even when it is the higher one (cpus=4)") {
  SimFixture t({.cpus = 4});
  std::vector<unsigned> ran_on;
  int ret = 0;
  bool partner_irqs_off = false;
  const auto r = t.run([&] {
    ret = stop_two_cpus(3, 1, cpu_stop_fn_t([&](void*) {
      ran_on.push_back(smp_processor_id());
      partner_irqs_off = cpu_rq(1)->irqs_disabled;
      return -EIO;
    }, "ret_eio"), nullptr);
  });
  CHECK_PASSED(t, r);
  CHECK(ran_on == std::vector<unsigned>{3});
  CHECK(partner_irqs_off);
  CHECK(ret == -EIO);
}

TEST_CASE("stop_two_cpus: -ENOENT and nothing queued if either stopper is disabled (cpus=4, online=3)") {
  SimFixture t({.cpus = 4, .online = 3});
  int calls = 0, ret = 0;
  const auto r = t.run([&] {
    ret = stop_two_cpus(0, 3, cpu_stop_fn_t([&](void*) { ++calls; return 0; }, "count"), nullptr);
    CHECK(stopper_of(0)->works.empty());
  });
  CHECK_PASSED(t, r);
  CHECK(ret == -ENOENT);
  CHECK(calls == 0);
}

TEST_CASE("stop_machine: with a cpumask, fn runs once on each listed online cpu while all others spin with irqs off") {
  for (unsigned n : {2u, 4u, 64u}) {
    CAPTURE(n);
    SimFixture t({.cpus = n});
    std::vector<int> calls(n, 0);
    bool others_off = true, others_in_loop = true;
    const auto r = t.run([&] {
      cpumask mask(n);
      for (unsigned c = 1; c < n; c += 2) cpumask_set_cpu(c, &mask);
      CHECK(stop_machine(cpu_stop_fn_t([&](void*) {
        ++calls[smp_processor_id()];
        for (unsigned c = 0; c < n; ++c) {
          others_off &= cpu_rq(c)->irqs_disabled;
          others_in_loop &= cpu_rq(c)->msm_cur >= MULTI_STOP_DISABLE_IRQ;
        }
        return 0;
      }, "count"), nullptr, &mask) == 0);
    });
    CHECK_PASSED(t, r);
    for (unsigned c = 0; c < n; ++c) CHECK(calls[c] == (c % 2 == 1 ? 1 : 0));
    CHECK(others_off);
    CHECK(others_in_loop);
  }
}

TEST_CASE("stop_machine: a listed cpu that is offline never runs fn (cpus=4, online=2)") {
  SimFixture t({.cpus = 4, .online = 2});
  std::vector<int> calls(4, 0);
  const auto r = t.run([&] {
    cpumask mask(4);
    for (unsigned c = 0; c < 4; ++c) cpumask_set_cpu(c, &mask);
    CHECK(stop_machine(cpu_stop_fn_t([&](void*) { ++calls[smp_processor_id()]; return 0; }, "count"), nullptr,
                       &mask) == 0);
  });
  CHECK_PASSED(t, r);
  CHECK(calls == std::vector<int>{1, 1, 0, 0});
}

TEST_CASE("stop_machine: the result is some non-zero fn return, else 0 (cpus=4)") {
  SimFixture t({.cpus = 4});
  int ret = 0;
  const auto r = t.run([&] {
    cpumask all(4);
    for (unsigned c = 0; c < 4; ++c) cpumask_set_cpu(c, &all);
    ret = stop_machine(cpu_stop_fn_t([](void*) { return smp_processor_id() == 2 ? -EBUSY : 0; }, "busy_on_2"), nullptr,
                       &all);
  });
  CHECK_PASSED(t, r);
  CHECK(ret == -EBUSY);
}

TEST_CASE("stop_machine: single cpu runs fn directly through a one-participant multi_cpu_stop (cpus=1)") {
  SimFixture t({.cpus = 1});
  int calls = 0;
  const auto r = t.run([&] {
    CHECK(stop_machine(cpu_stop_fn_t([&](void*) {
      ++calls;
      CHECK(irqs_disabled());
      return 0;
    }, "count"), nullptr, nullptr) == 0);
  });
  CHECK_PASSED(t, r);
  CHECK(calls == 1);
}

TEST_CASE("stop_machine_cpuslocked: before cpu_stop_init fn is called directly with irqs off (cpus=1)") {
  SimFixture t({.cpus = 1});
  int ret = 0;
  bool off = false;
  t.k().boot_hook = [&] {
    kernel().sm->stop_machine_initialized = false;  // as early boot, before the early initcall
    ret = stop_machine_cpuslocked(cpu_stop_fn_t([&](void*) { off = irqs_disabled(); return 7; }, "seven"), nullptr,
                                  nullptr);
    CHECK_FALSE(irqs_disabled());
    kernel().sm->stop_machine_initialized = true;
  };
  const auto r = t.run([] {});
  CHECK_PASSED(t, r);
  CHECK(ret == 7);
  CHECK(off);
}

TEST_CASE("stop_cpus: -ENOENT only when no cpu in the mask accepted, rejected cpus are skipped (cpus=4, online=2)") {
  SimFixture t({.cpus = 4, .online = 2});
  int none = 0, some = 1, calls = 0;
  const auto r = t.run([&] {
    cpumask offline(4);
    cpumask_set_cpu(2, &offline);
    cpumask_set_cpu(3, &offline);
    none = stop_cpus(&offline, cpu_stop_fn_t([&](void*) { ++calls; return 0; }, "count"), nullptr);
    cpumask mixed = offline;
    cpumask_set_cpu(1, &mixed);
    some = stop_cpus(&mixed, cpu_stop_fn_t([&](void*) { ++calls; return 0; }, "count"), nullptr);
  });
  CHECK_PASSED(t, r);
  CHECK(none == -ENOENT);
  CHECK(some == 0);
  CHECK(calls == 1);
}

TEST_CASE("stop_core_cpuslocked: every SMT sibling runs fn (cpus=4, smt=2)") {
  SimFixture t({.cpus = 4, .smt = 2});
  std::vector<int> calls(4, 0);
  const auto r = t.run([&] {
    cpus_read_lock();
    CHECK(stop_core_cpuslocked(3, cpu_stop_fn_t([&](void*) { ++calls[smp_processor_id()]; return 0; }, "count"),
                               nullptr) == 0);
    cpus_read_unlock();
  });
  CHECK_PASSED(t, r);
  CHECK(calls == std::vector<int>{0, 0, 1, 1});
}

TEST_CASE("stop_machine_from_inactive_cpu: the local cpu returns with irqs still off and fn runs once (cpus=4)") {
  SimFixture t({.cpus = 4, .online = 3});
  std::vector<int> calls(4, 0);
  bool still_off = false;
  int ret = 1;
  const auto r = t.run([&] {
    // An inactive CPU (not in cpu_active_mask) in a STARTING-like context: irqs off, cannot sleep.
    auto* ap = spawn_on(3, [&] {
      local_irq_disable();
      const cpumask local = cpumask_of(3);
      ret = stop_machine_from_inactive_cpu(cpu_stop_fn_t([&](void*) { ++calls[smp_processor_id()]; return 0; }, "count"),
                                           nullptr, &local);
      still_off = irqs_disabled();
      local_irq_enable();
    });
    join_all({ap});
  });
  CHECK_PASSED(t, r);
  CHECK(ret == 0);
  CHECK(still_off);
  CHECK(calls == std::vector<int>{0, 0, 0, 1});
}

TEST_CASE("print_stop_info: names the work a stopper is executing and its caller (cpus=2)") {
  SimFixture t({.cpus = 2});
  std::string info, idle_info = "x";
  const auto r = t.run([&] {
    stop_one_cpu(1, cpu_stop_fn_t([&](void*) {
      info = print_stop_info(current);
      return 0;
    }, "probe_fn"), nullptr);
    idle_info = print_stop_info(stopper_of(1)->thread);
  });
  CHECK_PASSED(t, r);
  CHECK(info == "Stopper: probe_fn <- stop_one_cpu");
  CHECK(idle_info.empty());
}

TEST_CASE("stop_machine: concurrent stop_two_cpus and stop_machine on overlapping cpus never deadlock (1000 seeds, random and pct)") {
  int runs = 0;
  for (auto policy : {sim::PolicyKind::Random, sim::PolicyKind::Pct}) {
    for (std::uint64_t seed = 1; seed <= 500; ++seed) {
      SimFixture t({.cpus = 3, .seed = seed, .policy = policy});
      std::vector<int> calls(3, 0);
      const auto r = t.run([&] {
        auto* a = spawn_on(1, [&] { stop_two_cpus(0, 1, cpu_stop_fn_t([&](void*) { ++calls[0]; return 0; }), nullptr); });
        auto* b = spawn_on(2, [&] { stop_two_cpus(2, 1, cpu_stop_fn_t([&](void*) { ++calls[2]; return 0; }), nullptr); });
        auto* c = spawn_on(0, [&] { stop_machine(cpu_stop_fn_t([&](void*) { ++calls[1]; return 0; }), nullptr, nullptr); });
        join_all({a, b, c});
      });
      ++runs;
      REQUIRE_MESSAGE(r.outcome == sim::Outcome::Completed, fmt::format("seed {} {}: {}", seed, to_string(policy),
                                                                        t.failure_text()));
      CHECK(calls == std::vector<int>{1, 1, 1});
    }
  }
  CHECK(runs == 1000);
}

TEST_CASE("stop_machine: NR_CPUS is a run-time parameter: 4096 cpus boot and stop together") {
  SimFixture t({.cpus = 4096});
  int calls = 0;
  const auto r = t.run([&] {
    CHECK(num_online_cpus() == 4096);
    CHECK(stop_machine(cpu_stop_fn_t([&](void*) { ++calls; return 0; }, "count"), nullptr, nullptr) == 0);
  });
  CHECK_PASSED(t, r);
  CHECK(calls == 1);
}
