// model/hung_task.hpp — kernel/hung_task.c: the hung-task detector (khungtaskd). Every
// hung_task_timeout it looks at each task in TASK_UNINTERRUPTIBLE; one that has not been switched
// in or out since the previous look is reported ("INFO: task X:P blocked for more than N
// seconds"), as a detector (kind `hung-task`, like the lockup and stall reports).
// SIM: the check runs from a background timer event, not from a kthread, so it adds no thread and
//      no steps; it is off unless a scenario sets `[kernel] hung_task_timeout` (the kernel's
//      default is 120 s).
#pragma once

namespace model {

/// kernel: hung_task_init(). Arms the periodic check when KernelConfig::hung_task_timeout > 0.
void hung_task_init();

}  // namespace model
