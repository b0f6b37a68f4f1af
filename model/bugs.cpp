// model/bugs.cpp — the registry of bug knobs; the deviations themselves live next to the code
// they break (grep for the knob's field name in model/).
#include "model/bugs.hpp"

namespace model {

const std::vector<bug_knob>& bug_registry() {
  static const std::vector<bug_knob> bugs = {
      {"B1", "stop_two_cpus vs stop_cpus queue works in opposite orders (no stop_cpus_in_progress check)",
       "fixed by the stop_cpus_in_progress back-off in cpu_stop_queue_two_works (2015-2016 series)",
       "I-SM-13", [](Knobs& k) { k.two_works_ignore_in_progress = true; }},
      {"B15", "stop_cpus_in_progress not ordered around the queue loop",
       "99d84bf8c65a stop_machine: Disable preemption when waking two stopper threads / barriers (v5.4)",
       "I-SM-13", [](Knobs& k) { k.two_works_ignore_in_progress = true; }},
      {"B17", "set_state publishes the new state before the thread_ack reset",
       "synthetic: protects the smp_wmb in set_state (2023 discussion)", "I-SM-15",
       [](Knobs& k) { k.state_publish_early = true; }},
      {"B18", "stop_machine_from_inactive_cpu enables irqs on exit instead of restoring them",
       "f740e6cd0cb5 stop_machine: implement stop_machine_from_inactive_cpu() (v3.1) design point", "I-SM-6",
       [](Knobs& k) { k.msm_enable_irqs_on_exit = true; }},
      {"B19", "kthread_park returns before the thread is off-CPU", "kthread, sched/core: Fix kthread_parkme() (again...) (v4.18)",
       "I-SB-3", [](Knobs& k) { k.kthread_park_early_return = true; }},
      {"B20", "no rollback of the AP states when takedown_cpu fails",
       "cpu/hotplug: Fix rollback during error-out in __cpu_disable() (v4.6)", "I-HP-7",
       [](Knobs& k) { k.b20_skip_unpark_on_takedown_error = true; }},
      {"B22", "dynamic state removal reserves and clears a fresh slot", "guard in cpuhp_store_callbacks (name != NULL)",
       "I-HP-8", [](Knobs& k) { k.b22_reserve_without_name = true; }},
  };
  return bugs;
}

const bug_knob* find_bug(const std::string& name) {
  for (const auto& b : bug_registry())
    if (b.name == name) return &b;
  return nullptr;
}

}  // namespace model
