// model/cpu.hpp — models the locking half of kernel/cpu.c: cpu_hotplug_lock (a percpu rwsem)
// and cpu_add_remove_lock. The hotplug state machine itself lands with issue 4 (cpuhp).
#pragma once

#include "model/locking.hpp"

namespace model {

struct cpu_globals {
  percpu_rw_semaphore cpu_hotplug_lock{"cpu_hotplug_lock"};
  mutex cpu_add_remove_lock{"cpu_add_remove_lock"};
};

}  // namespace model
