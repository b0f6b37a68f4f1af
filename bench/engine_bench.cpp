// Engine micro-benchmark (issue 2). Prints, for this machine:
//   raw     : bare Boost.Context round trips (resume + yield), ns each
//   bare    : a loop of event-queue push/pop + sim::Fiber resume/yield, ns per iteration
//   yield   : engine steps/s for N CPUs whose fibers only hit interleaving points
//   handoff : engine steps/s for N CPUs handing a watched word around (spin-wait parking)
// and the ratio engine/bare. Trace at its default level (info; nothing is printed per step).
// Wall time is measured here (bench only): it never influences a simulation.
#include "sim/sim.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double raw_ns(std::uint64_t n) {
  const auto t0 = Clock::now();
  sim::raw_context_switch_loop(n);
  return seconds_since(t0) * 1e9 / static_cast<double>(n);
}

double bare_loop_ns(std::uint64_t n) {
  sim::StackPool pool(64 * 1024);
  sim::EventQueue q;
  sim::Fiber* self = nullptr;
  sim::Fiber f(pool, [&self] {
    for (;;) self->yield();
  });
  self = &f;
  const auto t0 = Clock::now();
  std::uint64_t i = 0;
  q.push(sim::Time::zero(), [] {});
  sim::Time when;
  sim::EventQueue::Callback cb;
  while (i < n && q.pop_next(when, cb)) {
    f.resume();
    q.push(when + sim::Duration::ns(10), [] {});
    ++i;
  }
  const double ns = seconds_since(t0) * 1e9 / static_cast<double>(n);
  f.kill();
  return ns;
}

struct EngineFigure {
  double steps_per_s;
  std::uint64_t steps;
};

EngineFigure engine_yield(std::uint32_t cpus, std::uint64_t steps_per_cpu, sim::PolicyKind policy) {
  sim::Config cfg;
  cfg.lanes = cpus;
  cfg.policy = policy;
  cfg.max_steps = UINT64_MAX;
  sim::Sim s(cfg);
  for (std::uint32_t c = 0; c < cpus; ++c) {
    const auto f = s.spawn(fmt::format("y/{}", c), [&s, steps_per_cpu] {
      for (std::uint64_t i = 0; i < steps_per_cpu; ++i) s.point();
    }, {.essential = true});
    s.set_current(c, f);
  }
  const auto t0 = Clock::now();
  const auto r = s.run();
  const double secs = seconds_since(t0);
  return {static_cast<double>(r.steps) / secs, r.steps};
}

EngineFigure engine_handoff(std::uint32_t cpus, std::uint32_t rounds, sim::PolicyKind policy) {
  sim::Config cfg;
  cfg.lanes = cpus;
  cfg.policy = policy;
  cfg.max_steps = UINT64_MAX;
  sim::Sim s(cfg);
  sim::Watched<std::uint64_t> token(0, "token");
  for (std::uint32_t c = 0; c < cpus; ++c) {
    const auto f = s.spawn(fmt::format("h/{}", c), [&s, &token, c, cpus, rounds] {
      for (std::uint64_t r = 0; r < rounds; ++r) {
        while (token.load() != r * cpus + c) s.relax();
        token.store(token.load() + 1);
      }
    }, {.essential = true});
    s.set_current(c, f);
  }
  const auto t0 = Clock::now();
  const auto r = s.run();
  const double secs = seconds_since(t0);
  return {static_cast<double>(r.steps) / secs, r.steps};
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t scale = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1;
  const std::uint64_t n = 2'000'000 * scale;
  const double raw = raw_ns(n);
  const double bare = bare_loop_ns(n);
  fmt::print("raw boost.context round trip      : {:7.1f} ns\n", raw);
  fmt::print("bare loop (queue pop + fiber)     : {:7.1f} ns  ({:.2f} M/s)\n", bare, 1e3 / bare);
  for (std::uint32_t cpus : {2u, 4u, 64u}) {
    for (auto pol : {sim::PolicyKind::Fifo, sim::PolicyKind::Random}) {
      const auto y = engine_yield(cpus, n / cpus, pol);
      fmt::print("engine yield   cpus={:<3} {:<6}   : {:6.2f} M steps/s  ({:.0f} ns/step, {:.2f}x bare)\n", cpus,
                 sim::to_string(pol), y.steps_per_s / 1e6, 1e9 / y.steps_per_s, (1e9 / y.steps_per_s) / bare);
    }
  }
  for (std::uint32_t cpus : {2u, 4u, 64u}) {
    const auto h = engine_handoff(cpus, static_cast<std::uint32_t>(n / 4 / cpus), sim::PolicyKind::Fifo);
    fmt::print("engine handoff cpus={:<3} fifo     : {:6.2f} M steps/s  ({:.0f} ns/step, {:.2f}x bare)\n", cpus,
               h.steps_per_s / 1e6, 1e9 / h.steps_per_s, (1e9 / h.steps_per_s) / bare);
  }
  return 0;
}
