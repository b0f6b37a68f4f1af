// model/sched.cpp — models kernel/sched/core.c (schedule, try_to_wake_up, preemption points),
// kernel/sched/idle.c (do_idle) and the irq entry/exit paths, on sim lanes and fibers.
// Not modelled: see model/kernel.hpp.
#include "model/kernel.hpp"
#include "model/cpu.hpp"
#include "model/lockdep.hpp"
#include "model/rcu.hpp"
#include "model/stop_machine.hpp"
#include "model/watchdog.hpp"

#include <fmt/format.h>

namespace model {


void not_in_cpu_context() {
  sim::assert_fail("s.in_fiber()", __FILE__, __LINE__, "smp_processor_id() outside a CPU context");
}

unsigned task_cpu(const task_struct* p) { return p->cpu; }

// ---------------------------------------------------------------------------------------------
// include/linux/preempt.h

int preempt_count() { return current->preempt_count; }
void preempt_count_inc() { ++current->preempt_count; }
void preempt_count_dec() {
  SIM_ASSERT_MSG(current->preempt_count > 0, "preempt_count underflow");
  --current->preempt_count;
}
void preempt_disable() { preempt_count_inc(); }
void preempt_enable_no_resched() { preempt_count_dec(); }

bool preemptible() {
  rq* r = this_rq();
  return r->curr->preempt_count == 0 && !r->irqs_disabled && r->in_irq == 0 && r->in_nmi == 0;
}

bool in_interrupt() {
  rq* r = this_rq();
  return r->in_irq > 0 || r->in_nmi > 0;
}

static void preempt_check(rq* r) {
  if (r->need_resched && !r->in_schedule && r->curr->preempt_count == 0 && !r->irqs_disabled && r->in_irq == 0 &&
      r->in_nmi == 0)
    schedule();
}

void preempt_enable() {
  preempt_count_dec();
  preempt_check(this_rq());
}

// ---------------------------------------------------------------------------------------------
// include/linux/irqflags.h

static void trace_irq(rq* r, bool off) {
  auto& k = kernel();
  k.sim.trace().event("irq", sim::Level::Debug, off ? "irq.off" : "irq.on", "cpu={}", r->cpu);
}

static void deliver_pending(rq* r);
static void balance_push(rq* r);
static void newidle_balance(rq* r);
static void ttwu_do_activate(task_struct* p);

void local_irq_disable() {
  rq* r = this_rq();
  if (!r->irqs_disabled) trace_irq(r, true);
  r->irqs_disabled = true;
}

void local_irq_enable() {
  rq* r = this_rq();
  if (r->irqs_disabled) trace_irq(r, false);
  r->irqs_disabled = false;
  deliver_pending(r);
  preempt_check(r);
}

unsigned long local_irq_save() {
  rq* r = this_rq();
  const unsigned long flags = r->irqs_disabled ? 1 : 0;
  local_irq_disable();
  return flags;
}

void local_irq_restore(unsigned long flags) {
  if (irqs_disabled_flags(flags)) local_irq_disable();
  else local_irq_enable();
}

void hard_irq_disable() { local_irq_disable(); }
bool irqs_disabled() { return this_rq()->irqs_disabled; }
bool irqs_disabled_flags(unsigned long flags) { return flags != 0; }

// ---------------------------------------------------------------------------------------------
// Interrupt delivery: on the interrupted task's fiber, at its interleaving points.

static void run_handler(rq* r, pending_irq& irq, bool nmi) {
  auto& k = kernel();
  const bool was_off = r->irqs_disabled;
  if (nmi) ++r->in_nmi; else ++r->in_irq;
  r->irqs_disabled = true;
  ++r->nr_irqs;
  if (!nmi) stop_machine_irq_entry_check(r->cpu);
  k.sim.trace().event("irq", sim::Level::Debug, nmi ? "nmi.entry" : "irq.entry", "cpu={} irq={}", r->cpu, irq.name);
  irq.handler();
  r->irqs_disabled = was_off;
  if (nmi) --r->in_nmi; else --r->in_irq;
}

static void deliver_pending(rq* r) {
  if (r->in_irq > 0 || r->in_nmi > 0) return;
  while (!r->pending_nmi.empty()) {
    pending_irq irq = std::move(r->pending_nmi.front());
    r->pending_nmi.pop_front();
    run_handler(r, irq, true);
  }
  while (!r->irqs_disabled && !r->pending.empty()) {
    pending_irq irq = std::move(r->pending.front());
    r->pending.pop_front();
    run_handler(r, irq, false);
  }
}

void irq_and_preempt_point() {
  auto& k = kernel();
  if (!k.sim.in_fiber()) return;
  rq* r = cpu_rq(k.sim.this_lane());
  if (r->in_schedule) return;
  deliver_pending(r);
  preempt_check(r);
}

void raise_irq(unsigned cpu, const char* name, std::function<void()> handler) {
  auto& k = kernel();
  rq* r = cpu_rq(cpu);
  r->pending.push_back(pending_irq{name, std::move(handler)});
  if (!r->irqs_disabled) k.sim.kick(cpu, k.sim.now());
}

void raise_nmi(unsigned cpu, const char* name, std::function<void()> handler) {
  auto& k = kernel();
  cpu_rq(cpu)->pending_nmi.push_back(pending_irq{name, std::move(handler)});
  k.sim.kick(cpu, k.sim.now());
}

void cpu_relax() { kernel().sim.relax(); }

void touch_nmi_watchdog() {
  auto& k = kernel();
  k.sim.trace().event("watchdog", sim::Level::Debug, "wd.touch", "cpu={}", k.sim.this_lane());
  if (k.wd) watchdog_touch_nmi(k.sim.this_lane());
}

void rcu_momentary_eqs() {
  auto& k = kernel();
  k.sim.trace().event("rcu", sim::Level::Debug, "rcu.eqs", "cpu={}", k.sim.this_lane());
  if (k.rcu) rcu_momentary_eqs_(k.sim.this_lane());
}

// ---------------------------------------------------------------------------------------------
// The tick (kernel/time/tick-sched.c, scheduler_tick): periodic while the CPU is not idle.

static void scheduler_tick(unsigned cpu) {
  auto& k = kernel();
  rq* r = cpu_rq(cpu);
  r->tick_pending = false;
  r->last_tick = k.sim.now();
  if (k.rcu) rcu_sched_clock_irq(cpu);
  if (r->curr->sched_class == sched_class_id::fair && !r->fair.empty()) r->need_resched = true;
}

static void tick_arm(unsigned cpu) {
  auto& k = kernel();
  rq* r = cpu_rq(cpu);
  const sim::Duration period = sim::Duration::ns(1'000'000'000LL / k.cfg.hz);
  const sim::Time now = k.sim.now();
  // Ticks are aligned to multiples of the period, like a real periodic tick.
  const sim::Time next = sim::Time::zero() + period * ((now - sim::Time::zero()) / period + 1);
  r->tick_ev = k.sim.at(next, [cpu] {
    auto& kk = kernel();
    rq* rr = cpu_rq(cpu);
    rr->tick_ev = sim::EventId{};
    if (rr->tick_stopped) return;
    if (!rr->tick_pending) {
      rr->tick_pending = true;
      raise_irq(cpu, "tick", [cpu] { scheduler_tick(cpu); });
    }
    kk.sim.set_event_lane(cpu);
    tick_arm(cpu);
  }, /*background=*/true);
}

void tick_start(unsigned cpu) {
  rq* r = cpu_rq(cpu);
  if (!r->tick_stopped) return;
  r->tick_stopped = false;
  tick_arm(cpu);
}

void tick_stop(unsigned cpu) {
  rq* r = cpu_rq(cpu);
  r->tick_stopped = true;
  kernel().sim.cancel(r->tick_ev);
  r->tick_ev = sim::EventId{};
}

// ---------------------------------------------------------------------------------------------
// kernel/sched/core.c

void set_current_state(unsigned state) { current->state = state; }
void set_special_state(unsigned state) { current->state = state; }

task_struct* pick_next_task(rq* r) {
  if (r->stop != nullptr && r->stop->on_rq && r->stop->state == TASK_RUNNING) return r->stop;
  if (!r->fair.empty()) return r->fair.front();
  return r->idle;
}

bool dequeue_fair(rq* r, task_struct* p) {
  for (auto it = r->fair.begin(); it != r->fair.end(); ++it)
    if (*it == p) {
      r->fair.erase(it);
      return true;
    }
  return false;
}

static void context_switch(rq* r, task_struct* prev, task_struct* next) {
  auto& k = kernel();
  bool holds_raw = false;
  for (const auto& h : prev->held_locks) holds_raw |= h.raw_spin;
  // I-SM-5 bookkeeping: a task switched out inside a preempt/irq-disabled region. The allowed
  // depth is the caller's own (schedule_preempt_disabled, the idle task's preempt-off loop).
  prev->switched_out_atomic = holds_raw || r->irqs_disabled;
  stop_machine_switch_check(prev);
  prev->on_cpu.set_quiet(false);
  next->on_cpu.set_quiet(true);
  r->curr = next;
  if (prev->wake_on_switch) {
    prev->wake_on_switch = false;
    prev->state = TASK_RUNNING;
    ttwu_do_activate(prev);
  }
  ++r->nr_switches;
  ++prev->nvcsw;
  k.sim.trace().event("sched", sim::Level::Info, "sched.switch", "cpu={} prev={} next={}", r->cpu, prev->comm,
                      next->comm);
  if (prev == r->idle && next != r->idle) tick_start(r->cpu);
  if (k.rcu) rcu_note_context_switch(r->cpu);
  k.sim.switch_to(next->fiber);
}

void schedule() {
  auto& k = kernel();
  rq* r = this_rq();
  task_struct* prev = r->curr;
  SIM_ASSERT_MSG(r->in_irq == 0 && r->in_nmi == 0, "schedule() from interrupt context");
  stop_machine_schedule_check(prev);
  if (prev->preempt_count != 0)  // "BUG: scheduling while atomic"
    k.oracle("scheduling-while-atomic", fmt::format("{} schedules with preempt_count={}", prev->comm,
                                                    prev->preempt_count), "schedule");
  r->in_schedule = true;
  if (prev->state != TASK_RUNNING) {
    prev->on_rq = false;
    dequeue_fair(r, prev);
  } else if (prev->sched_class == sched_class_id::fair && prev != r->idle) {
    dequeue_fair(r, prev);
    r->fair.push_back(prev);  // round-robin among fair tasks
  }
  r->need_resched = false;
  if (k.cfg.idle_balance && prev != r->idle && pick_next_task(r) == r->idle) newidle_balance(r);
  task_struct* next = pick_next_task(r);
  if (next->sched_class == sched_class_id::fair) dequeue_fair(r, next);
  if (next != prev) {
    k.sim.advance(k.sim.step_cost());
    context_switch(r, prev, next);
    // SIM: the run is over and this task, switched out in an idle loop, ends by returning
    // (sim::Sim::QuietExit); its caller returns too.
    if (sim::Sim::ending()) return;
    r = this_rq();  // we may resume on another CPU after a re-bind
  }
  r->in_schedule = false;
  balance_push(r);
  preempt_check(r);
}

void schedule_tail() {
  auto& k = kernel();
  if (!k.sim.in_fiber()) return;
  rq* r = cpu_rq(k.sim.this_lane());
  r->in_schedule = false;
  balance_push(r);
}

void schedule_preempt_disabled() {
  preempt_enable_no_resched();
  schedule();
  if (sim::Sim::ending()) return;
  preempt_disable();
}

void cond_resched() {
  if (preempt_count() == 0 && this_rq()->need_resched) schedule();
  else kernel().sim.point(sim::PointKind::Lock);
}

// kernel: ttwu_do_activate() and the select_task_rq() before it: p, now TASK_RUNNING, goes on a
// run queue and its CPU is told to reschedule.
static void ttwu_do_activate(task_struct* p) {
  auto& k = kernel();
  // select_task_rq() -> is_cpu_allowed(): no task may be placed on a CPU that is not online.
  // A task that slept there while it went down (a parked per-CPU thread woken by kthread_stop,
  // a task whose CPU died under it) goes to select_fallback_rq()'s CPU, the first active one.
  // SIM: two exceptions. A thread woken to park (creation, kthread_park) parks on its offline
  // CPU, where the kernel's would park on a fallback CPU until kthread_unpark rebinds it. A task
  // that never ran yet starts on the offline CPU it was created on: that is how a test or a
  // scenario action stands in for code an AP runs before it is online (an inactive CPU).
  if (!cpu_online(p->cpu) && p->nvcsw > 0 && p != cpu_rq(p->cpu)->idle &&
      !(p->kt && (p->kt->flags & KTHREAD_SHOULD_PARK))) {
    const unsigned dest = select_fallback_rq(p->cpu);
    if (dest < k.nr_cpu_ids) {
      k.sim.trace().event("sched", sim::Level::Info, "sched.fallback", "pid={} comm={} from={} to={}", p->pid, p->comm,
                          p->cpu, dest);
      p->cpu = dest;
    }
  }
  // select_task_rq(): an unbound task that is not queued goes to an idle active CPU if its own is busy.
  // Else the waker's CPU, unless a stop-class task holds it (wake-affine).
  if (p->unbound && !p->on_rq && !p->on_cpu.peek() && cpu_rq(p->cpu)->curr != cpu_rq(p->cpu)->idle) {
    unsigned dest = k.nr_cpu_ids;
    for (unsigned c : for_each_cpu(&k.cpu_active_mask)) {
      if (cpu_rq(c)->curr == cpu_rq(c)->idle && cpu_rq(c)->fair.empty()) {
        dest = c;
        break;
      }
    }
    if (dest == k.nr_cpu_ids && k.sim.in_fiber()) {
      const unsigned me = k.sim.this_lane();
      if (cpu_active(me) && cpu_rq(me)->curr->sched_class != sched_class_id::stop) dest = me;
    }
    if (dest < k.nr_cpu_ids) p->cpu = dest;
  }
  rq* r = cpu_rq(p->cpu);
  if (!p->on_rq) {
    p->on_rq = true;
    if (p->sched_class == sched_class_id::fair && r->curr != p) r->fair.push_back(p);
  }
  k.sim.trace().event("sched", sim::Level::Debug, "sched.wakeup", "pid={} comm={} cpu={}", p->pid, p->comm, p->cpu);
  if (r->curr != p && (p->sched_class == sched_class_id::stop || r->curr == r->idle)) {
    r->need_resched = true;
    const bool local = k.sim.in_fiber() && k.sim.this_lane() == p->cpu;
    if (!local) k.sim.kick(p->cpu, k.sim.now());
  }
}

// SIM: how long an IPI takes to reach its target. The model's other cross-CPU interrupts are
// delivered at once; only B6's wake list needs the delay that gives the target time to act.
static constexpr sim::Duration kWakeListIpiLatency = sim::Duration::ns(2'000);

// BUG B6 (knob b6_deferred_stopper_wake): ttwu_queue_wakelist() as it was until 2025, also for the
// stop class. The wake-up of a task on another CPU is queued on that CPU's wake list and done by
// its IPI handler (sched_ttwu_pending). Until then the task is TASK_WAKING: not runnable, and
// further wake-ups find nothing to do.
static void ttwu_queue_wakelist(task_struct* p) {
  auto& k = kernel();
  p->state = TASK_WAKING;
  const unsigned cpu = p->cpu;
  k.sim.trace().event("sched", sim::Level::Debug, "sched.wakelist", "pid={} comm={} cpu={}", p->pid, p->comm, cpu);
  k.sim.after(kWakeListIpiLatency, [p, cpu] {
    kernel().sim.set_event_lane(cpu);
    raise_irq(cpu, "ipi.ttwu", [p] {
      if (p->state != TASK_WAKING) return;
      p->state = TASK_RUNNING;
      ttwu_do_activate(p);
    });
  });
}

// try_to_wake_up(): the state check and enqueue are one atomic step in the model, as under the
// task's pi_lock in the kernel; the target CPU takes the preemption at its next preemption point.
// W1 (spec §1.7): no wake-up while holding a stopper lock. The wake-up may wait for the wakee
// to finish switching out on its CPU, whose scheduler may in turn want that stopper lock (B3):
// reported at the wake-up itself, whether or not the interleaving that deadlocks comes.
static void check_no_wake_under_stopper_lock(const task_struct* p) {
  auto& k = kernel();
  if (!k.sim.in_fiber() || k.knobs.w1_unchecked) return;
  for (const held_lock& h : current->held_locks)
    if (h.cls == cpu_stopper_lock_class) {
      k.oracle("W1", fmt::format("{} wakes {} while holding a cpu_stopper.lock", current->comm, p->comm),
               fmt::format("wake:{}", p->comm));
      return;
    }
}

static int try_to_wake_up(task_struct* p, unsigned state) {
  auto& k = kernel();
  k.sim.point(sim::PointKind::Lock);
  // A running task (state 0) matches no mask: nothing to do. A task that set a sleeping state
  // but has not reached schedule() yet is still on the run queue: it just becomes RUNNING again
  // and its schedule() returns at once (no lost wake-up).
  if (!(p->state & state)) return 0;
  check_no_wake_under_stopper_lock(p);
  if (k.knobs.b6_deferred_stopper_wake && p->sched_class == sched_class_id::stop && !p->on_rq && k.sim.in_fiber() &&
      k.sim.this_lane() != p->cpu) {
    ttwu_queue_wakelist(p);
    return 1;
  }
  if (!p->on_rq && p->on_cpu.peek()) {
    // p has left its run queue but is still switching out on its CPU, which can only be while
    // that CPU's schedule() balances (idle_balance): wait for the switch, as the kernel's
    // smp_cond_load_acquire(&p->on_cpu, !VAL) does, with p claimed so no one else wakes it.
    // SIM: timer callbacks run outside any CPU and cannot wait; the switch finishes their wake-up.
    p->state = TASK_WAKING;
    if (!k.sim.in_fiber()) {
      p->wake_on_switch = true;
      return 1;
    }
    while (p->on_cpu.load()) cpu_relax();
  }
  p->state = TASK_RUNNING;
  ttwu_do_activate(p);
  return 1;
}

int wake_up_process(task_struct* p) { return try_to_wake_up(p, TASK_NORMAL); }
int wake_up_state(task_struct* p, unsigned state) { return try_to_wake_up(p, state); }

// kernel/sched/core.c: affine_move_task(), reduced to its stopper interaction: the caller decides
// under the rq lock that `dest` is online, then queues migration_cpu_stop there without waiting
// for a reply other than its completion. Preemption stays off across the decision and the queue
// (rule W4), so take_cpu_down cannot disable the target's stopper in between.
int affine_move_task(unsigned dest) {
  auto& k = kernel();
  completion done{"affine_move_task.done"};
  cpu_stop_work work;
  preempt_disable();
  if (!cpu_online(dest)) {
    preempt_enable();
    return -EINVAL;
  }
  k.sim.point(sim::PointKind::Lock);  // task_rq_unlock(): other CPUs may act from here on
  if (k.knobs.b8_preempt_window) {
    // BUG B8: the rq lock is dropped with preemption enabled before the queue.
    preempt_enable();
    preempt_disable();
  }
  const bool queued = stop_one_cpu_nowait(dest, cpu_stop_fn_t([&done](void*) {
    complete(&done);
    return 0;
  }, "migration_cpu_stop"), nullptr, &work);
  preempt_enable();
  if (!queued) {
    k.oracle("I-SM-8", fmt::format("migration_cpu_stop for online cpu{} was rejected: its caller waits forever", dest),
             "affine_move_task");
    return -ENOENT;
  }
  wait_for_completion(&done);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// kernel/sched/core.c: balance_push(), which empties a CPU that is going down

unsigned select_fallback_rq(unsigned cpu) {
  auto& k = kernel();
  for (unsigned c : for_each_cpu(&k.cpu_active_mask))
    if (c != cpu) return c;
  return k.nr_cpu_ids;
}

void migrate_task_to(rq* from, task_struct* p, unsigned dest) {
  auto& k = kernel();
  const bool queued = dequeue_fair(from, p);
  p->cpu = dest;
  if (queued) {
    rq* to = cpu_rq(dest);
    to->fair.push_back(p);
    if (to->curr == to->idle) {
      to->need_resched = true;
      k.sim.kick(dest, k.sim.now());
    }
  }
  k.sim.trace().event("cpuhp", sim::Level::Info, "sched.migrate", "comm={} from={} to={}", p->comm, from->cpu, dest);
}

void balance_push_set(unsigned cpu, bool on) { cpu_rq(cpu)->balance_push = on; }

// kernel: __balance_push_cpu_stop(), run by the outgoing CPU's stopper: moves the pushed task
// if it is still queued here.
static int balance_push_cpu_stop_(void* arg) {
  auto* p = static_cast<task_struct*>(arg);
  rq* r = this_rq();
  if (task_cpu(p) != r->cpu || !p->on_rq || p->on_cpu.peek()) return 0;
  const unsigned dest = select_fallback_rq(r->cpu);
  if (dest < kernel().nr_cpu_ids) migrate_task_to(r, p, dest);
  return 0;
}

// kernel: active_load_balance_cpu_stop(), run by a busy CPU's stopper for an idle CPU: moves one
// task that may run anywhere over to it. SIM: the model's only affinity is `unbound`; a queued
// unbound fair task is moved (the stopper has just preempted the running one, so it is queued too).
static int active_load_balance_cpu_stop(void* arg) {
  const unsigned target = static_cast<rq*>(arg)->cpu;  // SIM: the kernel passes the busy rq and keeps the target in it
  rq* r = this_rq();
  if (cpu_active(target)) {
    for (task_struct* p : r->fair) {
      if (!p->unbound) continue;
      migrate_task_to(r, p, target);
      break;
    }
  }
  r->active_balance = false;
  return 0;
}

// The busiest other active CPU: the one with the most runnable fair tasks, at least two (one
// running, one queued); the lowest id among equals.
static unsigned find_busiest_cpu(unsigned self) {
  auto& k = kernel();
  unsigned best = k.nr_cpu_ids;
  std::size_t best_queued = 0;
  for (unsigned c : for_each_cpu(&k.cpu_active_mask)) {
    rq* r = cpu_rq(c);
    if (c == self || r->curr->sched_class != sched_class_id::fair || r->curr == r->idle) continue;
    if (r->fair.size() > best_queued) {
      best = c;
      best_queued = r->fair.size();
    }
  }
  return best;
}

// kernel: newidle_balance() -> load_balance() -> active balance, from schedule() when the CPU has
// nothing left to run and `prev` has not switched out yet. Only with [kernel] idle_balance.
// SIM: the balance never pulls a task itself; it always asks the busiest CPU's stopper to push one,
// the path of load_balance() that queues stopper work from inside schedule().
static void newidle_balance(rq* r) {
  auto& k = kernel();
  const unsigned busiest = find_busiest_cpu(r->cpu);
  if (busiest >= k.nr_cpu_ids || cpu_rq(busiest)->active_balance) return;
  k.sim.probe("sched: idle balance queues an active balance on a busy cpu");
  // The kernel's schedule() holds its rq lock with irqs off throughout; the model's marks itself
  // with in_schedule instead, and masks irqs only here, where it takes another CPU's locks.
  const bool was_off = r->irqs_disabled;
  if (!was_off) trace_irq(r, true);
  r->irqs_disabled = true;
  cpu_rq(busiest)->active_balance = true;
  preempt_disable();
  if (!stop_one_cpu_nowait(busiest, cpu_stop_fn_t(active_load_balance_cpu_stop, "active_load_balance_cpu_stop"), r,
                           &k.sm->active_balance_work[busiest]))
    cpu_rq(busiest)->active_balance = false;
  preempt_enable_no_resched();
  // Back to the caller's mask without delivering interrupts: schedule() has not finished its switch.
  if (!was_off) trace_irq(r, false);
  r->irqs_disabled = was_off;
}

// Where the kernel runs the run queue's balance callbacks: at the end of schedule(), for the task
// just switched to. On a CPU going down, that task, unless it is one of the CPU's own kthreads, is
// handed to the stopper to be pushed elsewhere; the stopper's wake-up makes schedule() pick it next.
static void balance_push(rq* r) {
  auto& k = kernel();
  if (!r->balance_push || !cpumask_test_cpu(r->cpu, &k.cpu_dying_mask)) return;
  task_struct* push_task = r->curr;
  if (push_task == r->idle || push_task == r->stop || kthread_is_per_cpu(push_task)) return;
  k.sim.probe("sched: balance_push hands a task on the outgoing cpu to its stopper");
  const unsigned long flags = local_irq_save();  // the kernel is still under the rq lock here
  preempt_disable();
  stop_one_cpu_nowait(r->cpu, cpu_stop_fn_t(balance_push_cpu_stop_, "__balance_push_cpu_stop"), push_task,
                      &k.sm->push_work[r->cpu]);
  preempt_enable();
  local_irq_restore(flags);  // the rq unlock: pending interrupts, then the preemption by the stopper
}

void sched_set_stop_task(unsigned cpu, task_struct* stop) {
  rq* r = cpu_rq(cpu);
  stop->sched_class = sched_class_id::stop;
  dequeue_fair(r, stop);
  r->stop = stop;
}

void schedule_timeout_uninterruptible(sim::Duration d) {
  auto& k = kernel();
  task_struct* me = current;
  set_current_state(TASK_UNINTERRUPTIBLE);
  const sim::EventId ev = k.sim.after(d, [me] { wake_up_process(me); });
  schedule();
  k.sim.cancel(ev);
}

void busy_loop(sim::Duration d, bool touch_watchdog) {
  auto& k = kernel();
  const sim::Time end = k.sim.now() + d;
  while (k.sim.now() < end) {
    if (touch_watchdog) {
      // A well-behaved long loop: pets the lockup detectors and, with irqs off, reports a
      // momentary EQS each iteration (as cond_resched_rcu-style loops do).
      touch_nmi_watchdog();
      if (irqs_disabled() && current != this_rq()->idle) rcu_momentary_eqs();
    }
    irq_and_preempt_point();
    k.sim.wait_until(end);
  }
}

// kernel/sched/idle.c: do_idle(). Halts the CPU until an interrupt or a wake-up arrives.
static void do_idle(unsigned cpu) {
  auto& k = kernel();
  for (;;) {
    rq* r = cpu_rq(cpu);
    while (!r->need_resched) {
      if (!r->pending.empty() || !r->pending_nmi.empty()) {
        irq_and_preempt_point();
        continue;
      }
      if (cpuhp_idle_work(cpu)) continue;  // an offline CPU boots or reports itself dead here
      tick_stop(cpu);
      if (k.rcu) rcu_idle_enter(cpu);
      if (!sim::Sim::wait_quietly([&k] { k.sim.halt(); })) return;
      if (k.rcu) rcu_idle_exit(cpu);
      // NO_HZ: the interrupt that ends an idle period runs the tick's bookkeeping if a tick
      // period has passed (tick_nohz_idle_exit / tick_sched_timer).
      const sim::Duration period = sim::Duration::ns(1'000'000'000LL / k.cfg.hz);
      if (cpu_online(cpu) && k.sim.now() - r->last_tick >= period && !r->tick_pending) {
        r->tick_pending = true;
        raise_irq(cpu, "tick", [cpu] { scheduler_tick(cpu); });
      }
    }
    if (!sim::Sim::wait_quietly(schedule)) return;
  }
}

void init_idle(unsigned cpu) {
  auto& k = kernel();
  task_struct* idle = k.create_task(fmt::format("swapper/{}", cpu), cpu, [cpu] { do_idle(cpu); });
  idle->sched_class = sched_class_id::idle;
  idle->state = TASK_RUNNING;
  idle->on_rq = true;
  rq* r = cpu_rq(cpu);
  r->idle = idle;
  r->curr = idle;
  idle->on_cpu.poke(true);
  k.sim.set_current(cpu, idle->fiber);
}

// ---------------------------------------------------------------------------------------------
// include/linux/cpumask.h accessors over the kernel's masks.

bool cpu_online(unsigned cpu) { return cpumask_test_cpu(cpu, &kernel().cpu_online_mask); }
bool cpu_active(unsigned cpu) { return cpumask_test_cpu(cpu, &kernel().cpu_active_mask); }
unsigned num_online_cpus() { return static_cast<unsigned>(kernel().num_online_cpus_.peek()); }
unsigned num_active_cpus() { return cpumask_weight(&kernel().cpu_active_mask); }

void set_cpu_online(unsigned cpu, bool online) {
  auto& k = kernel();
  const bool was = cpumask_test_cpu(cpu, &k.cpu_online_mask);
  if (online == was) return;  // the counter changes only when the bit flips
  if (online) cpumask_set_cpu(cpu, &k.cpu_online_mask);
  else cpumask_clear_cpu(cpu, &k.cpu_online_mask);
  k.num_online_cpus_.set_quiet(k.num_online_cpus_.peek() + (online ? 1 : -1));
  k.sim.trace().event("cpu", sim::Level::Info, "cpu.online", "cpu={} online={}", cpu, online ? 1 : 0);
  stop_machine_note_online_change(cpu);
  stop_machine_check_enabled_window(cpu);
}

void set_cpu_active(unsigned cpu, bool active) {
  auto& k = kernel();
  if (active) cpumask_set_cpu(cpu, &k.cpu_active_mask);
  else cpumask_clear_cpu(cpu, &k.cpu_active_mask);
  k.sim.trace().event("cpu", sim::Level::Info, "cpu.active", "cpu={} active={}", cpu, active ? 1 : 0);
}

}  // namespace model
