// model/softirq.cpp — see softirq.hpp.
#include "model/softirq.hpp"

#include "model/rcu.hpp"

namespace model {

std::unique_ptr<softirq_globals> make_softirq_globals(unsigned nr_cpus) {
  auto g = std::make_unique<softirq_globals>();
  g->ksoftirqd.assign(nr_cpus, nullptr);
  g->rcu_pending.assign(nr_cpus, false);
  return g;
}

static softirq_globals& G() { return *kernel().softirq; }

bool ksoftirqd_enabled() { return kernel().cfg.ksoftirqd; }

static int ksoftirqd_should_run(unsigned cpu) { return G().rcu_pending[cpu] ? 1 : 0; }

static void run_ksoftirqd(unsigned cpu) {
  local_irq_disable();
  const bool rcu = G().rcu_pending[cpu];
  G().rcu_pending[cpu] = false;
  local_irq_enable();
  // SIM: rcu_do_batch runs the callbacks with bottom halves, not irqs, disabled.
  if (rcu) rcu_core(cpu);
  cond_resched();
}

void spawn_ksoftirqd() {
  if (!ksoftirqd_enabled()) return;
  auto& g = G();
  g.softirq_threads.store = &g.ksoftirqd;
  g.softirq_threads.thread_should_run = ksoftirqd_should_run;
  g.softirq_threads.thread_fn = run_ksoftirqd;
  g.softirq_threads.thread_comm = "ksoftirqd/%u";
  if (smpboot_register_percpu_thread(&g.softirq_threads) != 0)
    kernel().oracle("BUG", "spawn_ksoftirqd: cannot register the softirq threads", "spawn_ksoftirqd");
}

void raise_rcu_softirq_on(unsigned cpu) {
  auto& g = G();
  g.rcu_pending[cpu] = true;
  if (task_struct* t = g.ksoftirqd[cpu]) wake_up_process(t);
}

}  // namespace model
