// model/rcu.hpp — a grace-period tracker modelling the parts of kernel/rcu/tree.c and
// tree_stall.h that the synchronisation stack interacts with (spec §5): GP sequence numbers,
// per-CPU quiescent states (context switch, tick outside read-side sections, idle/offline EQS,
// rcu_momentary_eqs credited by the FQS scan), synchronize_rcu/call_rcu, and stall detection.
// SIM: the non-preemptible flavour (rcu_sched): rcu_read_lock() disables preemption, so a reader
//      is never switched out and there are no blocked-reader lists.
// SIM: callbacks are kept on one global list rather than per-CPU segmented lists. Each remembers
//      the CPU that queued it: with ksoftirqd modelled (model/softirq.hpp) a ready callback is
//      handed to its CPU's done list and run there by RCU_SOFTIRQ; otherwise the grace-period
//      thread runs it at the end of the grace period.
#pragma once

#include "model/locking.hpp"

#include <deque>
#include <functional>
#include <vector>

namespace model {

struct rcu_globals {
  std::uint64_t gp_seq = 0;  ///< even: idle; odd: a grace period is in progress
  sim::Time gp_start;
  cpumask qsmask;            ///< CPUs that still owe a quiescent state
  cpumask rcu_online;        ///< CPUs RCU waits for (starting .. dead)
  std::vector<std::uint64_t> watching_seq, snap;
  std::vector<bool> in_eqs;
  struct rcu_cb {
    std::uint64_t seq;  ///< gp_seq to reach
    unsigned cpu;       ///< the CPU that queued it (its softirq runs it)
    std::function<void()> func;
  };
  std::deque<rcu_cb> callbacks;
  std::vector<std::deque<std::function<void()>>> done;  ///< ready, per CPU (ksoftirqd only)
  task_struct* gp_kthread = nullptr;
  sim::Time next_stall_check;
  sim::Time gp_activity;  ///< the GP kthread's last sign of life (GP start, an FQS round)
  std::uint64_t gps_completed = 0;
  int stalls = 0;
};
std::unique_ptr<rcu_globals> make_rcu_globals(unsigned nr_cpus);

void rcu_init();
void rcu_read_lock();
void rcu_read_unlock();
void synchronize_rcu();
void call_rcu(std::function<void()> func);

// hooks from the scheduler, the tick, idle and hotplug
void rcu_note_context_switch(unsigned cpu);
void rcu_sched_clock_irq(unsigned cpu);
void rcu_idle_enter(unsigned cpu);
void rcu_idle_exit(unsigned cpu);
void rcu_momentary_eqs_(unsigned cpu);
void rcutree_report_cpu_starting(unsigned cpu);
void rcutree_report_cpu_dead(unsigned cpu);
int rcutree_prepare_cpu(unsigned cpu);
int rcutree_dead_cpu(unsigned cpu);
int rcutree_dying_cpu(unsigned cpu);
int rcutree_online_cpu(unsigned cpu);
int rcutree_offline_cpu(unsigned cpu);
void rcutree_migrate_callbacks(unsigned cpu);
/// RCU_SOFTIRQ's work on `cpu` (kernel: rcu_core -> rcu_do_batch): runs its ready callbacks.
void rcu_core(unsigned cpu);

}  // namespace model
