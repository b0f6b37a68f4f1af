// model/kthread.hpp — models kernel/kthread.c: creation on a CPU, park/unpark, stop.
// A kthread starts asleep (as after the schedule() in kthread()); its first wake-up runs
// kthread_parkme() and then threadfn. TASK_PARKED is a special state: only wake_up_state(k,
// TASK_PARKED) leaves it, never a plain wake_up_process().
#pragma once

#include "model/locking.hpp"

#include <functional>
#include <string>

namespace model {

inline constexpr unsigned KTHREAD_IS_PER_CPU = 1u << 0;
inline constexpr unsigned KTHREAD_SHOULD_STOP = 1u << 1;
inline constexpr unsigned KTHREAD_SHOULD_PARK = 1u << 2;

struct kthread {
  unsigned long flags = 0;
  unsigned cpu = 0;
  std::function<int(void*)> threadfn;
  void* data = nullptr;
  completion parked{"kthread.parked"};
  completion exited{"kthread.exited"};
  int result = 0;
  task_struct* task = nullptr;
};

task_struct* kthread_create_on_cpu(std::function<int(void*)> threadfn, void* data, unsigned cpu,
                                   const std::string& namefmt);
/// kthread_create + wake_up_process (kthread_run).
task_struct* kthread_run_on_cpu(std::function<int(void*)> threadfn, void* data, unsigned cpu,
                                const std::string& namefmt);
void kthread_bind(task_struct* p, unsigned cpu);
void kthread_set_per_cpu(task_struct* p, unsigned cpu);
/// True for a kernel thread bound to its CPU by kthread_set_per_cpu (it never migrates away).
bool kthread_is_per_cpu(const task_struct* p);
bool kthread_should_stop();
bool kthread_should_park();
int kthread_park(task_struct* k);
void kthread_unpark(task_struct* k);
void kthread_parkme();
int kthread_stop(task_struct* k);
/// Waits until `p` is off its CPU in `match_state`; returns false (and the kernel warns) if not.
bool wait_task_inactive(task_struct* p, unsigned match_state);

}  // namespace model
