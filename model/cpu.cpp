// model/cpu.cpp — models kernel/cpu.c: cpus_read_lock()/cpus_write_lock() over cpu_hotplug_lock.
#include "model/cpu.hpp"

#include "model/lockdep.hpp"

namespace model {

percpu_rw_semaphore& cpu_hotplug_lock() { return kernel().cpu->cpu_hotplug_lock; }

void cpus_read_lock() { percpu_down_read(&cpu_hotplug_lock()); }
void cpus_read_unlock() { percpu_up_read(&cpu_hotplug_lock()); }
void cpus_write_lock() { percpu_down_write(&cpu_hotplug_lock()); }
void cpus_write_unlock() { percpu_up_write(&cpu_hotplug_lock()); }

bool lockdep_cpus_held() {
  const task_struct* t = current;
  if (t->acts_for_hotplug_writer) return true;
  for (const auto& h : t->held_locks)
    if (h.key == "cpu_hotplug_lock") return true;
  return false;
}

}  // namespace model
