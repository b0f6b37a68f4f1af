// Test fixture for model tests: boots a simulated kernel and runs a test body as the init task.
#pragma once

#include "model/cpu.hpp"
#include "model/kthread.hpp"
#include "model/smpboot.hpp"
#include "model/stop_machine.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <functional>
#include <memory>
#include <sstream>

struct SimParams {
  unsigned cpus = 4;
  unsigned online = 0;  // 0 = all
  unsigned smt = 1;
  int smt_control = 0;  // model::cpuhp_smt_control at boot
  std::uint64_t seed = 1;
  sim::PolicyKind policy = sim::PolicyKind::Fifo;
  sim::Granularity granularity = sim::Granularity::Locks;
  std::uint64_t max_steps = 5'000'000;
  sim::Duration max_time = sim::Duration::ns(120LL * 1'000'000'000);
  bool capture_trace = false;
};

class SimFixture {
 public:
  explicit SimFixture(SimParams p = {}) : params_(p) {
    model::KernelConfig cfg;
    cfg.nr_cpus = p.cpus;
    cfg.online_at_boot = p.online;
    cfg.smt = p.smt;
    cfg.smt_control = p.smt_control;
    cfg.sim.seed = p.seed;
    cfg.sim.policy = p.policy;
    cfg.sim.granularity = p.granularity;
    cfg.sim.max_steps = p.max_steps;
    cfg.sim.max_time = sim::Time::zero() + p.max_time;
    k_ = std::make_unique<model::Kernel>(cfg);
    if (p.capture_trace) k_->sim.trace().add_text_sink(trace_);
  }
  model::Kernel& k() { return *k_; }
  model::Knobs& knobs() { return k_->knobs; }
  /// Boots, runs `body` as the init task after boot, and runs the machine until it is idle.
  sim::RunResult run(std::function<void()> body) {
    k_->start_kernel(std::move(body));
    result_ = k_->run();
    return result_;
  }
  std::string failure_kind() const { return result_.failure ? result_.failure->kind : std::string("none"); }
  std::string failure_text() const {
    return result_.failure ? fmt::format("{}: {}", result_.failure->kind, result_.failure->message) : "none";
  }
  std::string trace() const { return trace_.str(); }

 private:
  SimParams params_;
  std::ostringstream trace_;  // declared before k_: the kernel's trace flushes into it on destruction
  std::unique_ptr<model::Kernel> k_;
  sim::RunResult result_;
};

/// Starts a kernel thread on `cpu` running `fn` and returns it (already woken).
inline model::task_struct* spawn_on(unsigned cpu, std::function<void()> fn, const char* name = "test/%u") {
  auto* t = model::kthread_create_on_cpu([fn = std::move(fn)](void*) { fn(); return 0; }, nullptr, cpu, name);
  model::kernel().sim.set_essential(t->fiber);
  model::wake_up_process(t);
  return t;
}

/// Blocks until every listed kthread has exited.
inline void join_all(const std::vector<model::task_struct*>& ts) {
  for (auto* t : ts) model::wait_for_completion(&t->kt->exited);
}

#define CHECK_PASSED(fixture, result) \
  CHECK_MESSAGE((result).outcome == sim::Outcome::Completed, (fixture).failure_text())
