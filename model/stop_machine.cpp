// model/stop_machine.cpp — models kernel/stop_machine.c (Linux v6.16).
// cpu_stopper threads (migration/N, stop class, selfparking smpboot threads), the queueing
// primitives, the stop_* API and multi_cpu_stop's state machine. Every I-SM invariant of the
// spec (§6.1) is checked where the kernel would break it; violations stop the run.
// SIM: works are kept in a fifo per stopper plus an on_list flag (the kernel's list_head).
// SIM: `caller` is a string naming the API entry point instead of a return address.
// Not modelled: the !CONFIG_SMP variants, s390's stop_machine_yield override.
#include "model/stop_machine.hpp"

#include "model/cpu.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace model {

std::unique_ptr<stop_machine_globals> make_stop_machine_globals(unsigned nr_cpus) {
  auto g = std::make_unique<stop_machine_globals>();
  g->stoppers = std::vector<cpu_stopper>(nr_cpus);
  g->thread_store.assign(nr_cpus, nullptr);
  g->dying.assign(nr_cpus, false);
  g->push_work = std::vector<cpu_stop_work>(nr_cpus);
  g->active_balance_work = std::vector<cpu_stop_work>(nr_cpus);
  g->fates.reserve(16);  // a run queues a handful of works: no regrowth in the common case
  return g;
}

static stop_machine_globals& G() { return *kernel().sm; }
cpu_stopper* stopper_of(unsigned cpu) { return &G().stoppers[cpu]; }
bool stop_machine_initialized() { return G().stop_machine_initialized; }

const char* multi_stop_state_name(int s) {
  static constexpr const char* names[] = {"NONE", "PREPARE", "DISABLE_IRQ", "RUN", "EXIT"};
  return s >= 0 && s <= MULTI_STOP_EXIT ? names[s] : "AFTER_EXIT";
}

template <class... Args>
static void trace_sm(const char* ev, fmt::format_string<Args...> f, Args&&... args) {
  kernel().sim.trace().event("stop_machine", sim::Level::Info, ev, f, std::forward<Args>(args)...);
}

static std::string ctx_desc() { return fmt::format("cpu{} {}", smp_processor_id(), current->comm); }

static void set_state(multi_stop_data* msdata, int newstate);
static void set_state_initial(multi_stop_data* msdata);

// ---------------------------------------------------------------------------------------------
// Internal primitives (§1.2)

void cpu_stop_init_done(cpu_stop_done* done, unsigned nr_todo) {
  done->nr_todo.counter.poke(static_cast<int>(nr_todo));
  done->ret = 0;
  done->completions = 0;
  init_completion(&done->completion_);
}

void cpu_stop_signal_done(cpu_stop_done* done) {
  const int left = atomic_add_return(-1, &done->nr_todo);
  if (left < 0)
    kernel().oracle("I-SM-7", fmt::format("cpu_stop_done.nr_todo went below zero ({})", left), "cpu_stop_signal_done");
  if (left == 0) {
    if (++done->completions > 1)
      kernel().oracle("I-SM-7", "cpu_stop_done completed twice", "cpu_stop_signal_done");
    complete(&done->completion_);
  }
}

// A work of a multi-CPU operation: its callback is multi_cpu_stop itself (whatever its label).
static bool is_multi_cpu_stop(const cpu_stop_work* w) {
  using fn_ptr = int (*)(void*);
  const fn_ptr* target = w->fn.fn.target<fn_ptr>();
  return target != nullptr && *target == &multi_cpu_stop;
}

// Where a multi-CPU stop stands in a CPU's execution order: 0 if its stopper is inside it now,
// then 1, 2, ... through the queue; -1 if it is in neither.
static std::ptrdiff_t order_on(const cpu_stopper& s, const multi_stop_data* md) {
  if (s.running_msdata == md) return 0;
  const auto it = std::find_if(s.works.begin(), s.works.end(), [&](auto* w) { return w->arg == md; });
  return it == s.works.end() ? -1 : 1 + (it - s.works.begin());
}

// I-SM-13: two multi-CPU operations sharing CPUs x and y are queued in the same order on both.
// The one a stopper is running counts as first in its queue: a work queued behind it on x
// while it waits for y, where the new one runs or is ahead, is the same deadlock.
static void check_queue_order(unsigned x, const cpu_stop_work* work) {
  auto* md = static_cast<multi_stop_data*>(work->arg);
  if (!is_multi_cpu_stop(work) || md == nullptr) return;
  auto& g = G();
  auto& mine = md->queued_on;
  auto check_against = [&](const multi_stop_data* other) {
    for (unsigned y : mine) {
      const std::ptrdiff_t pa = order_on(g.stoppers[y], md), pb = order_on(g.stoppers[y], other);
      if (pa >= 0 && pb >= 0 && pa < pb)
        kernel().oracle("I-SM-13",
                        fmt::format("multi-CPU stops #{} and #{} are queued in opposite orders on cpu{} and cpu{}: "
                                    "each stopper waits for the other (deadlock)",
                                    md->id, other->id, x, y),
                        "cpu_stop_queue_work");
    }
  };
  if (const multi_stop_data* running = g.stoppers[x].running_msdata; running != nullptr && running != md)
    check_against(running);
  for (const cpu_stop_work* ahead : g.stoppers[x].works) {
    if (ahead == work || !is_multi_cpu_stop(ahead)) continue;
    check_against(static_cast<const multi_stop_data*>(ahead->arg));
  }
  mine.push_back(x);
}

// kernel: __cpu_stop_queue_work(). Caller holds stopper->lock. Does not wake the stopper.
static void cpu_stop_queue_work_(unsigned cpu, cpu_stopper* stopper, cpu_stop_work* work) {
  auto& g = G();
  if (work->on_list) {
    kernel().oracle("I-SM-8", fmt::format("double list_add: work {} is queued again on cpu{} while still queued",
                                          work->fn.name, cpu),
                    "cpu_stop_queue_work");
  }
  work->id = g.fates_base + g.fates.size() + 1;
  work->on_list = true;
  g.fates.push_back(stop_work_fate{cpu, 0, work->fn.name});
  stopper->works.push_back(work);
  if (kernel().sim.in_fiber()) ++current->pending_stopper_wakes;
  trace_sm("stop.queue", "cpu={} fn={} caller={} work={}", cpu, work->fn.name, work->caller, work->id);
  check_queue_order(cpu, work);
}

// I-SM-14: after a queue function returns, the stopper that holds the work just queued is
// running or runnable. (Checking "any work" would blame a concurrent queuer that has appended
// but not yet issued its own wake-up.)
static void check_no_lost_wakeup(unsigned cpu, const cpu_stop_work* work) {
  cpu_stopper* s = stopper_of(cpu);
  if (!work->on_list || s->thread == nullptr) return;
  // SIM: with B6's knob, a wake-up waiting in a wake_q or a remote wake list counts as issued. The
  // 2018-2025 kernel deferred stopper wake-ups routinely and harmlessly; B6 is the double queue
  // that the delay allows, which I-SM-8 reports (B5's knob keeps the strict check).
  if (kernel().knobs.b6_deferred_stopper_wake &&
      (s->wake_q_pending || s->wakes_in_flight > 0 || s->thread->state == TASK_WAKING))
    return;
  if (s->thread->state != TASK_RUNNING && !s->thread->on_cpu.peek())
    kernel().oracle("I-SM-14", fmt::format("stopper migration/{} sleeps with work {} queued (lost wake-up)", cpu,
                                           work->fn.name),
                    "cpu_stop_queue_work");
}

static void stopper_wake(cpu_stopper* stopper) {
  task_struct* me = current;
  if (me->pending_stopper_wakes > 0) --me->pending_stopper_wakes;
  if (kernel().knobs.stopper_no_wake) return;
  wake_up_process(stopper->thread);
}

// BUG B5: the 2018 wake_q cannot hold a task twice. A stopper already in another queuer's
// wake_q is not added to ours: that queuer's wake_up_q() will wake it, so this caller owes nothing.
static void b5_wake_left_to_other_queuer() { --current->pending_stopper_wakes; }

// BUG B5, B6: wake_q_add() under the stopper lock: false when another queuer's wake_q holds the
// stopper already (a task is in at most one wake_q), which leaves the wake-up to that queuer.
static bool wake_q_add(cpu_stopper* stopper) {
  if (stopper->wake_q_pending) return false;
  stopper->wake_q_pending = true;
  return true;
}

// BUG B5, B6: wake_up_q() for one stopper, after the locks are dropped.
static void wake_up_q(cpu_stopper* stopper, bool in_my_wake_q) {
  if (!in_my_wake_q) return b5_wake_left_to_other_queuer();
  stopper->wake_q_pending = false;
  ++stopper->wakes_in_flight;
  stopper_wake(stopper);
  --stopper->wakes_in_flight;
}

// BUG B5: stop_two_cpus wakes directly, but leaves a stopper that another queuer's wake_q holds
// to that queuer.
static void stopper_wake_unless_in_other_wake_q(cpu_stopper* stopper) {
  wake_up_q(stopper, !(kernel().knobs.b5_wake_q && stopper->wake_q_pending));
}

// W2: a task that queued stopper work must issue the wake-up before it can be switched out.
void stop_machine_switch_check(task_struct* prev) {
  if (prev->pending_stopper_wakes <= 0) return;
  const int owed = prev->pending_stopper_wakes;
  prev->pending_stopper_wakes = 0;
  kernel().oracle("I-SM-14", fmt::format("{} is switched out between queueing stopper work and waking the stopper "
                                         "({} wake-up(s) owed): the work may never run (lost wake-up)",
                                         prev->comm, owed),
                  "cpu_stop_queue_work");
}

bool cpu_stop_queue_work(unsigned cpu, cpu_stop_work* work) {
  cpu_stopper* stopper = stopper_of(cpu);
  auto& k = kernel();
  unsigned long flags;
  bool in_my_wake_q = false;
  const bool use_wake_q = k.knobs.b5_wake_q || k.knobs.b6_deferred_stopper_wake;
  preempt_disable();
  raw_spin_lock_irqsave(&stopper->lock, flags);
  const bool enabled = stopper->enabled;
  if (enabled) cpu_stop_queue_work_(cpu, stopper, work);
  else if (work->done) cpu_stop_signal_done(work->done);
  if (enabled && use_wake_q) in_my_wake_q = wake_q_add(stopper);
  if (enabled && k.knobs.b3_wake_under_stopper_lock) stopper_wake(stopper);  // BUG B3: under the lock
  if (!enabled) {
    trace_sm("stop.reject", "cpu={} fn={} caller={}", cpu, work->fn.name, work->caller);
    k.sim.probe("stop: work rejected by a disabled stopper");
  }
  raw_spin_unlock_irqrestore(&stopper->lock, flags);
  if (enabled && use_wake_q) {
    if (k.knobs.b5_wake_q) {
      // BUG B5: the 2018 wake_q shape: preemption is possible before wake_up_q() runs.
      preempt_enable();
      preempt_disable();
    }
    wake_up_q(stopper, in_my_wake_q);
  } else if (enabled && !k.knobs.b3_wake_under_stopper_lock) {
    // Wake after the unlock and before preempt_enable (W1, W2).
    stopper_wake(stopper);
  }
  preempt_enable();
  if (enabled) check_no_lost_wakeup(cpu, work);
  return enabled;
}

// BUG B2 (knob b2_separate_locks): the pre-v4.2 shape. Each work is queued under its own lock
// section, in the caller's order, so three concurrent pairs can build a cycle of queue heads.
static int cpu_stop_queue_two_works_b2(int cpu1, cpu_stop_work* work1, int cpu2, cpu_stop_work* work2) {
  cpu_stopper* stopper1 = stopper_of(static_cast<unsigned>(cpu1));
  cpu_stopper* stopper2 = stopper_of(static_cast<unsigned>(cpu2));
  if (!stopper1->enabled || !stopper2->enabled) return -ENOENT;
  preempt_disable();
  raw_spin_lock_irq(&stopper1->lock);
  cpu_stop_queue_work_(static_cast<unsigned>(cpu1), stopper1, work1);
  raw_spin_unlock_irq(&stopper1->lock);
  raw_spin_lock_irq(&stopper2->lock);
  cpu_stop_queue_work_(static_cast<unsigned>(cpu2), stopper2, work2);
  raw_spin_unlock_irq(&stopper2->lock);
  stopper_wake(stopper1);
  stopper_wake(stopper2);
  preempt_enable();
  return 0;
}

int cpu_stop_queue_two_works(int cpu1, cpu_stop_work* work1, int cpu2, cpu_stop_work* work2) {
  auto& k = kernel();
  cpu_stopper* stopper1 = stopper_of(static_cast<unsigned>(cpu1));
  cpu_stopper* stopper2 = stopper_of(static_cast<unsigned>(cpu2));
  SIM_ASSERT_MSG(cpu1 < cpu2 || k.knobs.b2_separate_locks, "cpu_stop_queue_two_works needs cpu1 < cpu2");
  int err;
  bool mine1 = false, mine2 = false;  // B6 only: the stoppers this call's wake_q holds
  if (k.knobs.b2_separate_locks) return cpu_stop_queue_two_works_b2(cpu1, work1, cpu2, work2);
retry:
  preempt_disable();
  raw_spin_lock_irq(&stopper1->lock);
  raw_spin_lock_nested(&stopper2->lock, SINGLE_DEPTH_NESTING);
  if (!stopper1->enabled || !stopper2->enabled) {
    err = -ENOENT;
  } else if (!k.knobs.two_works_ignore_in_progress && G().stop_cpus_in_progress.load()) {
    // A stop_cpus loop is between our two CPUs: queueing now could order us differently.
    err = -EDEADLK;
    k.sim.probe("stop: two works back off for stop_cpus_in_progress");
  } else {
    if (G().stop_cpus_in_progress.peek())
      k.oracle("I-SM-12", "cpu_stop_queue_two_works appends while stop_cpus_in_progress is set",
               "cpu_stop_queue_two_works");
    cpu_stop_queue_work_(static_cast<unsigned>(cpu1), stopper1, work1);
    cpu_stop_queue_work_(static_cast<unsigned>(cpu2), stopper2, work2);
    if (k.knobs.b6_deferred_stopper_wake) {
      mine1 = wake_q_add(stopper1);
      mine2 = wake_q_add(stopper2);
    }
    if (k.knobs.b3_wake_under_stopper_lock) {
      // BUG B3: the pre-2018 shape: the wake-ups are issued under both stopper locks, and one can
      // wait there for a stopper that is still switching out on its CPU (rule W1).
      stopper_wake(stopper1);
      stopper_wake(stopper2);
    }
    err = 0;
  }
  raw_spin_unlock(&stopper2->lock);
  raw_spin_unlock_irq(&stopper1->lock);
  if (err == -EDEADLK) {
    preempt_enable();
    while (G().stop_cpus_in_progress.load()) cpu_relax();
    goto retry;
  }
  if (!err && k.knobs.b3_wake_under_stopper_lock) {
    // BUG B3: woken above, under the locks.
  } else if (!err && k.knobs.b6_deferred_stopper_wake) {
    // BUG B6: the 2018-2025 shape: both stoppers went into this caller's wake_q under the locks
    // (unless another queuer's held them) and are woken now; a remote one via its wake list.
    wake_up_q(stopper1, mine1);
    wake_up_q(stopper2, mine2);
  } else if (!err) {
    stopper_wake_unless_in_other_wake_q(stopper1);
    if (k.knobs.b4_preempt_between_wakes) {
      // BUG B4: a preemption point between the wake-ups: a local stopper1 runs now and waits
      // for stopper2, which nobody has woken.
      preempt_enable();
      preempt_disable();
    }
    stopper_wake_unless_in_other_wake_q(stopper2);
  }
  preempt_enable();
  if (!err) {
    check_no_lost_wakeup(static_cast<unsigned>(cpu1), work1);
    check_no_lost_wakeup(static_cast<unsigned>(cpu2), work2);
  }
  return err;
}

// I-SM-17: every stop_* call returns within a bound; armed as a background deadline.
namespace {
class liveness_guard {
 public:
  explicit liveness_guard(const char* what) : returned_(std::make_shared<bool>(false)) {
    auto& k = kernel();
    const std::string who = ctx_desc();
    const sim::Duration bound = k.cfg.liveness_bound;
    auto flag = returned_;
    ev_ = k.sim.after(bound, [flag, what, who, bound] {
      if (*flag) return;
      kernel().oracle("I-SM-17", fmt::format("{} called by {} has not returned after {}", what, who,
                                             sim::format_duration(bound)),
                      what);
    }, /*background=*/true);
  }
  ~liveness_guard() {
    *returned_ = true;
    if (Kernel* k = kernel_or_null()) k->sim.cancel(ev_);
  }
  liveness_guard(const liveness_guard&) = delete;
  liveness_guard& operator=(const liveness_guard&) = delete;

 private:
  std::shared_ptr<bool> returned_;
  sim::EventId ev_;
};
}  // namespace

// ---------------------------------------------------------------------------------------------
// Public API (§1.3)

int stop_one_cpu(unsigned cpu, cpu_stop_fn_t fn, void* arg) {
  liveness_guard live("stop_one_cpu");
  cpu_stop_done done;
  cpu_stop_work work;
  work.fn = std::move(fn);
  work.arg = arg;
  work.done = &done;
  work.caller = "stop_one_cpu";
  cpu_stop_init_done(&done, 1);
  if (!cpu_stop_queue_work(cpu, &work)) return -ENOENT;
  if (kernel().knobs.stop_one_cpu_double_queue) cpu_stop_queue_work(cpu, &work);
  // Runs the stopper right away if cpu is this CPU, saving a sleep/wake round trip.
  cond_resched();
  wait_for_completion(&done.completion_);
  return done.ret;
}

bool stop_one_cpu_nowait(unsigned cpu, cpu_stop_fn_t fn, void* arg, cpu_stop_work* work_buf) {
  work_buf->fn = std::move(fn);
  work_buf->arg = arg;
  work_buf->done = nullptr;
  work_buf->caller = "stop_one_cpu_nowait";
  return cpu_stop_queue_work(cpu, work_buf);
}

int stop_two_cpus(unsigned cpu1, unsigned cpu2, cpu_stop_fn_t fn, void* arg) {
  liveness_guard live("stop_two_cpus");
  cpu_stop_done done;
  cpu_stop_work work1, work2;
  const cpumask active = cpumask_of(cpu1);  // fn runs on the cpu1 the caller named
  multi_stop_data msdata;
  msdata.fn = std::move(fn);
  msdata.data = arg;
  msdata.num_threads = 2;
  msdata.active_cpus = &active;
  work1.fn = work2.fn = cpu_stop_fn_t(multi_cpu_stop, "multi_cpu_stop");
  work1.arg = work2.arg = &msdata;
  work1.done = work2.done = &done;
  work1.caller = work2.caller = "stop_two_cpus";
  cpu_stop_init_done(&done, 2);
  set_state_initial(&msdata);
  if (cpu1 > cpu2 && !kernel().knobs.b2_separate_locks) std::swap(cpu1, cpu2);
  if (cpu_stop_queue_two_works(static_cast<int>(cpu1), &work1, static_cast<int>(cpu2), &work2)) return -ENOENT;
  wait_for_completion(&done.completion_);
  return done.ret;
}

bool queue_stop_cpus_work(const cpumask* mask, cpu_stop_fn_t fn, void* arg, cpu_stop_done* done) {
  auto& k = kernel();
  bool queued = false;
  // Preemption stays off so that queueing on our own CPU cannot run a local stopper that then
  // waits for stoppers not queued yet.
  preempt_disable();
  // BUG B15 (knob b15_in_progress_late): the flag becomes visible only after the first CPU is
  // queued and is cleared before the last one, as the compiler may reorder without barriers.
  if (!k.knobs.b15_in_progress_late) G().stop_cpus_in_progress.store(true);
  std::vector<unsigned> cpus;
  cpus.reserve(cpumask_weight(mask));
  for (unsigned cpu : for_each_cpu(mask)) cpus.push_back(cpu);
  if (k.knobs.queue_order_inverted) std::reverse(cpus.begin(), cpus.end());
  for (std::size_t i = 0; i < cpus.size(); ++i) {
    const unsigned cpu = cpus[i];
    if (k.knobs.b15_in_progress_late && i + 1 == cpus.size() && cpus.size() > 1) G().stop_cpus_in_progress.store(false);
    cpu_stop_work* work = &stopper_of(cpu)->stop_work;
    work->fn = fn;
    work->arg = arg;
    work->done = done;
    work->caller = "queue_stop_cpus_work";
    if (cpu_stop_queue_work(cpu, work)) queued = true;
    if (k.knobs.b15_in_progress_late && i == 0 && cpus.size() > 1) G().stop_cpus_in_progress.store(true);
  }
  G().stop_cpus_in_progress.store(false);
  preempt_enable();
  return queued;
}

// kernel: __stop_cpus()
static int stop_cpus_(const cpumask* mask, cpu_stop_fn_t fn, void* arg) {
  cpu_stop_done done;
  cpu_stop_init_done(&done, cpumask_weight(mask));
  if (!queue_stop_cpus_work(mask, std::move(fn), arg, &done)) return -ENOENT;
  wait_for_completion(&done.completion_);
  return done.ret;
}

int stop_cpus(const cpumask* mask, cpu_stop_fn_t fn, void* arg) {
  auto& k = kernel();
  const bool lock = !k.knobs.stop_cpus_no_mutex;
  if (lock) mutex_lock(&G().stop_cpus_mutex);
  if (++G().stop_cpus_in_flight > 1)
    k.oracle("I-SM-12", "two stop_cpus-family operations are in flight at once (stop_cpus_mutex)", "stop_cpus");
  const int ret = stop_cpus_(mask, std::move(fn), arg);
  --G().stop_cpus_in_flight;
  if (lock) mutex_unlock(&G().stop_cpus_mutex);
  return ret;
}

// I-SM-11: at entry every online CPU has an enabled stopper.
static void check_stop_machine_precondition(const char* what) {
  auto& k = kernel();
  for (unsigned cpu : for_each_cpu(&k.cpu_online_mask)) {
    if (!stopper_of(cpu)->enabled)
      k.oracle("I-SM-11",
               fmt::format("{}: online cpu{} has a disabled stopper; its participant can never join (hang)", what, cpu),
               what);
  }
}

int stop_machine_cpuslocked(cpu_stop_fn_t fn, void* data, const cpumask* cpus) {
  auto& k = kernel();
  liveness_guard live("stop_machine_cpuslocked");
  multi_stop_data msdata;
  msdata.fn = std::move(fn);
  msdata.data = data;
  msdata.num_threads = num_online_cpus();
  msdata.active_cpus = cpus;
  if (k.system_running && !lockdep_cpus_held())
    k.oracle("lockdep", "stop_machine_cpuslocked() called without cpu_hotplug_lock held", "stop_machine_cpuslocked");
  if (!G().stop_machine_initialized) {
    // Early boot: only one CPU exists, so the callback is simply called with irqs off.
    if (msdata.num_threads != 1)
      k.sim.trace().event("stop_machine", sim::Level::Warn, "stop.warn", "early stop_machine with {} cpus",
                          msdata.num_threads);
    const unsigned long flags = local_irq_save();
    hard_irq_disable();
    const int ret = msdata.fn(data);
    local_irq_restore(flags);
    return ret;
  }
  check_stop_machine_precondition("stop_machine_cpuslocked");
  // I-HP-9: stop_machine never overlaps a hotplug operation, except the writer's own.
  if (k.cpu->ops_in_flight > 0 && cpu_hotplug_lock().writer != static_cast<task_struct*>(current) &&
      !current->acts_for_hotplug_writer)
    k.oracle("I-HP-9", "stop_machine runs while a hotplug operation is in flight", "stop_machine_cpuslocked");
  msdata.all_online = true;
  set_state_initial(&msdata);
  // I-SM-11: meanwhile the online mask does not change, except the dying CPU's bit; every flip
  // goes through set_cpu_online, which checks it (stop_machine_note_online_change).
  ++G().stop_machine_in_flight;
  const int ret = stop_cpus(&k.cpu_online_mask, cpu_stop_fn_t(multi_cpu_stop, "multi_cpu_stop"), &msdata);
  --G().stop_machine_in_flight;
  return ret;
}

int stop_machine(cpu_stop_fn_t fn, void* data, const cpumask* cpus) {
  cpus_read_lock();
  const int ret = stop_machine_cpuslocked(std::move(fn), data, cpus);
  cpus_read_unlock();
  return ret;
}

cpumask cpu_smt_mask(unsigned cpu) {
  auto& k = kernel();
  cpumask m(k.nr_cpu_ids);
  const unsigned base = cpu - cpu % k.cfg.smt;
  for (unsigned c = base; c < base + k.cfg.smt && c < k.nr_cpu_ids; ++c) cpumask_set_cpu(c, &m);
  return m;
}

int stop_core_cpuslocked(unsigned cpu, cpu_stop_fn_t fn, void* data) {
  auto& k = kernel();
  liveness_guard live("stop_core_cpuslocked");
  const cpumask smt_mask = cpu_smt_mask(cpu);
  multi_stop_data msdata;
  msdata.fn = std::move(fn);
  msdata.data = data;
  msdata.num_threads = cpumask_weight(&smt_mask);
  msdata.active_cpus = &smt_mask;
  if (k.system_running && !lockdep_cpus_held())
    k.oracle("lockdep", "stop_core_cpuslocked() called without cpu_hotplug_lock held", "stop_core_cpuslocked");
  for (unsigned c : for_each_cpu(&smt_mask))
    if (!cpu_online(c) || !stopper_of(c)->enabled)
      k.oracle("I-SM-11", fmt::format("stop_core_cpuslocked: sibling cpu{} is offline or its stopper disabled", c),
               "stop_core_cpuslocked");
  set_state_initial(&msdata);
  return stop_cpus(&smt_mask, cpu_stop_fn_t(multi_cpu_stop, "multi_cpu_stop"), &msdata);
}

int stop_machine_from_inactive_cpu(cpu_stop_fn_t fn, void* data, const cpumask* cpus) {
  auto& k = kernel();
  multi_stop_data msdata;
  msdata.fn = std::move(fn);
  msdata.data = data;
  msdata.active_cpus = cpus;
  cpu_stop_done done;
  if (cpu_active(smp_processor_id()))
    k.oracle("BUG", "stop_machine_from_inactive_cpu() called on an active CPU", "stop_machine_from_inactive_cpu");
  // The local CPU is not active: it joins directly, so one more thread than active CPUs.
  msdata.num_threads = num_active_cpus() + 1;
  // It cannot sleep: spin for the mutex.
  while (!mutex_trylock(&G().stop_cpus_mutex)) cpu_relax();
  if (++G().stop_cpus_in_flight > 1)
    k.oracle("I-SM-12", "two stop_cpus-family operations are in flight at once", "stop_machine_from_inactive_cpu");
  set_state_initial(&msdata);
  cpu_stop_init_done(&done, num_active_cpus());
  queue_stop_cpus_work(&k.cpu_active_mask, cpu_stop_fn_t(multi_cpu_stop, "multi_cpu_stop"), &msdata, &done);
  const int ret = multi_cpu_stop(&msdata);
  // Busy-wait: msdata and done live on this stack until every participant has signalled.
  while (!completion_done(&done.completion_)) cpu_relax();
  --G().stop_cpus_in_flight;
  mutex_unlock(&G().stop_cpus_mutex);
  return ret ? ret : done.ret;
}

// ---------------------------------------------------------------------------------------------
// multi_cpu_stop (§1.5)

static void set_state_initial(multi_stop_data* msdata) {
  msdata->id = G().next_msdata_id++;
  msdata->queued_on.clear();  // a new operation (its id is new too)
  msdata->last_ack.assign(kernel().nr_cpu_ids, MULTI_STOP_NONE);
  msdata->participants = cpumask(kernel().nr_cpu_ids);
  set_state(msdata, MULTI_STOP_PREPARE);
}

static void set_state(multi_stop_data* msdata, int newstate) {
  auto& k = kernel();
  const int old = msdata->state.peek();
  if (k.knobs.set_state_skip_state && newstate == MULTI_STOP_RUN) newstate = MULTI_STOP_EXIT;
  // I-SM-1: states advance one at a time, and only after num_threads acks of the previous one.
  if (newstate != old + 1)
    k.oracle("I-SM-1", fmt::format("msdata #{} state {} -> {} skips a state", msdata->id, multi_stop_state_name(old),
                                   multi_stop_state_name(newstate)),
             "set_state");
  if (old != MULTI_STOP_NONE && msdata->acks_this_state != static_cast<int>(msdata->num_threads))
    k.oracle("I-SM-2", fmt::format("msdata #{} advances from {} after {} acks of {}", msdata->id,
                                   multi_stop_state_name(old), msdata->acks_this_state, msdata->num_threads),
             "set_state");
  msdata->acks_this_state = 0;
  if (k.knobs.state_publish_early) {
    // B17: the new state becomes visible before the counter reset.
    msdata->state.store(newstate);
    atomic_set(&msdata->thread_ack, static_cast<int>(msdata->num_threads));
    msdata->ack_reset_for = newstate;
  } else {
    if (!k.knobs.set_state_skip_reset) {
      atomic_set(&msdata->thread_ack, static_cast<int>(msdata->num_threads));
      msdata->ack_reset_for = newstate;
    }
    // smp_wmb(): whoever sees the new state also sees the reset counter.
    msdata->state.store(newstate);
  }
  trace_sm("msm.state", "msdata={} from={} to={}", msdata->id, multi_stop_state_name(old),
                                    multi_stop_state_name(newstate));
}

static void ack_state(multi_stop_data* msdata, unsigned cpu, int curstate) {
  auto& k = kernel();
  // I-SM-2: every participant acks every state once, in order.
  if (msdata->last_ack[cpu] != curstate - 1)
    k.oracle("I-SM-2", fmt::format("cpu{} acks {} of msdata #{} after acking {}", cpu, multi_stop_state_name(curstate),
                                   msdata->id, multi_stop_state_name(msdata->last_ack[cpu])),
             "ack_state");
  msdata->last_ack[cpu] = curstate;
  ++msdata->acks_this_state;
  trace_sm("msm.ack", "msdata={} cpu={} state={}", msdata->id, cpu, multi_stop_state_name(curstate));
  const int left = atomic_add_return(-1, &msdata->thread_ack);
  if (left < 0)
    k.oracle("I-SM-2", fmt::format("msdata #{} thread_ack went negative ({})", msdata->id, left), "ack_state");
  if (left == 0) {
    // I-SM-3: one call per active participant. With active_cpus NULL at most one, whatever each
    // participant thought (the lowest online CPU as it entered); exactly one over all online
    // CPUs, where the lowest is a participant.
    const int expected = msdata->active_cpus  ? msdata->expected_fn_calls
                         : msdata->all_online ? 1
                                              : std::min(msdata->expected_fn_calls, 1);
    if (curstate + 1 == MULTI_STOP_EXIT && msdata->fn_calls != expected)
      k.oracle("I-SM-3", fmt::format("msdata #{}: fn ran {} times, expected {}", msdata->id, msdata->fn_calls,
                                     expected),
               "multi_cpu_stop:RUN");
    set_state(msdata, msdata->state.peek() + 1);
  }
}

// I-SM-4 and I-SM-5, checked as a CPU is about to call fn.
static void check_run_preconditions(multi_stop_data* msdata, unsigned cpu) {
  auto& k = kernel();
  if (msdata->fn_calls > 0) return;  // participants cannot change state while fn runs: check once
  for (unsigned c : for_each_cpu(&msdata->participants)) {
    if (!cpu_rq(c)->irqs_disabled || cpu_rq(c)->msm_cur < MULTI_STOP_DISABLE_IRQ)
      k.oracle("I-SM-4", fmt::format("cpu{} calls fn of msdata #{} while participant cpu{} has irqs {} in state {}", cpu,
                                     msdata->id, c, cpu_rq(c)->irqs_disabled ? "off" : "on",
                                     multi_stop_state_name(cpu_rq(c)->msm_cur)),
               "multi_cpu_stop:RUN");
  }
  if (!msdata->all_online) return;
  for (const auto& t : k.tasks) {
    if (t->state == TASK_DEAD || t->on_cpu.peek() || !t->switched_out_atomic) continue;
    if (t->sched_class != sched_class_id::fair || !cpu_online(t->cpu)) continue;
    k.oracle("I-SM-5", fmt::format("fn of msdata #{} runs while {} on cpu{} is switched out inside an atomic region",
                                   msdata->id, t->comm, t->cpu),
             "multi_cpu_stop:RUN");
  }
}

static void msm_join(multi_stop_data* msdata, unsigned cpu, bool is_active) {
  auto& k = kernel();
  if (cpumask_test_cpu(cpu, &msdata->participants))
    k.oracle("I-SM-2", fmt::format("cpu{} joins msdata #{} twice", cpu, msdata->id), "multi_cpu_stop");
  cpumask_set_cpu(cpu, &msdata->participants);
  if (is_active) ++msdata->expected_fn_calls;
  cpu_rq(cpu)->msm_cur = MULTI_STOP_NONE;
}

// Coverage probe names of the state loop, formatted once: the wait branch runs at every spin.
enum class msm_probe_kind { observed, observed_active, waited };
static const std::string& msm_probe(int state, msm_probe_kind kind) {
  static const auto names = [] {
    std::array<std::array<std::string, 3>, MULTI_STOP_EXIT + 2> n;
    for (int s = 0; s <= MULTI_STOP_EXIT + 1; ++s) {
      const char* st = multi_stop_state_name(s);
      n[s] = {fmt::format("msm {} observed", st), fmt::format("msm {} observed (active)", st),
              fmt::format("msm {} waited", st)};
    }
    return n;
  }();
  const int row = state >= 0 && state <= MULTI_STOP_EXIT ? state : MULTI_STOP_EXIT + 1;  // AFTER_EXIT
  return names[static_cast<std::size_t>(row)][static_cast<std::size_t>(kind)];
}

int multi_cpu_stop(void* data) {
  auto& k = kernel();
  auto* msdata = static_cast<multi_stop_data*>(data);
  int curstate = MULTI_STOP_NONE;
  const unsigned cpu = smp_processor_id();
  const unsigned long flags = irqs_disabled() ? 1 : 0;  // local_save_flags(): may already be off
  const cpumask* cpumask;
  bool is_active;
  int err = 0;
  if (!msdata->active_cpus) {
    cpumask = &k.cpu_online_mask;
    is_active = cpu == cpumask_first(cpumask);
  } else {
    cpumask = msdata->active_cpus;
    is_active = cpumask_test_cpu(cpu, cpumask);
  }
  msm_join(msdata, cpu, is_active);
  // Knob: the highest-numbered online CPU never acks PREPARE (the others wait forever).
  const bool skip_ack = (k.knobs.msm_skip_ack && cpu + 1 == num_online_cpus()) ||
                        k.knobs.msm_skip_ack_cpu == static_cast<int>(cpu);
  bool latched = false;  // B16: this CPU stopped re-reading msdata->state
  int newstate = MULTI_STOP_NONE;
  do {
    stop_machine_yield(cpumask);
    if (!latched) newstate = msdata->state.load();
    // BUG B16 (knob b16_stale_state): a plain access the compiler keeps in a register.
    if (k.knobs.b16_stale_state && !latched && newstate != curstate && newstate != MULTI_STOP_EXIT &&
        k.sim.chance(sim::ChoiceKind::Fault, sim::Ratio{1, 16}, "fault"))
      latched = true;
    if (k.knobs.b12_eqs_every_iteration) rcu_momentary_eqs();  // BUG B12: also with irqs on
    if (newstate != curstate) {
      // I-SM-15: whoever sees the new state also sees its reset ack counter.
      if (msdata->ack_reset_for != newstate)
        k.oracle("I-SM-15", fmt::format("cpu{} sees {} of msdata #{} before its thread_ack reset", cpu,
                                        multi_stop_state_name(newstate), msdata->id),
                 fmt::format("multi_cpu_stop:{}", multi_stop_state_name(newstate)));
      curstate = newstate;
      cpu_rq(cpu)->msm_cur = curstate;
      k.sim.probe(msm_probe(curstate, is_active ? msm_probe_kind::observed_active : msm_probe_kind::observed));
      switch (curstate) {
        case MULTI_STOP_DISABLE_IRQ:
          if (!k.knobs.msm_skip_irq_disable) {
            local_irq_disable();
            hard_irq_disable();
          }
          break;
        case MULTI_STOP_RUN:
          if (is_active) {
            check_run_preconditions(msdata, cpu);
            trace_sm("msm.fn", "msdata={} cpu={} fn={}", msdata->id, cpu, msdata->fn.name);
            cpu_rq(cpu)->msm_fn = msdata->fn.name;
            err = msdata->fn(msdata->data);
            cpu_rq(cpu)->msm_fn = nullptr;
            ++msdata->fn_calls;
            if (k.knobs.msm_double_fn) {
              msdata->fn(msdata->data);
              ++msdata->fn_calls;
            }
          }
          break;
        default:
          break;
      }
      if (skip_ack && curstate == MULTI_STOP_PREPARE) continue;
      if (latched && curstate == newstate && msdata->last_ack[cpu] == curstate) continue;
      ack_state(msdata, cpu, curstate);
    } else if (curstate > MULTI_STOP_PREPARE) {
      k.sim.probe(msm_probe(curstate, msm_probe_kind::waited));
      // irqs are off here: keep the watchdogs and RCU from blaming a CPU that only waits.
      if (!k.knobs.b13_no_nmi_touch) touch_nmi_watchdog();           // BUG B13 when skipped
      if (!k.knobs.b11_no_rcu_eqs && !k.knobs.b12_eqs_every_iteration) rcu_momentary_eqs();  // BUG B11
    }
  } while (curstate != MULTI_STOP_EXIT);
  cpu_rq(cpu)->msm_cur = -1;  // out of the loop: interrupts taken at the restore are legitimate
  if (k.knobs.msm_enable_irqs_on_exit) local_irq_enable();
  else local_irq_restore(flags);
  // I-SM-6: the irq flag on return equals the one on entry.
  if (irqs_disabled() != irqs_disabled_flags(flags))
    k.oracle("I-SM-6", fmt::format("cpu{} leaves multi_cpu_stop with irqs {} but entered with them {}", cpu,
                                   irqs_disabled() ? "off" : "on", irqs_disabled_flags(flags) ? "off" : "on"),
             "multi_cpu_stop:EXIT");
  return err;
}

void stop_machine_yield(const cpumask*) { cpu_relax(); }

// ---------------------------------------------------------------------------------------------
// The stopper thread (§1.4)

static int cpu_stop_should_run(unsigned cpu) {
  cpu_stopper* stopper = stopper_of(cpu);
  unsigned long flags;
  raw_spin_lock_irqsave(&stopper->lock, flags);
  const bool run = !stopper->works.empty();
  raw_spin_unlock_irqrestore(&stopper->lock, flags);
  return run ? 1 : 0;
}

static void note_executed(std::uint64_t id, unsigned cpu, const char* fn) {
  auto& k = kernel();
  auto& g = G();
  if (id == 0 || id > g.fates_base + g.fates.size()) return;
  // Null for a work dropped from the window: it had run already.
  stop_work_fate* fate = id > g.fates_base ? &g.fates[id - g.fates_base - 1] : nullptr;
  if (!fate || ++fate->executed > 1)
    k.oracle("I-SM-8", fmt::format("work {} (#{}) executed twice", fn, id), "cpu_stopper_thread");
  if (fate && fate->cpu != cpu)
    k.oracle("I-SM-8", fmt::format("work {} queued for cpu{} ran on cpu{}", fn, fate->cpu, cpu),
             "cpu_stopper_thread");
  // Slide the window past the works that have run, compacting when the dead prefix is most of it,
  // so the record stays the size of what is outstanding (amortised O(1) a work).
  while (g.fates_done < g.fates.size() && g.fates[g.fates_done].executed > 0) ++g.fates_done;
  if (g.fates_done >= 32 && 2 * g.fates_done >= g.fates.size()) {
    g.fates.erase(g.fates.begin(), g.fates.begin() + static_cast<std::ptrdiff_t>(g.fates_done));
    g.fates_base += g.fates_done;
    g.fates_done = 0;
  }
}

static void cpu_stopper_thread(unsigned cpu) {
  auto& k = kernel();
  cpu_stopper* stopper = stopper_of(cpu);
  for (;;) {
    cpu_stop_work* work = nullptr;
    raw_spin_lock_irq(&stopper->lock);
    if ((k.knobs.stopper_park_nonempty || k.knobs.b9_park_discards || k.knobs.b10_park_leaves_linked) &&
        kthread_should_park() &&
        !stopper->works.empty()) {
      raw_spin_unlock_irq(&stopper->lock);
      return;  // leaves works behind: the park callback must notice
    }
    if (!stopper->works.empty()) {
      work = stopper->works.front();
      stopper->works.pop_front();
      work->on_list = false;  // list_del_init
    }
    raw_spin_unlock_irq(&stopper->lock);
    if (work == nullptr) return;
    cpu_stop_done* done = work->done;
    const cpu_stop_fn_t fn = work->fn;
    void* arg = work->arg;
    const std::uint64_t id = work->id;
    stopper->caller = work->caller;
    stopper->fn = fn.name;
    // fn runs atomic: it must not sleep (I-SM-16).
    preempt_count_inc();
    const int depth = preempt_count();
    trace_sm("stop.start", "cpu={} fn={} work={}", cpu, fn.name, id);
    if (is_multi_cpu_stop(work)) stopper->running_msdata = static_cast<const multi_stop_data*>(arg);
    const int ret = fn(arg);
    stopper->running_msdata = nullptr;  // before the done: its caller may then free the msdata
    note_executed(id, cpu, fn.name);
    if (done) {
      if (ret) done->ret = ret;
      cpu_stop_signal_done(done);
      if (k.knobs.done_double_signal) cpu_stop_signal_done(done);
    }
    trace_sm("stop.done", "cpu={} fn={} work={} ret={}", cpu, fn.name, id, ret);
    if (preempt_count() != depth)
      k.oracle("I-SM-16", fmt::format("stop callback {} leaked preempt count ({} -> {})", fn.name, depth, preempt_count()),
               fmt::format("cpu_stopper_thread:{}", fn.name));
    preempt_count_dec();
    stopper->fn = nullptr;
    stopper->caller = nullptr;
  }
}

static void cpu_stop_create(unsigned cpu) {
  G().stoppers[cpu].thread = G().thread_store[cpu];
  sched_set_stop_task(cpu, G().thread_store[cpu]);
}

static void cpu_stop_park(unsigned cpu) {
  cpu_stopper* stopper = stopper_of(cpu);
  if (kernel().knobs.b9_park_discards) {
    // BUG B9: the pre-v4.4 park: pending works are signalled as not executed and dropped.
    raw_spin_lock_irq(&stopper->lock);
    while (!stopper->works.empty()) {
      cpu_stop_work* w = stopper->works.front();
      stopper->works.pop_front();
      w->on_list = false;
      kernel().oracle("I-SM-8", fmt::format("work {} accepted by cpu{} is dropped when its stopper parks", w->fn.name, cpu),
                      "cpu_stop_park");
      if (w->done) cpu_stop_signal_done(w->done);
    }
    stopper->enabled = false;
    raw_spin_unlock_irq(&stopper->lock);
  }
  if (kernel().knobs.b10_park_leaves_linked) {
    // BUG B10: the v4.3 park: pending works are signalled as not executed, so their waiters
    // return and may reuse the work, but nothing unlinks them (no list_del_init).
    raw_spin_lock_irq(&stopper->lock);
    for (cpu_stop_work* w : stopper->works)
      if (w->done) cpu_stop_signal_done(w->done);
    stopper->enabled = false;
    raw_spin_unlock_irq(&stopper->lock);
  }
  // I-SM-9: a parked stopper is empty and disabled.
  if (!stopper->works.empty() || stopper->enabled)
    kernel().oracle("I-SM-9", fmt::format("migration/{} parks with {} work(s) queued and enabled={}", cpu,
                                          stopper->works.size(), stopper->enabled),
                    "cpu_stop_park");
  trace_sm("stop.park", "cpu={}", cpu);
}

// I-SM-10: an online CPU past cpuhp_online_idle has an enabled stopper, except the dying CPU
// inside take_cpu_down. Checked at every transition of either side rather than every step.
void stop_machine_check_enabled_window(unsigned cpu) {
  auto& k = kernel();
  if (!G().stop_machine_initialized) return;
  if (cpu_online(cpu) && cpuhp_state_of(cpu)->state >= CPUHP_AP_ONLINE_IDLE && !G().stoppers[cpu].enabled &&
      !G().dying[cpu])
    k.oracle("I-SM-10", fmt::format("cpu{} is online and past cpuhp_online_idle but its stopper is disabled", cpu),
             "stopper.enabled");
}

void stop_machine_note_online_change(unsigned cpu) {
  if (!kernel().sm || G().stop_machine_in_flight == 0 || G().dying[cpu]) return;
  kernel().oracle("I-SM-11", fmt::format("cpu{} changes online state during stop_machine", cpu), "set_cpu_online");
}

void stop_machine_park(unsigned cpu) {
  cpu_stopper* stopper = stopper_of(cpu);
  // Works queued before this store still run: the stopper drains its list before parking.
  stopper->enabled = false;
  trace_sm("stop.disable", "cpu={}", cpu);
  stop_machine_check_enabled_window(cpu);
  kthread_park(stopper->thread);
}

void stop_machine_unpark(unsigned cpu) {
  auto& k = kernel();
  cpu_stopper* stopper = stopper_of(cpu);
  if (!cpu_online(cpu) && G().stop_machine_initialized)
    k.oracle("I-SM-10", fmt::format("stopper of offline cpu{} enabled", cpu), "stop_machine_unpark");
  stopper->enabled = true;
  trace_sm("stop.enable", "cpu={}", cpu);
  kthread_unpark(stopper->thread);
}

void cpu_stop_init() {
  auto& g = G();
  auto& k = kernel();
  g.cpu_stop_threads.store = &g.thread_store;
  g.cpu_stop_threads.thread_should_run = cpu_stop_should_run;
  g.cpu_stop_threads.thread_fn = cpu_stopper_thread;
  g.cpu_stop_threads.thread_comm = "migration/%u";
  g.cpu_stop_threads.create = cpu_stop_create;
  g.cpu_stop_threads.park = cpu_stop_park;
  g.cpu_stop_threads.selfparking = true;
  if (smpboot_register_percpu_thread(&g.cpu_stop_threads) != 0)
    k.oracle("BUG", "cpu_stop_init: cannot register the stopper threads", "cpu_stop_init");
  for (unsigned cpu = 0; cpu < k.nr_cpu_ids; ++cpu) g.stoppers[cpu].thread = g.thread_store[cpu];
  stop_machine_unpark(0);
  g.stop_machine_initialized = true;
}

std::string print_stop_info(const task_struct* task) {
  cpu_stopper* stopper = stopper_of(task->cpu);
  if (task != stopper->thread || stopper->fn == nullptr) return {};
  return fmt::format("Stopper: {} <- {}", stopper->fn, stopper->caller ? stopper->caller : "?");
}

// ---------------------------------------------------------------------------------------------
// Oracle hooks for the rest of the model

void stop_machine_irq_entry_check(unsigned cpu) {
  if (cpu_rq(cpu)->msm_cur >= MULTI_STOP_DISABLE_IRQ)
    kernel().oracle("I-SM-4", fmt::format("an interrupt handler runs on cpu{} inside multi_cpu_stop {}", cpu,
                                          multi_stop_state_name(cpu_rq(cpu)->msm_cur)),
                    fmt::format("multi_cpu_stop:{}", multi_stop_state_name(cpu_rq(cpu)->msm_cur)));
}

void stop_machine_schedule_check(const task_struct* prev) {
  if (!kernel().sm) return;
  cpu_stopper* stopper = stopper_of(prev->cpu);
  if (prev == stopper->thread && stopper->fn != nullptr)
    kernel().oracle("I-SM-16", fmt::format("stop callback {} sleeps on cpu{}", stopper->fn, prev->cpu),
                    fmt::format("cpu_stopper_thread:{}", stopper->fn));
}

void stop_machine_note_dying(unsigned cpu, bool dying) { G().dying[cpu] = dying; }

void stop_machine_final_checks() {
  auto& k = kernel();
  for (std::size_t i = G().fates_done; i < G().fates.size(); ++i) {
    const stop_work_fate& fate = G().fates[i];
    if (fate.executed == 0) {
      k.oracle("I-SM-8",
               fmt::format("work {} (#{}) queued on cpu{} never ran (lost)", fate.fn, G().fates_base + i + 1, fate.cpu),
               "cpu_stop_queue_work");
      return;
    }
  }
}

}  // namespace model
