// model/stop_machine.hpp — models include/linux/stop_machine.h and kernel/stop_machine.c
// (Linux v6.16): per-CPU stopper threads (migration/N), the stop_one_cpu / stop_two_cpus /
// stop_cpus / stop_machine family and multi_cpu_stop's NONE→PREPARE→DISABLE_IRQ→RUN→EXIT
// state machine. The I-SM invariants of the spec (§6.1) are checked as the code runs.
#pragma once

#include "model/fifo.hpp"
#include "model/smpboot.hpp"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace model {

/// A stop callback: int fn(void *arg), with a name for traces and print_stop_info().
struct cpu_stop_fn_t {
  std::function<int(void*)> fn;
  const char* name = "fn";
  cpu_stop_fn_t() = default;
  template <class F>
  cpu_stop_fn_t(F f, const char* n = "fn") : fn(std::move(f)), name(n) {}  // NOLINT: implicit on purpose
  int operator()(void* arg) const { return fn(arg); }
  explicit operator bool() const { return static_cast<bool>(fn); }
};

struct cpu_stop_done {
  atomic_t nr_todo{0, "cpu_stop_done.nr_todo"};
  int ret = 0;
  completion completion_{"cpu_stop_done.completion"};
  int completions = 0;  // oracle: completed exactly once
};

struct cpu_stop_work {
  cpu_stop_fn_t fn;
  void* arg = nullptr;
  cpu_stop_done* done = nullptr;
  const char* caller = "?";
  // SIM: list membership is a flag plus the stopper's deque (the kernel's list_head).
  bool on_list = false;
  std::uint64_t id = 0;  ///< oracle identity, assigned at queue time
};

enum multi_stop_state {
  MULTI_STOP_NONE = 0,
  MULTI_STOP_PREPARE,
  MULTI_STOP_DISABLE_IRQ,
  MULTI_STOP_RUN,
  MULTI_STOP_EXIT,
};
const char* multi_stop_state_name(int s);

struct multi_stop_data {
  cpu_stop_fn_t fn;
  void* data = nullptr;
  unsigned num_threads = 0;
  const cpumask* active_cpus = nullptr;
  sim::Watched<int> state{MULTI_STOP_NONE, "msdata.state"};
  atomic_t thread_ack{0, "msdata.thread_ack"};
  // ---- oracle state (I-SM-1..6, 15) ----
  std::uint64_t id = 0;
  int ack_reset_for = MULTI_STOP_NONE;  ///< state whose counter reset is published
  int acks_this_state = 0;
  int fn_calls = 0;
  int expected_fn_calls = 0;
  std::vector<int> last_ack;  ///< per CPU: last state this CPU acked (-1 = none)
  std::vector<unsigned> queued_on;  ///< CPUs its works were queued on so far, in order (I-SM-13)
  cpumask participants;
  bool all_online = false;  ///< participants are every online CPU (stop_machine)
};

/// The stopper locks' lockdep class. One object (an inline variable), so the W1 check can tell a
/// held stopper lock by the name's address.
inline constexpr char cpu_stopper_lock_class[] = "cpu_stopper.lock";

struct cpu_stopper {
  task_struct* thread = nullptr;
  raw_spinlock_t lock{cpu_stopper_lock_class};
  bool enabled = false;
  fifo<cpu_stop_work*> works;
  cpu_stop_work stop_work;
  const char* caller = nullptr;
  const char* fn = nullptr;
  const multi_stop_data* running_msdata = nullptr;  ///< I-SM-13: the multi-CPU stop this stopper is inside
  bool wake_q_pending = false;  ///< B5, B6 models only: the stopper sits in some task's wake_q
  int wakes_in_flight = 0;      ///< oracle, B6: a wake_up_q() took it off its wake_q and is waking it
};

/// Oracle-side record of each work handed to the queueing functions (I-SM-8).
struct stop_work_fate {
  unsigned cpu;
  int executed = 0;
  const char* fn;  ///< cpu_stop_fn_t::name: static or interned for the run, like the work's own
};

struct stop_machine_globals {
  bool stop_machine_initialized = false;
  mutex stop_cpus_mutex{"stop_cpus_mutex"};
  sim::Watched<bool> stop_cpus_in_progress{false, "stop_cpus_in_progress"};
  std::vector<cpu_stopper> stoppers;
  std::vector<task_struct*> thread_store;
  smp_hotplug_thread cpu_stop_threads;
  // ---- oracle state ----
  std::uint64_t next_msdata_id = 1;
  /// The works queued from the oldest one not yet run on, in order: fates[i] is work
  /// fates_base + i + 1. Works before it all ran once, so they need no record: a long run keeps
  /// only the window a stopper has not worked through (SIM: an oracle's record, no kernel state).
  std::vector<stop_work_fate> fates;
  std::uint64_t fates_base = 0;  ///< works queued and dropped from the front of `fates`
  std::size_t fates_done = 0;    ///< leading entries of `fates` already executed
  int stop_cpus_in_flight = 0;
  int stop_machine_in_flight = 0;  ///< I-SM-11: stop_machine operations over every online CPU under way
  std::vector<bool> dying;
  /// kernel/sched/core.c's per-CPU push_work, the buffer balance_push() queues (kept here, with
  /// the other works, so that the scheduler's header needs no stopper types).
  std::vector<cpu_stop_work> push_work;
  /// kernel/sched: each run queue's active_balance_work, queued by an idle CPU's balance.
  std::vector<cpu_stop_work> active_balance_work;
};
std::unique_ptr<stop_machine_globals> make_stop_machine_globals(unsigned nr_cpus);

// ---- public API (include/linux/stop_machine.h) ----
int stop_one_cpu(unsigned cpu, cpu_stop_fn_t fn, void* arg);
bool stop_one_cpu_nowait(unsigned cpu, cpu_stop_fn_t fn, void* arg, cpu_stop_work* work_buf);
int stop_two_cpus(unsigned cpu1, unsigned cpu2, cpu_stop_fn_t fn, void* arg);
int stop_machine(cpu_stop_fn_t fn, void* data, const cpumask* cpus);
int stop_machine_cpuslocked(cpu_stop_fn_t fn, void* data, const cpumask* cpus);
int stop_core_cpuslocked(unsigned cpu, cpu_stop_fn_t fn, void* data);
int stop_machine_from_inactive_cpu(cpu_stop_fn_t fn, void* data, const cpumask* cpus);
void stop_machine_park(unsigned cpu);
void stop_machine_unpark(unsigned cpu);
void stop_machine_yield(const cpumask* cpumask);
/// "Stopper: fn <- caller" if `task` is its CPU's stopper running a work, else "".
std::string print_stop_info(const task_struct* task);

// ---- kernel/stop_machine.c internals, exposed for tests and hotplug ----
void cpu_stop_init();
bool cpu_stop_queue_work(unsigned cpu, cpu_stop_work* work);
int cpu_stop_queue_two_works(int cpu1, cpu_stop_work* work1, int cpu2, cpu_stop_work* work2);
bool queue_stop_cpus_work(const cpumask* cpumask, cpu_stop_fn_t fn, void* arg, cpu_stop_done* done);
int stop_cpus(const cpumask* cpumask, cpu_stop_fn_t fn, void* arg);
int multi_cpu_stop(void* data);
void cpu_stop_init_done(cpu_stop_done* done, unsigned nr_todo);
void cpu_stop_signal_done(cpu_stop_done* done);
cpu_stopper* stopper_of(unsigned cpu);
bool stop_machine_initialized();
/// SMT siblings of `cpu` (cpu_smt_mask) from the configured topology.
cpumask cpu_smt_mask(unsigned cpu);

// ---- hooks for the rest of the model (oracle plumbing) ----
void stop_machine_irq_entry_check(unsigned cpu);
void stop_machine_schedule_check(const task_struct* prev);
void stop_machine_switch_check(task_struct* prev);
void stop_machine_final_checks();
/// Marks `cpu` as the dying CPU inside take_cpu_down (its own online bit may change).
void stop_machine_note_dying(unsigned cpu, bool dying);
void stop_machine_check_enabled_window(unsigned cpu);
/// I-SM-11: called when `cpu`'s online bit flips; only the dying CPU may flip while a
/// stop_machine over every online CPU is under way.
void stop_machine_note_online_change(unsigned cpu);

}  // namespace model
