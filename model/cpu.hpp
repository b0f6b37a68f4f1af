// model/cpu.hpp — models include/linux/cpuhotplug.h and kernel/cpu.c (Linux v6.16): the CPU
// hotplug state machine, cpu_hotplug_lock / cpu_add_remove_lock, the AP hotplug thread
// (cpuhp/N) and its kick protocol, state installation with dynamic slots, fault injection.
// SIM: the state space is the spec's reduced set (§3.2) plus CPUHP_AP_CACHECTRL_STARTING, kept
//      free of callbacks so scenarios can install STARTING callbacks there.
// Not modelled: parallel bring-up (CPUHP_BP_KICK_AP), suspend. CONFIG_HOTPLUG_SMT control is
// modelled for the `on` / `off` / `forceoff` settings (not the numeric thread counts).
// The HOTPLUG_CORE_SYNC handshake (spec §3.11, kernel/cpu.c ap_sync_state) is modelled.
#pragma once

#include "model/smpboot.hpp"

#include <functional>
#include <list>
#include <string>
#include <string_view>
#include <vector>

namespace model {

enum cpuhp_state : int {
  CPUHP_INVALID = -1,
  CPUHP_OFFLINE = 0,
  CPUHP_CREATE_THREADS,
  CPUHP_RCUTREE_PREP,
  CPUHP_BP_PREPARE_DYN,
  CPUHP_BP_PREPARE_DYN_END = CPUHP_BP_PREPARE_DYN + 20,
  CPUHP_BRINGUP_CPU,
  CPUHP_AP_IDLE_DEAD,
  CPUHP_AP_OFFLINE,
  CPUHP_AP_CACHECTRL_STARTING,
  CPUHP_AP_SCHED_STARTING,
  CPUHP_AP_RCUTREE_DYING,
  CPUHP_AP_ONLINE,
  CPUHP_TEARDOWN_CPU,
  CPUHP_AP_ONLINE_IDLE,
  CPUHP_AP_SCHED_WAIT_EMPTY,
  CPUHP_AP_SMPBOOT_THREADS,
  CPUHP_AP_WATCHDOG_ONLINE,
  CPUHP_AP_RCUTREE_ONLINE,
  CPUHP_AP_ONLINE_DYN,
  CPUHP_AP_ONLINE_DYN_END = CPUHP_AP_ONLINE_DYN + 40,
  CPUHP_AP_ACTIVE,
  CPUHP_ONLINE,
};

/// Kernel-style name of a state ("CPUHP_TEARDOWN_CPU", "CPUHP_AP_ONLINE_DYN+3").
const std::string& cpuhp_state_name(int state);
/// Parses a state name as cpuhp_state_name prints it; CPUHP_INVALID if unknown.
int cpuhp_state_from_name(const std::string& name);

struct hlist_node {
  std::string name;  ///< instance name (for traces)
};

using cpuhp_single_cb = std::function<int(unsigned cpu)>;
using cpuhp_multi_cb = std::function<int(unsigned cpu, hlist_node* node)>;

struct cpuhp_step {
  std::string name;  ///< empty = slot unused
  cpuhp_single_cb startup_single, teardown_single;
  cpuhp_multi_cb startup_multi, teardown_multi;
  std::list<hlist_node*> list;  ///< instances, newest first
  bool cant_stop = false;
  bool multi_instance = false;
  bool has_startup() const { return multi_instance ? bool(startup_multi) : bool(startup_single); }
  bool has_teardown() const { return multi_instance ? bool(teardown_multi) : bool(teardown_single); }
};

/// kernel: the per-CPU ap_sync_state values of CONFIG_HOTPLUG_CORE_SYNC (spec §3.11).
enum cpuhp_sync_state : int {
  SYNC_STATE_DEAD = 0,
  SYNC_STATE_KICKED,
  SYNC_STATE_SHOULD_DIE,
  SYNC_STATE_ALIVE,
  SYNC_STATE_SHOULD_ONLINE,
  SYNC_STATE_ONLINE,
};
const char* cpuhp_sync_state_name(int s);

struct cpuhp_cpu_state {
  int state = CPUHP_OFFLINE;
  int target = CPUHP_OFFLINE;
  int fail = CPUHP_INVALID;
  task_struct* thread = nullptr;
  bool should_run = false;
  bool rollback = false;
  bool single = false;
  bool bringup = false;
  hlist_node* node = nullptr;
  hlist_node* last = nullptr;
  int cb_state = CPUHP_INVALID;
  int result = 0;
  completion done_up{"cpuhp.done_up"};
  completion done_down{"cpuhp.done_down"};
  // machine-level AP state
  bool boot_requested = false;  ///< the arch was asked to start the AP (its idle task boots it)
  bool booted_once = false;
  bool dead_report_pending = false;  ///< reported idle-dead; the play-dead path still owes DEAD
  /// The BP and the AP hand-shake through it at bring-up and tear-down; the BP polls it.
  sim::Watched<int> ap_sync_state{SYNC_STATE_DEAD, "cpuhp.ap_sync_state"};
};

/// One operation's injected fault (cpuhp_inject_next).
struct hotplug_fault {
  int fail_state = CPUHP_INVALID;  ///< cpu_up: this bring-up state's callback fails (-EAGAIN)
  int disable_error = 0;           ///< cpu_down: __cpu_disable refuses with this errno
};

struct cpu_globals {
  percpu_rw_semaphore cpu_hotplug_lock{"cpu_hotplug_lock"};
  mutex cpu_add_remove_lock{"cpu_add_remove_lock"};
  mutex cpuhp_state_mutex{"cpuhp_state_mutex"};
  int cpu_hotplug_disabled = 0;
  int cpu_smt_control = 0;        ///< cpuhp_smt_control
  std::vector<cpuhp_step> steps;  ///< indexed by state
  std::vector<cpuhp_cpu_state> st;  ///< per CPU
  std::vector<task_struct*> cpuhp_thread_store;
  std::vector<int> disable_error;            ///< fault: __cpu_disable returns this (B20)
  smp_hotplug_thread cpuhp_threads;
  int ops_in_flight = 0;                     ///< I-HP-5
  bool op_warned = false;                    ///< the current operation warned (rollback or DEAD failure)
  std::vector<int> last_invoked;             ///< I-HP-4: last state run per CPU and direction
  std::vector<std::pair<const task_struct*, hotplug_fault>> armed_faults;  ///< cpuhp_inject_next
};

std::unique_ptr<cpu_globals> make_cpu_globals(unsigned nr_cpus);

// ---- SMT control (kernel/cpu.c, CONFIG_HOTPLUG_SMT) ----
/// kernel: enum cpuhp_smt_control (CPU_SMT_NOT_IMPLEMENTED is not modelled: every arch has it).
enum cpuhp_smt_control : int {
  CPU_SMT_ENABLED = 0,
  CPU_SMT_DISABLED = 1,
  CPU_SMT_FORCE_DISABLED = 2,
  CPU_SMT_NOT_SUPPORTED = 3,
};
const char* cpu_smt_control_name(int c);
/// "on", "off" or "forceoff" (the values smt/control accepts) to its cpuhp_smt_control; else -1.
int cpu_smt_control_parse(std::string_view value);
/// The first thread of its core (the siblings are consecutive ids).
bool topology_is_primary_thread(unsigned cpu);
/// Whether cpu_up may start `cpu` under the SMT control (a secondary thread boots once even with
/// SMT off, so it can be initialised, and is then sent back offline).
bool cpu_bootable(unsigned cpu);
/// Offlines every online secondary thread, then sets the control to `ctrlval` (stops at the first
/// error, returned, leaving the control as it was).
int cpuhp_smt_disable(int ctrlval);
/// Sets the control to enabled and brings every present offline CPU up (stops at the first error).
int cpuhp_smt_enable();
/// A write of "on", "off" or "forceoff" to /sys/devices/system/cpu/smt/control: 0 or -EINVAL
/// (another value), -EPERM (forced off), -ENODEV (no SMT), or the hotplug error.
int cpu_smt_control_store(const std::string& value);

// ---- locks (kernel/cpu.c) ----
void cpus_read_lock();
void cpus_read_unlock();
void cpus_write_lock();
void cpus_write_unlock();
bool lockdep_cpus_held();
percpu_rw_semaphore& cpu_hotplug_lock();
void cpu_maps_update_begin();
void cpu_maps_update_done();
void cpu_hotplug_disable();
void cpu_hotplug_enable();

// ---- hotplug operations ----
int cpu_up(unsigned cpu);
int cpu_down(unsigned cpu);
int add_cpu(unsigned cpu);
int remove_cpu(unsigned cpu);
/// Brings `cpu` to `target` (any state), as the sysfs target write does; validates the target.
int cpu_device_set_target(unsigned cpu, int target);
/// The sysfs `fail` attribute: returns -EINVAL for states that may not be failed.
int cpuhp_fail_state(unsigned cpu, int state);
/// SIM: fault injection bound to the calling task's next cpu_up or cpu_down. The sysfs `fail`
/// attribute and a refusing __cpu_disable belong to the CPU until an operation reaches them, so a
/// concurrent operation on the same CPU (another task's, or the rollback of one) could consume
/// them. Armed here, they are applied once the operation holds cpu_add_remove_lock, and whatever
/// it did not reach is disarmed before it lets go: only that operation can hit them. A fail state
/// the attribute refuses makes the call return -EINVAL without trying.
void cpuhp_inject_next(const hotplug_fault& f);
cpuhp_cpu_state* cpuhp_state_of(unsigned cpu);
cpuhp_step* cpuhp_get_step(int state);

// ---- state installation (include/linux/cpuhotplug.h wrappers) ----
int cpuhp_setup_state_(int state, const char* name, bool invoke, cpuhp_single_cb startup, cpuhp_single_cb teardown,
                       bool cpuslocked = false);  ///< kernel: __cpuhp_setup_state(_cpuslocked) (single)
int cpuhp_setup_state(int state, const char* name, cpuhp_single_cb startup, cpuhp_single_cb teardown);
int cpuhp_setup_state_nocalls(int state, const char* name, cpuhp_single_cb startup, cpuhp_single_cb teardown);
int cpuhp_setup_state_cpuslocked(int state, const char* name, cpuhp_single_cb startup, cpuhp_single_cb teardown);
int cpuhp_setup_state_multi(int state, const char* name, cpuhp_multi_cb startup, cpuhp_multi_cb teardown);
int cpuhp_state_add_instance(int state, hlist_node* node);
int cpuhp_state_add_instance_nocalls(int state, hlist_node* node);
int cpuhp_state_remove_instance(int state, hlist_node* node);
void cpuhp_remove_state(int state);
void cpuhp_remove_state_nocalls(int state);
void cpuhp_remove_multi_state(int state);

// ---- boot (called by start_kernel) ----
void boot_cpu_hotplug_init();
void cpuhp_threads_init();
void bringup_nonboot_cpus(unsigned max_cpus);

// ---- hooks from the rest of the model ----
/// The idle task of an offline CPU: boots it when asked, reports it dead after take_cpu_down.
bool cpuhp_idle_work(unsigned cpu);
/// Marks the boot-time states of a CPU installed by a hotplug-aware subsystem.
void cpuhp_register_default_states();

}  // namespace model
