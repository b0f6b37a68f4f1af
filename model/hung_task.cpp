// model/hung_task.cpp — see hung_task.hpp.
#include "model/hung_task.hpp"

#include "model/kernel.hpp"

#include <fmt/format.h>

namespace model {

// kernel: check_hung_task(). A task never switched yet is skipped, as the kernel does for tasks
// that have not run since they were created.
static void check_hung_task(task_struct* t, sim::Duration timeout) {
  auto& k = kernel();
  const std::uint64_t switch_count = t->nvcsw;
  if (switch_count == 0) return;
  if (switch_count != t->last_switch_count) {
    t->last_switch_count = switch_count;
    t->last_switch_time = k.sim.now();
    return;
  }
  if (k.sim.now() < t->last_switch_time + timeout || t->hung_task_reported) return;
  t->hung_task_reported = true;
  k.oracle("hung-task",
           fmt::format("INFO: task {}:{} blocked for more than {} seconds.", t->comm, t->pid,
                       timeout.count_ns() / 1'000'000'000),
           t->comm);
}

// kernel: check_hung_uninterruptible_tasks(), from khungtaskd's loop.
static void hung_task_check() {
  auto& k = kernel();
  const sim::Duration timeout = k.cfg.hung_task_timeout;
  for (const auto& t : k.tasks)
    if (t->state == TASK_UNINTERRUPTIBLE && !k.sim.failure()) check_hung_task(t.get(), timeout);
  k.sim.after(timeout, hung_task_check, /*background=*/true);
}

void hung_task_init() {
  auto& k = kernel();
  if (k.cfg.hung_task_timeout <= sim::Duration{}) return;
  k.sim.after(k.cfg.hung_task_timeout, hung_task_check, /*background=*/true);
}

}  // namespace model
