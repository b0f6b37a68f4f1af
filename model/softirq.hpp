// model/softirq.hpp — the per-CPU ksoftirqd threads of kernel/softirq.c (spawn_ksoftirqd, the
// softirq_threads smpboot descriptor, run_ksoftirqd), for the one softirq the synchronisation
// stack depends on: RCU_SOFTIRQ, which invokes a CPU's ready RCU callbacks (rcu_core).
// SIM: only with KernelConfig::ksoftirqd (scenario `[kernel] ksoftirqd = true`); without it RCU
//      callbacks run from the grace-period thread as before, and no ksoftirqd thread exists.
// SIM: softirqs never run on irq exit here: a raised softirq always waits for ksoftirqd/N, so a
//      parked ksoftirqd/N leaves that CPU's callbacks unrun (what bug B21 needs).
#pragma once

#include "model/smpboot.hpp"

#include <memory>
#include <vector>

namespace model {

struct softirq_globals {
  smp_hotplug_thread softirq_threads;
  std::vector<task_struct*> ksoftirqd;  ///< per-CPU slot of the smpboot descriptor
  std::vector<bool> rcu_pending;        ///< RCU_SOFTIRQ raised and not yet run, per CPU
};
std::unique_ptr<softirq_globals> make_softirq_globals(unsigned nr_cpus);

/// kernel: spawn_ksoftirqd() (an early initcall). Does nothing unless the config asks for it.
void spawn_ksoftirqd();
/// Whether RCU callbacks go through ksoftirqd in this run.
bool ksoftirqd_enabled();
/// Marks RCU_SOFTIRQ pending on `cpu` and wakes ksoftirqd/cpu.
/// SIM: the kernel raises it locally from the CPU's own tick (rcu_pending); the model raises it
/// from the grace-period thread when the CPU's callbacks become ready, which the tick would see.
void raise_rcu_softirq_on(unsigned cpu);

}  // namespace model
