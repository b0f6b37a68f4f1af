// model/locking.hpp — raw spinlocks, mutexes, completions, atomics and the percpu rwsem, as in
// include/linux/{spinlock,mutex,completion,atomic,percpu-rwsem}.h and kernel/sched/completion.c.
// Every lock operation and atomic is an interleaving point at granularity "locks"; spinning on
// a held lock parks in cpu_relax() until the lock word is written. Lock classes feed lockdep.
// A lock's name is its lockdep class and must live as long as the kernel (a string literal, as
// the kernel's lock_class_key is a static object): lockdep caches classes by the name's address.
// SIM: raw_spin_lock_irqsave takes `flags` by reference (the kernel's is a macro on an lvalue).
#pragma once

#include "model/fifo.hpp"
#include "model/kernel.hpp"

namespace model {

inline constexpr int SINGLE_DEPTH_NESTING = 1;

struct raw_spinlock_t {
  explicit raw_spinlock_t(const char* cls = "raw_spinlock") : name(cls) {}
  sim::Watched<int> locked{0, "raw_spinlock.locked"};  ///< owner cpu + 1, 0 = free
  const char* name;
};

void raw_spin_lock(raw_spinlock_t* l);
void raw_spin_lock_nested(raw_spinlock_t* l, int subclass);
void raw_spin_unlock(raw_spinlock_t* l);
void raw_spin_lock_irq(raw_spinlock_t* l);
void raw_spin_unlock_irq(raw_spinlock_t* l);
void raw_spin_lock_irqsave(raw_spinlock_t* l, unsigned long& flags);
void raw_spin_unlock_irqrestore(raw_spinlock_t* l, unsigned long flags);
bool raw_spin_is_locked(const raw_spinlock_t* l);

struct mutex {
  explicit mutex(const char* cls = "mutex") : name(cls) {}
  task_struct* owner = nullptr;
  fifo<task_struct*> waiters;
  const char* name;
  sim::Watched<int> released{0, "mutex.released"};  ///< bumped at unlock: trylock spinners watch it
};
void mutex_lock(mutex* m);
int mutex_trylock(mutex* m);
void mutex_unlock(mutex* m);
bool mutex_is_locked(const mutex* m);

struct completion {
  explicit completion(const char* cls = "completion") : wait_lock(cls) {}
  unsigned done = 0;
  fifo<task_struct*> waiters;
  raw_spinlock_t wait_lock;
  sim::Watched<int> completed{0, "completion.done"};  ///< bumped at complete: completion_done pollers watch it
};
inline constexpr unsigned UINT_MAX_DONE = 0xffffffffu;
void init_completion(completion* x);
void reinit_completion(completion* x);
void complete(completion* x);
void complete_all(completion* x);
void wait_for_completion(completion* x);
bool completion_done(completion* x);

struct atomic_t {
  explicit atomic_t(int v = 0, const char* name = "atomic_t") : counter(v, name) {}
  sim::Watched<int> counter;
};
int atomic_read(const atomic_t* v);
void atomic_set(atomic_t* v, int i);
void atomic_inc(atomic_t* v);
void atomic_dec(atomic_t* v);
bool atomic_dec_and_test(atomic_t* v);
int atomic_add_return(int i, atomic_t* v);

/// cpu_hotplug_lock is one of these (kernel/cpu.c: DEFINE_STATIC_PERCPU_RWSEM).
struct percpu_rw_semaphore {
  explicit percpu_rw_semaphore(const char* cls) : name(cls) {}
  int readers = 0;
  task_struct* writer = nullptr;
  bool writer_waiting = false;
  fifo<task_struct*> waiters;
  const char* name;
};
void percpu_down_read(percpu_rw_semaphore* s);
void percpu_up_read(percpu_rw_semaphore* s);
void percpu_down_write(percpu_rw_semaphore* s);
void percpu_up_write(percpu_rw_semaphore* s);

// cpus_read_lock() and friends over cpu_hotplug_lock: model/cpu.hpp (kernel/cpu.c).

}  // namespace model
