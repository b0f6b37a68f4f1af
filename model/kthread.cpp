// model/kthread.cpp — models kernel/kthread.c (Linux v6.16): kthread(), __kthread_parkme(),
// kthread_park(), kthread_unpark(), kthread_stop(), and wait_task_inactive() from sched/core.c.
#include "model/kthread.hpp"

#include <fmt/format.h>

namespace model {

static kthread* to_kthread(task_struct* p) {
  SIM_ASSERT_MSG(p->kt != nullptr, "not a kthread");
  return p->kt;
}

static std::string expand_name(const std::string& fmtstr, unsigned cpu) {
  std::string out = fmtstr;
  const auto pos = out.find("%u");
  if (pos != std::string::npos) out.replace(pos, 2, std::to_string(cpu));
  return out;
}

// kernel: __kthread_parkme()
static void kthread_parkme_(kthread* self) {
  for (;;) {
    set_special_state(TASK_PARKED);
    if (!(self->flags & KTHREAD_SHOULD_PARK)) break;
    // Preemption stays off between the completion and schedule(), so kthread_park() can rely
    // on the task being parked once it is switched out.
    preempt_disable();
    complete(&self->parked);
    if (!sim::Sim::wait_quietly(schedule_preempt_disabled)) return;
    preempt_enable();
  }
  set_current_state(TASK_RUNNING);
}

void kthread_parkme() { kthread_parkme_(to_kthread(current)); }

task_struct* kthread_create_on_cpu(std::function<int(void*)> threadfn, void* data, unsigned cpu,
                                   const std::string& namefmt) {
  auto& k = kernel();
  auto kt = std::make_unique<kthread>();
  kthread* self = kt.get();
  self->threadfn = std::move(threadfn);
  self->data = data;
  self->cpu = cpu;
  // kernel: kthread(). SIM: the body starts where the real thread returns from its first sleep.
  // SIM: the new thread runs on its own CPU's timeline from the start. The kernel's runs its first
  // steps (up to parking, for a per-CPU thread of an offline CPU) wherever kthreadd puts it, so
  // here a host stall of an offline CPU also holds the creation of its threads (smpboot's
  // CPUHP_CREATE_THREADS waits for them to park).
  task_struct* p = k.create_task(expand_name(namefmt, cpu), cpu, [self] {
    int ret = -EINTR;
    if (!(self->flags & KTHREAD_SHOULD_STOP)) {
      kthread_parkme_(self);
      if (sim::Sim::ending()) return;
      ret = self->threadfn(self->data);
      if (sim::Sim::ending()) return;
    }
    self->result = ret;
    complete(&self->exited);
    current->state = TASK_DEAD;
  });
  p->kt = self;
  self->task = p;
  k.kthreads.push_back(std::move(kt));
  return p;
}

task_struct* kthread_run_on_cpu(std::function<int(void*)> threadfn, void* data, unsigned cpu,
                                const std::string& namefmt) {
  task_struct* p = kthread_create_on_cpu(std::move(threadfn), data, cpu, namefmt);
  wake_up_process(p);
  return p;
}

void kthread_bind(task_struct* p, unsigned cpu) {
  SIM_ASSERT_MSG(!p->on_cpu.peek() || p->cpu == cpu, "kthread_bind on a running task");
  p->cpu = cpu;
}

void kthread_set_per_cpu(task_struct* p, unsigned cpu) {
  kthread* kt = to_kthread(p);
  kt->cpu = cpu;
  kt->flags |= KTHREAD_IS_PER_CPU;
}

bool kthread_is_per_cpu(const task_struct* p) { return p->kt != nullptr && (p->kt->flags & KTHREAD_IS_PER_CPU) != 0; }

bool kthread_should_stop() { return (to_kthread(current)->flags & KTHREAD_SHOULD_STOP) != 0; }
bool kthread_should_park() { return (to_kthread(current)->flags & KTHREAD_SHOULD_PARK) != 0; }

bool wait_task_inactive(task_struct* p, unsigned match_state) {
  auto& k = kernel();
  for (;;) {
    if (!(p->state & match_state) && p->state != match_state) return false;
    if (!p->on_cpu.load()) return true;
    // Still running on another CPU: spin until it switches out (on_cpu is a watched word).
    cpu_relax();
    if (k.sim.failed()) return false;
  }
}

int kthread_park(task_struct* k) {
  auto& kern = kernel();
  kthread* kt = to_kthread(k);
  if (k->state == TASK_DEAD) {
    kern.warn("kthread", "kthread_park:exiting", fmt::format("kthread_park({}) of an exiting thread", k->comm), false);
    return -ENOSYS;
  }
  if (kt->flags & KTHREAD_SHOULD_PARK) {
    kern.warn("kthread", "kthread_park:again", fmt::format("kthread_park({}) of a thread already told to park", k->comm),
              true);
    return -EBUSY;
  }
  kt->flags |= KTHREAD_SHOULD_PARK;
  if (k != static_cast<task_struct*>(current)) {
    wake_up_process(k);
    // BUG B19 (knob kthread_park_early_return): return without waiting for the thread to park.
    if (!kern.knobs.kthread_park_early_return) {
      wait_for_completion(&kt->parked);
      if (!wait_task_inactive(k, TASK_PARKED))
        kern.sim.trace().event("kthread", sim::Level::Warn, "kthread.park_warn", "comm={} not inactive", k->comm);
    }
    if (k->state != TASK_PARKED || k->on_cpu.peek())
      kern.oracle("I-SB-3", fmt::format("kthread_park({}) returned while the thread is not parked and off-CPU", k->comm),
                  "kthread_park");
  }
  kern.sim.trace().event("kthread", sim::Level::Info, "kthread.park", "comm={}", k->comm);
  return 0;
}

void kthread_unpark(task_struct* k) {
  auto& kern = kernel();
  kthread* kt = to_kthread(k);
  if (!(kt->flags & KTHREAD_SHOULD_PARK)) return;
  // Re-binding a per-CPU thread needs it inactive in TASK_PARKED.
  if (kt->flags & KTHREAD_IS_PER_CPU) {
    if (k->state != TASK_PARKED || k->on_cpu.peek()) {
      kern.sim.trace().event("kthread", sim::Level::Warn, "kthread.unpark_warn", "comm={} still on cpu{}", k->comm,
                             k->cpu);
    } else {
      k->cpu = kt->cpu;
    }
  }
  reinit_completion(&kt->parked);
  kt->flags &= ~KTHREAD_SHOULD_PARK;
  kern.sim.trace().event("kthread", sim::Level::Info, "kthread.unpark", "comm={}", k->comm);
  wake_up_state(k, TASK_PARKED);
}

int kthread_stop(task_struct* k) {
  kthread* kt = to_kthread(k);
  kt->flags |= KTHREAD_SHOULD_STOP;
  kthread_unpark(k);
  wake_up_process(k);
  wait_for_completion(&kt->exited);
  return kt->result;
}

}  // namespace model
