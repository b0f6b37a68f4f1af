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
  SimFixture t({.cpus = 4, .capture_trace = true});
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
  MESSAGE(t.trace());
}
