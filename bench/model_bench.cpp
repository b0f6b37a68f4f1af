// Model benchmarks (issue 7). Each mode is one process so peak memory (ru_maxrss) is its own:
//   smpsim_bench_model stop_machine N   boot N cpus, one stop_machine; wall, steps, peak RSS
//   smpsim_bench_model storm [CPUS] [SECONDS] [hash]   hotplug storm at HZ=1000, watchdog and RCU on
//   smpsim_bench_model runs [COUNT] [hash]    runs/s of a 4-cpu stop_machine + one hotplug run
// "hash" turns the trace hash and the choice log on (as `smpsim run` has them); without it both
// are off, as in `smpsim fuzz` campaign runs.
// Wall time is measured here only; it never influences a simulation.
#include "model/cpu.hpp"
#include "model/kthread.hpp"
#include "model/stop_machine.hpp"

#include <fmt/format.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <string>

using namespace model;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

long peak_rss_kib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

int bench_stop_machine(unsigned n) {
  KernelConfig cfg;
  cfg.nr_cpus = n;
  cfg.sim.max_steps = UINT64_MAX;
  const auto t0 = Clock::now();
  Kernel k(cfg);
  double boot_s = 0, sm_s = 0;
  std::uint64_t boot_steps = 0;
  k.start_kernel([&] {
    boot_s = since(t0);
    boot_steps = kernel().sim.steps();
    const auto t1 = Clock::now();
    stop_machine(cpu_stop_fn_t([](void*) { return 0; }, "nop"), nullptr, nullptr);
    sm_s = since(t1);
  });
  const auto r = k.run();
  fmt::print("stop_machine cpus={:<5} outcome={} boot={:.3f}s ({} steps) stop_machine={:.4f}s ({} steps) "
             "peak_rss={} KiB ({:.1f} KiB/cpu)\n",
             n, sim::to_string(r.outcome), boot_s, boot_steps, sm_s, r.steps - boot_steps, peak_rss_kib(),
             static_cast<double>(peak_rss_kib()) / n);
  return r.outcome == sim::Outcome::Completed ? 0 : 1;
}

int bench_storm(unsigned n, unsigned seconds, bool hash) {
  KernelConfig cfg;
  cfg.nr_cpus = n;
  cfg.hz = 1000;
  cfg.sim.policy = sim::PolicyKind::Random;
  cfg.sim.seed = 42;
  cfg.sim.max_steps = UINT64_MAX;
  cfg.sim.max_time = sim::Time::zero() + sim::Duration::ns(static_cast<std::int64_t>(seconds) * 1'000'000'000 + 1'000'000'000);
  cfg.sim.record_choices = hash;
  Kernel k(cfg);
  k.sim.trace().set_hashing(hash);
  int ops = 0;
  k.start_kernel([&] {
    const sim::Time end = kernel().sim.now() + sim::Duration::ns(static_cast<std::int64_t>(seconds) * 1'000'000'000);
    std::uint64_t x = 1;
    while (kernel().sim.now() < end) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;  // the workload's own sequence
      const unsigned cpu = 1 + static_cast<unsigned>((x >> 33) % (n - 1));
      if (cpu_online(cpu)) cpu_down(cpu);
      else cpu_up(cpu);
      ++ops;
      if (ops % 8 == 0) stop_machine(cpu_stop_fn_t([](void*) { return 0; }, "nop"), nullptr, nullptr);
      schedule_timeout_uninterruptible(sim::Duration::ns(50'000'000));
    }
  });
  const auto t0 = Clock::now();
  const auto r = k.run();
  const double wall = since(t0);
  const double virt = static_cast<double>(r.end_time.ns_since_boot()) / 1e9;
  fmt::print("storm hash={} cpus={} hz=1000 virtual={:.1f}s wall={:.3f}s ratio={:.0f}x hotplug_ops={} steps={} in_place={} "
             "handoffs={} events={} outcome={} peak_rss={} KiB\n",
             hash ? "on" : "off", n, virt, wall, virt / wall, ops, r.steps, r.in_place, r.handoffs, r.events, sim::to_string(r.outcome),
             peak_rss_kib());
  return r.outcome == sim::Outcome::Completed ? 0 : 1;
}

int bench_runs(unsigned count, bool hash) {
  const auto t0 = Clock::now();
  unsigned ok = 0;
  std::uint64_t steps = 0, events = 0, in_place = 0, handoffs = 0;
  for (unsigned seed = 1; seed <= count; ++seed) {
    KernelConfig cfg;
    cfg.nr_cpus = 4;
    cfg.sim.seed = seed;
    cfg.sim.policy = sim::PolicyKind::Random;
    cfg.sim.record_choices = hash;
    Kernel k(cfg);
    k.sim.trace().set_hashing(hash);
    k.start_kernel([] {
      auto* a = kthread_run_on_cpu([](void*) { return stop_machine(cpu_stop_fn_t([](void*) { return 0; }), nullptr, nullptr); },
                                   nullptr, 1, "sm/%u");
      cpu_down(2);
      cpu_up(2);
      wait_for_completion(&a->kt->exited);
    });
    const auto r = k.run();
    ok += r.outcome == sim::Outcome::Completed ? 1 : 0;
    steps += r.steps;
    events += r.events;
    in_place += r.in_place;
    handoffs += r.handoffs;
  }
  const double wall = since(t0);
  fmt::print("runs hash={}: {} runs of a 4-cpu stop_machine + hotplug in {:.3f}s = {:.0f} runs/s ({} passed, {} steps ({} in place, {} handed off) and {} "
             "events per run, {:.0f} ns per step)\n",
             hash ? "on" : "off", count, wall, count / wall, ok, steps / count, in_place / count, handoffs / count, events / count,
             wall * 1e9 / static_cast<double>(steps));
  return ok == count ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  auto arg = [&](int i, unsigned def) { return argc > i ? static_cast<unsigned>(std::strtoul(argv[i], nullptr, 10)) : def; };
  if (mode == "stop_machine") return bench_stop_machine(arg(2, 64));
  // The last argument "hash" computes the trace hash and keeps the choice log as `smpsim run`
  // does; by default both are off, as in `smpsim fuzz` campaign runs.
  const bool hash = std::string(argv[argc - 1]) == "hash";
  if (hash) --argc;
  if (mode == "storm") return bench_storm(arg(2, 64), arg(3, 60), hash);
  if (mode == "runs") return bench_runs(arg(2, 1000), hash);
  fmt::print(stderr, "usage: smpsim_bench_model stop_machine N | storm [CPUS] [SECONDS] [hash] | runs [COUNT] [hash]\n");
  return 2;
}
