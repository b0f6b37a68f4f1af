// model/kernel.hpp — the simulated machine's global state and the scheduler core.
// Models the parts of kernel/sched/core.c, kernel/softirq.c (irq entry/exit), kernel/sched/idle.c
// and include/linux/{preempt,irqflags,sched}.h that the synchronisation stack relies on.
//
// One Kernel per simulation (kernel() is thread-local, like sim::Sim::current()). Each CPU is a
// sim lane; its current task is the lane's running fiber. Interrupts are pending per CPU and are
// delivered on the interrupted task's fiber at its next interleaving point when irqs are on
// (NMIs regardless), exactly where real hardware would take them.
//
// SIM: preempt_count is kept per task (the kernel keeps it per CPU but saves/restores it
//      across schedule(), which is equivalent for everything modelled here).
// SIM: one run queue per CPU with three classes: stop (the stopper), fair (round-robin FIFO,
//      rotated at the tick), idle. No load balancing: tasks run only on task_cpu().
// Not modelled: CFS weights, priorities inside the fair class, migration between CPUs other
//      than explicit binding, softirqs as a separate context.
#pragma once

#include "model/cpumask.hpp"
#include "model/fifo.hpp"
#include "sim/sim.hpp"

#include <boost/container/small_vector.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace model {

// include/uapi/asm-generic/errno-base.h / errno.h: the host's <cerrno> macros, checked to
// carry the kernel's values (they do on Linux), so model code reads like the kernel.
static_assert(EPERM == 1 && ENOENT == 2 && EINTR == 4 && EIO == 5 && EAGAIN == 11 && ENOMEM == 12 && ENODEV == 19);
static_assert(EBUSY == 16 && EINVAL == 22 && ENOSPC == 28 && EDEADLK == 35 && ENOSYS == 38);
static_assert(EOPNOTSUPP == 95 && ECANCELED == 125);

// include/linux/sched.h task states (bit values as in the kernel).
inline constexpr unsigned TASK_RUNNING = 0x0000;
inline constexpr unsigned TASK_INTERRUPTIBLE = 0x0001;
inline constexpr unsigned TASK_UNINTERRUPTIBLE = 0x0002;
inline constexpr unsigned TASK_PARKED = 0x0040;
inline constexpr unsigned TASK_DEAD = 0x0080;
/// Claimed by a waker that has not finished: B6's remote wake list, or a task still switching out.
inline constexpr unsigned TASK_WAKING = 0x0200;
inline constexpr unsigned TASK_NORMAL = TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE;

enum class sched_class_id { idle, fair, stop };

struct kthread;
struct held_lock {
  std::uint32_t id; ///< lockdep class (name + subclass), see Lockdep::key
  const char* cls;  ///< the lock's class name (the lock outlives its hold)
  int subclass;     ///< the nesting annotation it was taken with
  bool raw_spin;    ///< a raw spinlock: holding one across schedule() is a bug
  bool read;
};

struct task_struct {
  int pid = 0;
  std::string comm;
  sim::FiberId fiber = sim::kNoFiber;
  unsigned cpu = 0;                  ///< task_cpu()
  unsigned state = TASK_UNINTERRUPTIBLE;  ///< __state; new tasks sleep until first woken
  bool on_rq = false;
  sched_class_id sched_class = sched_class_id::fair;
  int preempt_count = 0;
  sim::Watched<bool> on_cpu{false, "task.on_cpu"};
  std::uint64_t nvcsw = 0;           ///< times switched out (the hung-task check's switch count)
  std::uint64_t last_switch_count = 0;  ///< hung-task check: the count at its last look
  sim::Time last_switch_time;        ///< hung-task check: when it last saw the count change
  bool hung_task_reported = false;   ///< reported once, as the kernel's warning budget allows
  kthread* kt = nullptr;             ///< non-null for kernel threads
  /// SIM: the kernel keeps a fixed array of MAX_LOCK_DEPTH (48) entries; four in place cover the
  /// usual nesting without an allocation per task, and deeper nesting still works.
  boost::container::small_vector<held_lock, 4> held_locks;
  bool switched_out_atomic = false;  ///< switched out with preemption or irqs disabled (I-SM-5)
  bool acts_for_hotplug_writer = false;
  bool unbound = false;  ///< may run on any active CPU: woken onto an idle one (select_task_rq)
  /// A wake-up from event (timer) context found it still switching out (idle_balance): the
  /// switch completes it, as the kernel's ttwu_queue_wakelist() does for a task still on_cpu.
  bool wake_on_switch = false;
  int pending_stopper_wakes = 0;  ///< stopper works queued by this task whose wake-up is still owed (W2)
  int rcu_read_lock_nesting = 0;
  std::uint64_t rcu_read_start_seq = 0;  ///< cpuhp/N and take_cpu_down run on the writer's behalf
  /// SIM: what the new task runs after schedule_tail() (the kernel keeps it in the fork frame).
  /// Kept here so the fiber's body captures only the task and needs no allocation of its own.
  std::function<void()> thread_fn;
};

/// A pending interrupt: a name for the trace and the handler to run in hardirq context.
struct pending_irq {
  const char* name;
  std::function<void()> handler;
};

/// Per-CPU state: the run queue plus the CPU's virtual interrupt flag and pending interrupts.
struct rq {
  unsigned cpu = 0;
  task_struct* curr = nullptr;
  task_struct* idle = nullptr;
  task_struct* stop = nullptr;        ///< the stop-class task (sched_set_stop_task)
  fifo<task_struct*> fair;      ///< runnable fair tasks, not running
  bool need_resched = false;
  bool irqs_disabled = false;         ///< the virtual IF flag (true = interrupts masked)
  int in_irq = 0;
  int in_nmi = 0;
  bool in_schedule = false;
  bool balance_push = false;          ///< kernel: rq->balance_callback == &balance_push_callback
  bool active_balance = false;        ///< an idle CPU's active-balance work is queued on this CPU's stopper
  fifo<pending_irq> pending;
  fifo<pending_irq> pending_nmi;
  bool tick_pending = false;
  sim::EventId tick_ev;
  bool tick_stopped = true;           ///< NO_HZ idle: no tick while idle
  sim::Time last_tick;                ///< when scheduler_tick last ran here
  // stop_machine participation, for the I-SM oracles (-1 = not inside multi_cpu_stop)
  int msm_cur = -1;
  const char* msm_fn = nullptr;       ///< name of the stop fn this CPU is running inside multi_cpu_stop
  std::uint64_t nr_switches = 0;
  std::uint64_t nr_irqs = 0;
};

/// Deliberate deviations for tests (each oracle must be seen firing) and, later, the bug zoo.
struct Knobs {
  bool msm_skip_irq_disable = false;     ///< multi_cpu_stop does not disable irqs (I-SM-4)
  bool msm_skip_ack = false;             ///< the highest online cpu never acks PREPARE (I-SM-17 / hang)
  int msm_skip_ack_cpu = -1;             ///< this cpu never acks PREPARE (a participant spins there)
  bool msm_double_fn = false;            ///< the active CPU calls fn twice (I-SM-3)
  bool msm_enable_irqs_on_exit = false;  ///< B18: enable instead of restoring (I-SM-6)
  bool stop_one_cpu_double_queue = false;  ///< queue one work twice (I-SM-8)
  bool stopper_no_wake = false;          ///< queueing forgets the wake-up (I-SM-14)
  bool set_state_skip_reset = false;     ///< set_state forgets to reset thread_ack (I-SM-2)
  bool set_state_skip_state = false;     ///< set_state jumps a state (I-SM-1)
  bool stopper_park_nonempty = false;    ///< park the stopper with works still queued (I-SM-9)
  bool two_works_ignore_in_progress = false;  ///< B1/B15: skip the stop_cpus_in_progress check
  bool smpboot_wrong_cpu = false;        ///< smpboot thread runs on a foreign CPU (I-SB-2)
  bool smpboot_double_setup = false;     ///< setup called twice (I-SB-1)
  bool kthread_park_early_return = false;  ///< B19: kthread_park returns without waiting for the park (I-SB-3)
  bool smpboot_skip_park = false;        ///< smpboot_park_threads skips a thread (I-SB-4)
  bool smpboot_duplicate_create = false; ///< create a second thread for one (desc, cpu) (I-SB-5)
  bool stop_cpus_no_mutex = false;       ///< stop_cpus without stop_cpus_mutex (I-SM-12)
  bool done_double_signal = false;       ///< signal a done twice (I-SM-7)
  bool queue_order_inverted = false;     ///< queue two multi-CPU works in opposite orders (I-SM-13)
  bool state_publish_early = false;      ///< B17: state visible before thread_ack reset (I-SM-15)
  bool b20_skip_unpark_on_takedown_error = false;  ///< B20: no cpuhp unpark / AP re-kick after a refused takedown
  bool b22_reserve_without_name = false;  ///< B22: dynamic-slot reservation also on removal
  bool b2_separate_locks = false;        ///< B2: two works queued in separate lock sections, caller order
  bool b4_preempt_between_wakes = false; ///< B4: a preemption point between the two stopper wake-ups
  bool b5_wake_q = false;                ///< B5: wake_q dedup + preemption before wake_up_q
  bool b3_wake_under_stopper_lock = false;  ///< B3: stopper wake-ups issued while the stopper locks are held
  bool b6_deferred_stopper_wake = false; ///< B6: stopper wakes via wake_q dedup and the remote wake list
  bool b7_unpark_from_bp = false;        ///< B7: the BP unparks the stopper after the AP is online
  bool b8_preempt_window = false;        ///< B8: preemption between the online check and the nowait queue
  bool b9_park_discards = false;         ///< B9: parking discards queued works instead of running them
  bool b10_park_leaves_linked = false;   ///< B10: parking signals queued works done but leaves them linked
  bool b11_no_rcu_eqs = false;           ///< B11: no rcu_momentary_eqs() in the wait loop
  bool b12_eqs_every_iteration = false;  ///< B12: rcu_momentary_eqs() also in NONE/PREPARE (irqs on)
  bool b13_no_nmi_touch = false;         ///< B13: no touch_nmi_watchdog() in the wait loop
  bool b14_no_completion_gate = false;   ///< B14: the soft-lockup work is queued without the gate
  bool b15_in_progress_late = false;     ///< B15: stop_cpus_in_progress set after the first queue, cleared early
  bool b16_stale_state = false;          ///< B16: a participant may latch a stale msdata->state
  bool b21_park_smpboot_early = false;   ///< B21: smpboot threads park before sched_cpu_deactivate's synchronize_rcu
  bool w1_unchecked = false;             ///< no W1 check at wake-ups: lets B3's wake-up under the locks deadlock
};

struct KernelConfig {
  unsigned nr_cpus = 4;           ///< possible CPUs (NR_CPUS for this run)
  unsigned present = 0;           ///< 0 = all possible
  unsigned online_at_boot = 0;    ///< 0 = all present
  unsigned smt = 1;               ///< hardware threads per core (siblings are consecutive ids)
  /// Boot-time SMT control (kernel command line): 0 on, 1 `nosmt`, 2 `nosmt=force`; values of
  /// cpuhp_smt_control in model/cpu.hpp. Ignored when smt == 1 (not supported).
  int smt_control = 0;
  unsigned hz = 250;
  sim::Duration watchdog_thresh = sim::Duration::ns(10LL * 1'000'000'000);       ///< 0 disables the detectors
  sim::Duration rcu_cpu_stall_timeout = sim::Duration::ns(21LL * 1'000'000'000);
  sim::Duration liveness_bound = sim::Duration::ns(60LL * 1'000'000'000);  ///< I-SM-17
  bool detectors_stop_run = true; ///< a lockup or stall report ends the run (else it is only recorded)
  bool ksoftirqd = false;         ///< model ksoftirqd/N and run RCU callbacks there (model/softirq.hpp)
  bool idle_balance = false;      ///< a CPU about to idle asks a busy CPU's stopper for a task (newidle_balance)
  sim::Duration hung_task_timeout{};  ///< 0: no hung-task detector (model/hung_task.hpp)
  /// The hard-lockup detector: the perf NMI on each CPU (false), or the buddy detector, where each
  /// CPU's watchdog hrtimer checks the next CPU (CONFIG_HARDLOCKUP_DETECTOR_BUDDY; true).
  bool hardlockup_buddy = false;
  sim::Config sim;                ///< engine settings; sim.lanes is set from nr_cpus
  Knobs knobs;
};

struct stop_machine_globals;
struct smpboot_globals;
struct cpu_globals;
struct rcu_globals;
struct softirq_globals;
struct watchdog_globals;
class Lockdep;

class Kernel {
 public:
  explicit Kernel(KernelConfig cfg);
  ~Kernel();
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;

  KernelConfig cfg;
  Knobs& knobs;
  sim::Sim sim;
  unsigned nr_cpu_ids;
  cpumask cpu_possible_mask, cpu_present_mask, cpu_enabled_mask, cpu_online_mask, cpu_active_mask,
      cpu_dying_mask;
  sim::Watched<int> num_online_cpus_{0, "__num_online_cpus"};
  std::vector<rq> rqs;
  std::vector<std::unique_ptr<task_struct>> tasks;
  std::vector<std::unique_ptr<kthread>> kthreads;
  std::unique_ptr<Lockdep> lockdep;
  std::unique_ptr<stop_machine_globals> sm;
  std::unique_ptr<smpboot_globals> sb;
  std::unique_ptr<cpu_globals> cpu;
  std::unique_ptr<rcu_globals> rcu;
  std::unique_ptr<softirq_globals> softirq;
  std::unique_ptr<watchdog_globals> wd;

  /// The kinds the kernel's detectors report (lockups, RCU stalls, hung tasks), as opposed to
  /// invariant ids: recorded in `reports`, and they stop the run only with detectors_stop_run.
  static constexpr std::array<std::string_view, 4> detector_kinds{"hard-lockup", "soft-lockup", "rcu-stall",
                                                                   "hung-task"};
  static bool is_detector(std::string_view kind) {
    return std::find(detector_kinds.begin(), detector_kinds.end(), kind) != detector_kinds.end();
  }
  /// Reports of the lockup and stall detectors, in order (all of them, stopping or not).
  struct report {
    std::string kind;
    int cpu;
    sim::Time time;
    std::string message;
    std::string place;
  };
  std::vector<report> reports;
  /// Records an oracle violation (kind = invariant id such as "I-SM-4") and stops the run.
  void oracle(const std::string& id, const std::string& message, const std::string& place = {});
  /// WARN() and WARN_ON_ONCE(): a Warn-level trace event "<subsys>.warn" carrying `msg`. With
  /// `once`, only the first time the run reaches `site` (a name for the WARN_ON_ONCE in question).
  void warn(const char* subsys, const char* site, const std::string& msg, bool once);
  std::vector<std::string> warned_once;  ///< the WARN_ON_ONCE sites already reached
  /// Runs `fn` as the body of task "init" on CPU 0 after boot, then the run goes on until idle.
  void start_kernel(std::function<void()> init_body);
  /// After run(): checks that need the whole run (works never executed, ...).
  void final_checks();
  sim::RunResult run();
  std::function<void()> boot_hook;  ///< replaces the default boot (smp_init) when set
  bool system_running = false;      ///< SYSTEM_RUNNING: set once boot finished

  task_struct* create_task(std::string comm, unsigned cpu, std::function<void()> body, bool essential = false);
};

// The kernel of the simulation running on this thread. These accessors run several times a step,
// so they are inline; constinit lets other files read the thread-local without an init wrapper.
extern constinit thread_local Kernel* tl_kernel;
[[noreturn]] void no_kernel_on_thread();
[[noreturn]] void not_in_cpu_context();
inline Kernel& kernel() {
  if (tl_kernel == nullptr) [[unlikely]]
    no_kernel_on_thread();
  return *tl_kernel;
}
inline Kernel* kernel_or_null() { return tl_kernel; }

// ---- include/linux/smp.h, sched.h ----
inline unsigned smp_processor_id() {
  const sim::Sim& s = kernel().sim;
  if (!s.in_fiber()) [[unlikely]]
    not_in_cpu_context();
  return s.this_lane();
}
inline rq* cpu_rq(unsigned cpu) { return &kernel().rqs[cpu]; }
inline rq* this_rq() { return cpu_rq(smp_processor_id()); }
/// `current`: the task running on this CPU (the interrupted task inside an irq handler).
struct current_accessor {
  operator task_struct*() const { return this_rq()->curr; }
  task_struct* operator->() const { return this_rq()->curr; }
};
inline constexpr current_accessor current{};
unsigned task_cpu(const task_struct* p);
bool cpu_online(unsigned cpu);
bool cpu_active(unsigned cpu);
unsigned num_online_cpus();
unsigned num_active_cpus();
void set_cpu_online(unsigned cpu, bool online);
void set_cpu_active(unsigned cpu, bool active);

// ---- include/linux/preempt.h ----
void preempt_disable();
void preempt_enable();
void preempt_enable_no_resched();
void preempt_count_inc();
void preempt_count_dec();
int preempt_count();
bool preemptible();
bool in_interrupt();

// ---- include/linux/irqflags.h ----
void local_irq_disable();
void local_irq_enable();
unsigned long local_irq_save();
void local_irq_restore(unsigned long flags);
void hard_irq_disable();
bool irqs_disabled();
bool irqs_disabled_flags(unsigned long flags);

// ---- kernel/sched/core.c ----
void schedule();
/// The next task to run on `r`: its stopper if runnable, else the first fair task, else idle.
task_struct* pick_next_task(rq* r);
/// Removes p from the rq's fair queue; false if it was not queued.
bool dequeue_fair(rq* r, task_struct* p);
void schedule_preempt_disabled();
/// First code of every new task: completes the context switch that started it.
void schedule_tail();
void cond_resched();
void set_current_state(unsigned state);
void set_special_state(unsigned state);
int wake_up_process(task_struct* p);
int wake_up_state(task_struct* p, unsigned state);
void sched_set_stop_task(unsigned cpu, task_struct* stop);
/// Migrates via the target's stopper as set_cpus_allowed_ptr() does (kernel: affine_move_task()).
int affine_move_task(unsigned dest);
/// Turns the outgoing CPU's push-away callback on or off (sched_cpu_deactivate / sched_cpu_activate).
void balance_push_set(unsigned cpu, bool on);
/// An active CPU other than `cpu` for its tasks to move to, or nr_cpu_ids (select_fallback_rq).
unsigned select_fallback_rq(unsigned cpu);
/// Moves `p`, not running, from `from` to `dest`, queued there if it was queued here.
void migrate_task_to(rq* from, task_struct* p, unsigned dest);
/// SIM: sleep `d` of virtual time (msleep / schedule_timeout_uninterruptible).
void schedule_timeout_uninterruptible(sim::Duration d);
/// Busy loop for `d` of virtual time in the current context (irqs/preemption as they are).
void busy_loop(sim::Duration d, bool touch_watchdog = false);

// ---- interrupts ----
/// Makes an interrupt pending on `cpu`; it runs in hardirq context when that CPU has irqs on.
void raise_irq(unsigned cpu, const char* name, std::function<void()> handler);
/// An NMI: delivered at the CPU's next interleaving point regardless of the irq flag.
void raise_nmi(unsigned cpu, const char* name, std::function<void()> handler);
/// Delivers what is deliverable now and preempts if needed (the model's interleaving-point hook).
void irq_and_preempt_point();
void cpu_relax();

// ---- include/linux/nmi.h, rcupdate.h: used by multi_cpu_stop's wait loop ----
void touch_nmi_watchdog();
void rcu_momentary_eqs();

/// What a CPU is doing, for failure signatures: "multi_cpu_stop:PREPARE", "stop:fn", a task name.
std::string describe_cpu(unsigned cpu);
/// Counts a hit of a named coverage probe.
void sim_probe(const char* name);

/// Starts the idle task of `cpu` and makes it the CPU's running task.
void init_idle(unsigned cpu);
/// Starts/stops the periodic tick of `cpu` (NO_HZ idle stops it).
void tick_start(unsigned cpu);
void tick_stop(unsigned cpu);

}  // namespace model
