// model/locking.cpp — see locking.hpp. Models kernel/locking/spinlock.c, mutex.c,
// percpu-rwsem.c and kernel/sched/completion.c at the level of their ordering guarantees.
#include "model/locking.hpp"

#include "model/lockdep.hpp"

#include <fmt/format.h>

#include <cstring>

namespace model {

static sim::Sim& S() { return kernel().sim; }

// ---- raw spinlocks ----

static void do_raw_spin_lock(raw_spinlock_t* l, int subclass) {
  kernel().lockdep->acquire(current, l->name, subclass, true);
  S().point(sim::PointKind::Lock);
  const int me = static_cast<int>(smp_processor_id()) + 1;
  for (;;) {
    int expected = 0;
    if (l->locked.compare_exchange(expected, me)) return;
    while (l->locked.load() != 0) cpu_relax();
  }
}

static void do_raw_spin_unlock(raw_spinlock_t* l, int subclass) {
  SIM_ASSERT_MSG(l->locked.peek() != 0, "unlocking an unlocked raw spinlock");
  S().point(sim::PointKind::Lock);
  l->locked.store(0);
  kernel().lockdep->release(current, l->name, subclass);
}

void raw_spin_lock(raw_spinlock_t* l) {
  preempt_disable();
  do_raw_spin_lock(l, 0);
}

void raw_spin_lock_nested(raw_spinlock_t* l, int subclass) {
  preempt_disable();
  do_raw_spin_lock(l, subclass);
}

// The subclass used at lock time is found again at unlock through the held-lock stack.
static int held_subclass(raw_spinlock_t* l) {
  const task_struct* t = current;
  for (auto it = t->held_locks.rbegin(); it != t->held_locks.rend(); ++it)
    if (it->cls == l->name || std::strcmp(it->cls, l->name) == 0) return it->subclass;
  return 0;
}

void raw_spin_unlock(raw_spinlock_t* l) {
  do_raw_spin_unlock(l, held_subclass(l));
  preempt_enable();
}

void raw_spin_lock_irq(raw_spinlock_t* l) {
  local_irq_disable();
  raw_spin_lock(l);
}

void raw_spin_unlock_irq(raw_spinlock_t* l) {
  do_raw_spin_unlock(l, held_subclass(l));
  local_irq_enable();
  preempt_enable();
}

void raw_spin_lock_irqsave(raw_spinlock_t* l, unsigned long& flags) {
  flags = local_irq_save();
  raw_spin_lock(l);
}

void raw_spin_unlock_irqrestore(raw_spinlock_t* l, unsigned long flags) {
  do_raw_spin_unlock(l, held_subclass(l));
  local_irq_restore(flags);
  preempt_enable();
}

bool raw_spin_is_locked(const raw_spinlock_t* l) { return l->locked.peek() != 0; }

// ---- mutexes ----

void mutex_lock(mutex* m) {
  kernel().lockdep->acquire(current, m->name, 0, false);
  S().point(sim::PointKind::Lock);
  task_struct* me = current;
  while (m->owner != nullptr) {
    SIM_ASSERT_MSG(m->owner != me, "mutex recursion");
    m->waiters.push_back(me);
    S().set_wait_reason(me->fiber, "D mutex_lock");
    set_current_state(TASK_UNINTERRUPTIBLE);
    schedule();
  }
  m->owner = me;
}

int mutex_trylock(mutex* m) {
  S().point(sim::PointKind::Lock);
  (void)m->released.load();  // a failed trylock in a spin loop waits for the next unlock
  if (m->owner != nullptr) return 0;
  kernel().lockdep->acquire(current, m->name, 0, false);
  m->owner = current;
  return 1;
}

void mutex_unlock(mutex* m) {
  SIM_ASSERT_MSG(m->owner == current, "mutex_unlock by a task that does not own it");
  S().point(sim::PointKind::Lock);
  m->owner = nullptr;
  m->released.set_quiet(m->released.peek() + 1);
  kernel().lockdep->release(current, m->name, 0);
  while (!m->waiters.empty()) {
    task_struct* w = m->waiters.front();
    m->waiters.pop_front();
    if (wake_up_process(w)) break;
  }
}

bool mutex_is_locked(const mutex* m) { return m->owner != nullptr; }

// ---- completions (kernel/sched/completion.c) ----

void init_completion(completion* x) {
  x->done = 0;
  x->waiters.clear();
}

void reinit_completion(completion* x) { x->done = 0; }

static void complete_common(completion* x, bool all) {
  unsigned long flags;
  raw_spin_lock_irqsave(&x->wait_lock, flags);
  if (all) x->done = UINT_MAX_DONE;
  else if (x->done != UINT_MAX_DONE) ++x->done;
  x->completed.set_quiet(x->completed.peek() + 1);
  while (!x->waiters.empty()) {
    task_struct* w = x->waiters.front();
    x->waiters.pop_front();
    wake_up_process(w);
    if (!all) break;
  }
  raw_spin_unlock_irqrestore(&x->wait_lock, flags);
}

void complete(completion* x) { complete_common(x, false); }
void complete_all(completion* x) { complete_common(x, true); }

void wait_for_completion(completion* x) {
  task_struct* me = current;
  raw_spin_lock_irq(&x->wait_lock);
  while (x->done == 0) {
    x->waiters.push_back(me);
    S().set_wait_reason(me->fiber, "D wait_for_completion");
    set_current_state(TASK_UNINTERRUPTIBLE);
    raw_spin_unlock_irq(&x->wait_lock);
    schedule();
    raw_spin_lock_irq(&x->wait_lock);
    for (auto it = x->waiters.begin(); it != x->waiters.end(); ++it)
      if (*it == me) { x->waiters.erase(it); break; }
  }
  if (x->done != UINT_MAX_DONE) --x->done;
  raw_spin_unlock_irq(&x->wait_lock);
}

bool completion_done(completion* x) {
  S().point(sim::PointKind::Lock);
  (void)x->completed.load();
  if (x->done == 0) return false;
  // complete() may still hold the wait lock: wait for it to let go before the caller frees `x`
  // (stop_machine_from_inactive_cpu's done lives on its stack).
  unsigned long flags;
  raw_spin_lock_irqsave(&x->wait_lock, flags);
  raw_spin_unlock_irqrestore(&x->wait_lock, flags);
  return true;
}

// ---- atomics ----

int atomic_read(const atomic_t* v) { return v->counter.load(); }
void atomic_set(atomic_t* v, int i) { v->counter.store(i); }
void atomic_inc(atomic_t* v) {
  S().point(sim::PointKind::Lock);
  v->counter.add_return(1);
}
void atomic_dec(atomic_t* v) {
  S().point(sim::PointKind::Lock);
  v->counter.add_return(-1);
}
bool atomic_dec_and_test(atomic_t* v) {
  S().point(sim::PointKind::Lock);
  return v->counter.add_return(-1) == 0;
}
int atomic_add_return(int i, atomic_t* v) {
  S().point(sim::PointKind::Lock);
  return v->counter.add_return(i);
}

// ---- percpu rwsem ----

static void rwsem_sleep(percpu_rw_semaphore* s, task_struct* me, const char* why) {
  s->waiters.push_back(me);
  S().set_wait_reason(me->fiber, why);
  set_current_state(TASK_UNINTERRUPTIBLE);
  schedule();
}

static void rwsem_wake_all(percpu_rw_semaphore* s) {
  auto waiters = std::move(s->waiters);
  s->waiters.clear();
  for (auto* w : waiters) wake_up_process(w);
}

void percpu_down_read(percpu_rw_semaphore* s) {
  kernel().lockdep->acquire(current, s->name, 0, false, true);
  S().point(sim::PointKind::Lock);
  // A pending writer blocks new readers: recursive read locking deadlocks then, as in the kernel.
  while (s->writer != nullptr || s->writer_waiting) rwsem_sleep(s, current, "D percpu_down_read");
  ++s->readers;
}

void percpu_up_read(percpu_rw_semaphore* s) {
  S().point(sim::PointKind::Lock);
  SIM_ASSERT(s->readers > 0);
  --s->readers;
  kernel().lockdep->release(current, s->name, 0);
  if (s->readers == 0) rwsem_wake_all(s);
}

void percpu_down_write(percpu_rw_semaphore* s) {
  kernel().lockdep->acquire(current, s->name, 0, false);
  S().point(sim::PointKind::Lock);
  while (s->writer != nullptr) rwsem_sleep(s, current, "D percpu_down_write");
  s->writer_waiting = true;
  while (s->readers > 0) rwsem_sleep(s, current, "D percpu_down_write (readers)");
  s->writer_waiting = false;
  s->writer = current;
}

void percpu_up_write(percpu_rw_semaphore* s) {
  S().point(sim::PointKind::Lock);
  SIM_ASSERT(s->writer == current);
  s->writer = nullptr;
  kernel().lockdep->release(current, s->name, 0);
  rwsem_wake_all(s);
}

}  // namespace model
