// model/bugs.cpp — the registry of bug knobs; the deviations themselves live next to the code
// they break (grep for the knob's field name in model/).
#include "model/bugs.hpp"

namespace model {

const std::vector<bug_knob>& bug_registry() {
  static const std::vector<bug_knob> bugs = {
      {"B1", "stop_two_cpus vs stop_cpus: works queued in opposite orders (no stop_cpus_in_progress check)",
       "stop_machine: fix race between stop_two_cpus and stop_cpus (v3.13); now stop_cpus_in_progress + -EDEADLK retry",
       "I-SM-12|I-SM-13|soft-lockup|rcu-stall", [](Knobs& k) { k.two_works_ignore_in_progress = true; }},
      {"B2", "three concurrent stop_two_cpus queue their works in separate lock sections and form a cycle",
       "stop_machine: Fix deadlock between multiple stop_two_cpus() (v4.2)", "soft-lockup|I-SM-13|rcu-stall",
       [](Knobs& k) { k.b2_separate_locks = true; }},
      {"B3", "a stopper wake-up under the stopper locks waits for a CPU whose idle balance waits for those locks",
       "0b26351b910f stop_machine, sched: Fix migrate_swap() vs. active_balance() deadlock (v4.17)", "W1|hard-lockup",
       [](Knobs& k) { k.b3_wake_under_stopper_lock = true; }},
      {"B4", "the first woken stopper preempts the waker before the second wake-up",
       "9fb8d5dc4b64 stop_machine: Disable preemption when waking two stopper threads (v4.18)",
       "I-SM-14|soft-lockup|I-SM-17", [](Knobs& k) { k.b4_preempt_between_wakes = true; }},
      {"B5", "wake_q de-duplication loses a stopper wake-up (stop_one_cpu vs stop_two_cpus)",
       "cfd355145c32 stop_machine: Atomically queue and wake stopper threads (v4.18)",
       "I-SM-14|soft-lockup|I-SM-17", [](Knobs& k) { k.b5_wake_q = true; }},
      {"B6", "a deferred stopper wake-up lets balance_push queue its push_work twice (migrate_swap vs hotplug)",
       "009836b4fa52 sched/core: Fix migrate_swap() vs. hotplug (v6.16)", "I-SM-8|I-SM-14",
       [](Knobs& k) { k.b6_deferred_stopper_wake = true; }},
      {"B7", "a CPU is online (AP_ONLINE_IDLE) before its stopper is enabled",
       "45178ac0cea8 cpu/hotplug, stop_machine: Fix stop_machine vs hotplug order (v5.6)", "I-SM-10",
       [](Knobs& k) { k.b7_unpark_from_bp = true; }},
      {"B8", "stop_one_cpu_nowait races with take_cpu_down in a preemption window",
       "f0498d2a54e7 sched: Fix stop_one_cpu_nowait() vs hotplug (v6.6)", "I-SM-8",
       [](Knobs& k) { k.b8_preempt_window = true; }},
      {"B9", "queued works are dropped when the stopper parks",
       "stop_machine: Ensure that a queued callback will be called before cpu_stop_park() (v4.4)", "I-SM-8",
       [](Knobs& k) { k.b9_park_discards = true; }},
      {"B10", "parking signals the queued works done but leaves them on the stopper's list",
       "stop_machine: Remove cpu_stop_work's from list in cpu_stop_park() (v4.4)", "I-SM-9|I-SM-8|W1",
       [](Knobs& k) { k.b10_park_leaves_linked = true; }},
      {"B11", "RCU stall warnings blame CPUs that only wait in multi_cpu_stop",
       "366237e7b083 stop_machine: Provide RCU quiescent state in multi_cpu_stop() (v5.5)", "I-RCU-3",
       [](Knobs& k) { k.b11_no_rcu_eqs = true; }},
      {"B12", "rcu_momentary_eqs() is called with irqs enabled (NONE/PREPARE)",
       "c861cac950fb stop_machine: Fix rcu_momentary_eqs() call in multi_cpu_stop() (~v6.14)", "I-RCU-4",
       [](Knobs& k) { k.b12_eqs_every_iteration = true; }},
      {"B13", "hard-lockup false positives on CPUs waiting in multi_cpu_stop",
       "stop_machine: Touch_nmi_watchdog() after MULTI_STOP_PREPARE (pre-v4.9)", "I-WD-1",
       [](Knobs& k) { k.b13_no_nmi_touch = true; }},
      {"B14", "the soft-lockup stopper work is queued twice",
       "be45bf5395e0 watchdog/softlockup: Fix cpu_stop_queue_work() double-queue bug (v4.19)", "I-SM-8",
       [](Knobs& k) { k.b14_no_completion_gate = true; }},
      {"B15", "stop_cpus_in_progress is not visible for the whole queue loop",
       "99d84bf8c65a stop_machine: Use barriers around stop_cpus_in_progress (v5.4)", "I-SM-13|I-SM-12|soft-lockup|rcu-stall",
       [](Knobs& k) { k.b15_in_progress_late = true; }},
      {"B16", "racy plain accesses to msdata->state: a CPU keeps a stale copy",
       "b1fc58333575 stop_machine: Avoid potential race behaviour (v5.4-rc4)", "I-SM-17|soft-lockup|livelock",
       [](Knobs& k) { k.b16_stale_state = true; }},
      {"B17", "set_state publishes the new state before the thread_ack reset",
       "synthetic: protects the smp_wmb in set_state (2023 discussion)", "I-SM-15",
       [](Knobs& k) { k.state_publish_early = true; }},
      {"B18", "stop_machine_from_inactive_cpu enables irqs on exit instead of restoring them",
       "f740e6cd0cb5 stop_machine: implement stop_machine_from_inactive_cpu() (v3.1)", "I-SM-6",
       [](Knobs& k) { k.msm_enable_irqs_on_exit = true; }},
      {"B19", "kthread_park returns before the thread is parked and off-CPU",
       "85f1abe0019f / kthread, sched/core: Fix kthread_parkme() (again...) (v4.17-v4.18)", "I-SB-3",
       [](Knobs& k) { k.kthread_park_early_return = true; }},
      {"B20", "no rollback of the AP states when takedown_cpu fails",
       "cpu/hotplug: Fix rollback during error-out in __cpu_disable() (v4.6)", "I-HP-7",
       [](Knobs& k) { k.b20_skip_unpark_on_takedown_error = true; }},
      {"B21", "smpboot threads (ksoftirqd) park before the down path's RCU synchronisation",
       "cpu/hotplug: Fix smpboot thread ordering (March 2016)", "deadlock",
       [](Knobs& k) { k.b21_park_smpboot_early = true; }},
      {"B22", "a removal passing the DYN base value reserves and clears a fresh slot, not the registered one",
       "guard in cpuhp_store_callbacks: reserve a dynamic slot only when installing (name != NULL)", "I-HP-8",
       [](Knobs& k) { k.b22_reserve_without_name = true; }},
  };
  return bugs;
}

const bug_knob* find_bug(const std::string& name) {
  for (const auto& b : bug_registry())
    if (b.name == name) return &b;
  return nullptr;
}

}  // namespace model
