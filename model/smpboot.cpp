// model/smpboot.cpp — models kernel/smpboot.c (Linux v6.16).
// Not modelled: idle-thread allocation (idle tasks exist from boot in the model), the
// ksoftirqd-style users themselves (scenarios register their own descriptors).
#include "model/smpboot.hpp"

#include "model/cpu.hpp"

#include <fmt/format.h>

namespace model {

std::unique_ptr<smpboot_globals> make_smpboot_globals() { return std::make_unique<smpboot_globals>(); }

static smpboot_globals& G() { return *kernel().sb; }

static void trace_sb(const char* ev, const smpboot_thread_data* td) {
  kernel().sim.trace().event("smpboot", sim::Level::Info, ev, "cpu={} comm={} status={}", td->cpu,
                             (*td->ht->store)[td->cpu] ? (*td->ht->store)[td->cpu]->comm : "-", td->status);
}

// I-SB-2: every callback but create and cleanup runs in the thread, on td->cpu.
static void check_cpu(const smpboot_thread_data* td, const char* what) {
  const unsigned me = smp_processor_id();
  if (me != td->cpu)
    kernel().oracle("I-SB-2", fmt::format("smpboot thread for cpu{} runs {} on cpu{} (kernel BUG at smpboot.c)",
                                          td->cpu, what, me),
                    fmt::format("smpboot_thread_fn:{}", what));
}

// kernel/smpboot.c: smpboot_thread_fn()
static int smpboot_thread_fn(void* data) {
  auto* td = static_cast<smpboot_thread_data*>(data);
  smp_hotplug_thread* ht = td->ht;
  auto& k = kernel();
  for (;;) {
    set_current_state(TASK_INTERRUPTIBLE);
    preempt_disable();
    if (kthread_should_stop()) {
      set_current_state(TASK_RUNNING);
      preempt_enable();
      if (ht->cleanup && td->status != HP_THREAD_NONE) ht->cleanup(td->cpu, cpu_online(td->cpu));
      if (td->setup_ran != (td->status != HP_THREAD_NONE))
        k.oracle("I-SB-1", "cleanup/setup pairing broken", "smpboot_thread_fn:cleanup");
      return 0;
    }
    if (kthread_should_park()) {
      set_current_state(TASK_RUNNING);
      preempt_enable();
      if (ht->park && td->status == HP_THREAD_ACTIVE) {
        check_cpu(td, "park");
        if (td->last_cb_was_park) k.oracle("I-SB-1", "two park callbacks without an unpark", "smpboot_thread_fn:park");
        ht->park(td->cpu);
        td->last_cb_was_park = true;
        td->status = HP_THREAD_PARKED;
        trace_sb("smpboot.park", td);
      }
      kthread_parkme();
      if (sim::Sim::ending()) return 0;
      continue;
    }
    check_cpu(td, "thread_fn");
    if (td->status == HP_THREAD_NONE) {
      set_current_state(TASK_RUNNING);
      preempt_enable();
      if (td->setup_ran) k.oracle("I-SB-1", "setup ran twice", "smpboot_thread_fn:setup");
      if (ht->setup) ht->setup(td->cpu);
      td->setup_ran = true;
      td->status = k.knobs.smpboot_double_setup ? HP_THREAD_NONE : HP_THREAD_ACTIVE;
      if (k.knobs.smpboot_double_setup) k.knobs.smpboot_double_setup = false;
      trace_sb("smpboot.setup", td);
      continue;
    }
    if (td->status == HP_THREAD_PARKED) {
      set_current_state(TASK_RUNNING);
      preempt_enable();
      if (!td->last_cb_was_park) k.oracle("I-SB-1", "unpark callback without a park", "smpboot_thread_fn:unpark");
      if (ht->unpark) ht->unpark(td->cpu);
      td->last_cb_was_park = false;
      td->status = HP_THREAD_ACTIVE;
      trace_sb("smpboot.unpark", td);
      continue;
    }
    if (!td->setup_ran) k.oracle("I-SB-1", "thread_fn before setup", "smpboot_thread_fn:thread_fn");
    if (!ht->thread_should_run(td->cpu)) {
      preempt_enable_no_resched();
      if (!sim::Sim::wait_quietly(schedule)) return 0;
    } else {
      set_current_state(TASK_RUNNING);
      preempt_enable();
      ht->thread_fn(td->cpu);
    }
  }
}

// kernel: __smpboot_create_thread()
static int smpboot_create_thread_(smp_hotplug_thread* ht, unsigned cpu) {
  auto& k = kernel();
  task_struct* tsk = (*ht->store)[cpu];
  if (tsk != nullptr) {
    if (!k.knobs.smpboot_duplicate_create) return 0;
    k.oracle("I-SB-5", fmt::format("a second {} thread is created for cpu{}", ht->thread_comm, cpu),
             "smpboot_create_thread");
  }
  auto td = std::make_unique<smpboot_thread_data>();
  td->cpu = cpu;
  td->ht = ht;
  smpboot_thread_data* tdp = td.get();
  G().tds.push_back(std::move(td));
  // SIM: a thread bound to a foreign CPU re-creates B19's symptom for the I-SB-2 test.
  const unsigned bind_cpu = k.knobs.smpboot_wrong_cpu ? (cpu + 1) % k.nr_cpu_ids : cpu;
  tsk = kthread_create_on_cpu(smpboot_thread_fn, tdp, bind_cpu, ht->thread_comm);
  kthread_set_per_cpu(tsk, bind_cpu);
  // A brand-new thread parks without ever entering its function.
  kthread_park(tsk);
  (*ht->store)[cpu] = tsk;
  if (ht->create) {
    if (!wait_task_inactive(tsk, TASK_PARKED))
      k.sim.trace().event("smpboot", sim::Level::Warn, "smpboot.create_warn", "comm={}", tsk->comm);
    else
      ht->create(cpu);
  }
  return 0;
}

int smpboot_create_threads(unsigned cpu) {
  int ret = 0;
  mutex_lock(&G().smpboot_threads_lock);
  for (smp_hotplug_thread* cur : G().hotplug_threads) {
    ret = smpboot_create_thread_(cur, cpu);
    if (ret) break;
  }
  mutex_unlock(&G().smpboot_threads_lock);
  return ret;
}

static void smpboot_unpark_thread(smp_hotplug_thread* ht, unsigned cpu) {
  task_struct* tsk = (*ht->store)[cpu];
  if (!ht->selfparking) kthread_unpark(tsk);
}

int smpboot_unpark_threads(unsigned cpu) {
  mutex_lock(&G().smpboot_threads_lock);
  for (smp_hotplug_thread* cur : G().hotplug_threads) smpboot_unpark_thread(cur, cpu);
  mutex_unlock(&G().smpboot_threads_lock);
  // I-SB-4: after the startup every non-selfparking thread of the CPU is unparked.
  for (smp_hotplug_thread* cur : G().hotplug_threads) {
    task_struct* t = (*cur->store)[cpu];
    if (!cur->selfparking && t && (t->kt->flags & KTHREAD_SHOULD_PARK))
      kernel().oracle("I-SB-4", fmt::format("{} still parked after smpboot_unpark_threads({})", t->comm, cpu),
                      "smpboot_unpark_threads");
  }
  return 0;
}

static void smpboot_park_thread(smp_hotplug_thread* ht, unsigned cpu) {
  task_struct* tsk = (*ht->store)[cpu];
  if (tsk && !ht->selfparking) kthread_park(tsk);
}

int smpboot_park_threads(unsigned cpu) {
  auto& k = kernel();
  mutex_lock(&G().smpboot_threads_lock);
  // Tail to head: the oldest registration parks first.
  bool skipped = false;
  for (auto it = G().hotplug_threads.rbegin(); it != G().hotplug_threads.rend(); ++it) {
    if (k.knobs.smpboot_skip_park && !skipped && !(*it)->selfparking) {
      skipped = true;
      continue;
    }
    smpboot_park_thread(*it, cpu);
  }
  mutex_unlock(&G().smpboot_threads_lock);
  // I-SB-4: after the teardown every non-selfparking thread of the CPU is parked.
  for (smp_hotplug_thread* cur : G().hotplug_threads) {
    task_struct* t = (*cur->store)[cpu];
    if (!cur->selfparking && t && (t->state != TASK_PARKED || !(t->kt->flags & KTHREAD_SHOULD_PARK)))
      k.oracle("I-SB-4", fmt::format("{} is not parked after smpboot_park_threads({})", t->comm, cpu),
               "smpboot_park_threads");
  }
  return 0;
}

static void smpboot_destroy_threads(smp_hotplug_thread* ht) {
  for (unsigned cpu : for_each_cpu(&kernel().cpu_possible_mask)) {
    task_struct* tsk = (*ht->store)[cpu];
    if (tsk) {
      kthread_stop(tsk);
      (*ht->store)[cpu] = nullptr;
    }
  }
}

int smpboot_register_percpu_thread(smp_hotplug_thread* plug_thread) {
  auto& k = kernel();
  if (plug_thread->store->size() < k.nr_cpu_ids) plug_thread->store->resize(k.nr_cpu_ids, nullptr);
  int ret = 0;
  cpus_read_lock();
  mutex_lock(&G().smpboot_threads_lock);
  for (unsigned cpu : for_each_cpu(&k.cpu_online_mask)) {
    ret = smpboot_create_thread_(plug_thread, cpu);
    if (ret) {
      smpboot_destroy_threads(plug_thread);
      goto out;
    }
    smpboot_unpark_thread(plug_thread, cpu);
  }
  G().hotplug_threads.push_front(plug_thread);
out:
  mutex_unlock(&G().smpboot_threads_lock);
  cpus_read_unlock();
  return ret;
}

void smpboot_unregister_percpu_thread(smp_hotplug_thread* plug_thread) {
  cpus_read_lock();
  mutex_lock(&G().smpboot_threads_lock);
  G().hotplug_threads.remove(plug_thread);
  smpboot_destroy_threads(plug_thread);
  mutex_unlock(&G().smpboot_threads_lock);
  cpus_read_unlock();
}

}  // namespace model
