// model/rcu.cpp — see rcu.hpp. Models kernel/rcu/tree.c (rcu_gp_kthread, rcu_gp_init, FQS,
// rcu_report_qs_rdp), tree_stall.h (check_cpu_stall) and update.c (synchronize_rcu) in the
// minimal form of spec §5.4. I-RCU-3 (safety) and I-RCU-4 (momentary-EQS contract) are checked.
#include "model/rcu.hpp"

#include "model/softirq.hpp"
#include "model/stop_machine.hpp"

#include <fmt/format.h>

namespace model {

std::unique_ptr<rcu_globals> make_rcu_globals(unsigned nr_cpus) {
  auto g = std::make_unique<rcu_globals>();
  g->qsmask = cpumask(nr_cpus);
  g->rcu_online = cpumask(nr_cpus);
  g->watching_seq.assign(nr_cpus, 0);
  g->snap.assign(nr_cpus, 0);
  g->in_eqs.assign(nr_cpus, false);
  g->done.resize(nr_cpus);
  return g;
}

static rcu_globals& G() { return *kernel().rcu; }
static bool gp_in_progress() { return G().gp_seq & 1; }

template <class... Args>
static void trace_rcu(const char* ev, fmt::format_string<Args...> f, Args&&... args) {
  kernel().sim.trace().event("rcu", sim::Level::Info, ev, f, std::forward<Args>(args)...);
}

static void rcu_report_qs(unsigned cpu, const char* why) {
  auto& g = G();
  if (!gp_in_progress() || !cpumask_test_cpu(cpu, &g.qsmask)) return;
  cpumask_clear_cpu(cpu, &g.qsmask);
  kernel().sim.trace().event("rcu", sim::Level::Debug, "rcu.qs", "cpu={} seq={} via={}", cpu, g.gp_seq, why);
  if (cpumask_empty(&g.qsmask) && g.gp_kthread) wake_up_process(g.gp_kthread);
}

// I-RCU-3: no grace period ends while a reader that began before it is still inside.
static void check_gp_safety(std::uint64_t started_seq) {
  auto& k = kernel();
  for (const auto& t : k.tasks) {
    if (t->rcu_read_lock_nesting > 0 && t->rcu_read_start_seq < started_seq)
      k.oracle("I-RCU-3", fmt::format("grace period {} ends while {} is inside an rcu_read_lock section begun before it",
                                      started_seq, t->comm), "rcu_gp_cleanup");
  }
}

static void rcu_gp_init() {
  auto& g = G();
  auto& k = kernel();
  ++g.gp_seq;
  g.gp_start = k.sim.now();
  g.gp_activity = g.gp_start;
  g.next_stall_check = g.gp_start + k.cfg.rcu_cpu_stall_timeout;
  g.qsmask = g.rcu_online;
  for (unsigned c : for_each_cpu(&g.rcu_online)) {
    g.snap[c] = g.watching_seq[c];
    if (g.in_eqs[c]) cpumask_clear_cpu(c, &g.qsmask);
  }
  trace_rcu("rcu.gp.start", "seq={} waiting={}", g.gp_seq, cpumask_pr(&g.qsmask));
}

// Force-quiescent-state scan: credits CPUs that were in, or passed through, an EQS.
static void rcu_gp_fqs() {
  auto& g = G();
  for (unsigned c : for_each_cpu(&g.qsmask)) {
    if (g.in_eqs[c] || g.watching_seq[c] != g.snap[c]) rcu_report_qs(c, "fqs");
  }
}

static void rcu_gp_cleanup() {
  auto& g = G();
  const std::uint64_t started = g.gp_seq;
  check_gp_safety(started);
  ++g.gp_seq;
  ++g.gps_completed;
  trace_rcu("rcu.gp.end", "seq={}", g.gp_seq);
  std::vector<unsigned> raise;
  while (!g.callbacks.empty() && g.callbacks.front().seq <= g.gp_seq) {
    rcu_globals::rcu_cb cb = std::move(g.callbacks.front());
    g.callbacks.pop_front();
    if (!ksoftirqd_enabled()) {
      cb.func();
      continue;
    }
    if (g.done[cb.cpu].empty()) raise.push_back(cb.cpu);
    g.done[cb.cpu].push_back(std::move(cb.func));
  }
  for (unsigned c : raise) raise_rcu_softirq_on(c);
}

static int rcu_gp_kthread(void*) {
  auto& k = kernel();
  const sim::Duration jiffy = sim::Duration::ns(1'000'000'000LL / k.cfg.hz);
  for (;;) {
    while (G().callbacks.empty()) {
      set_current_state(TASK_INTERRUPTIBLE);
      if (!G().callbacks.empty()) {
        set_current_state(TASK_RUNNING);
        break;
      }
      k.sim.set_wait_reason(current->fiber, "S rcu_gp_kthread idle");
      if (!sim::Sim::wait_quietly(schedule)) return 0;
    }
    rcu_gp_init();
    while (!cpumask_empty(&G().qsmask)) {
      schedule_timeout_uninterruptible(jiffy * 3);
      G().gp_activity = k.sim.now();  // the FQS loop ran: the kthread is not starved
      // SIM: parked spinners run one loop iteration before the scan looks at them, so a momentary
      // EQS made "every iteration" is visible as it would be in a real spin loop.
      for (unsigned c : for_each_cpu(&G().qsmask)) k.sim.kick(c, k.sim.now());
      schedule_timeout_uninterruptible(sim::Duration::ns(10'000));
      rcu_gp_fqs();
    }
    rcu_gp_cleanup();
  }
}

void rcu_init() {
  auto& g = G();
  g.gp_kthread = kthread_create_on_cpu(rcu_gp_kthread, nullptr, 0, "rcu_sched");
  g.gp_kthread->unbound = true;
  wake_up_process(g.gp_kthread);
}

void rcu_read_lock() {
  task_struct* t = current;
  preempt_disable();
  if (t->rcu_read_lock_nesting++ == 0) t->rcu_read_start_seq = G().gp_seq;
}

void rcu_read_unlock() {
  task_struct* t = current;
  SIM_ASSERT(t->rcu_read_lock_nesting > 0);
  --t->rcu_read_lock_nesting;
  preempt_enable();
}

void call_rcu(std::function<void()> func) {
  auto& g = G();
  // A GP already running may have started before this call: wait for the one after it.
  const std::uint64_t target = (g.gp_seq & 1) ? g.gp_seq + 3 : g.gp_seq + 2;
  const unsigned cpu = kernel().sim.in_fiber() ? smp_processor_id() : 0;
  g.callbacks.push_back({target, cpu, std::move(func)});
  if (g.gp_kthread) wake_up_process(g.gp_kthread);
}

void synchronize_rcu() {
  auto& k = kernel();
  // Early boot, or a single online CPU: waiting itself is a grace period (rcu_blocking_is_gp).
  if (G().gp_kthread == nullptr || !k.system_running || num_online_cpus() == 1) return;
  completion done{"rcu_synchronize"};
  call_rcu([&done] { complete(&done); });
  k.sim.set_wait_reason(current->fiber, "D synchronize_rcu");
  wait_for_completion(&done);
}

void rcu_note_context_switch(unsigned cpu) { rcu_report_qs(cpu, "ctxsw"); }

static std::string stall_place(const rcu_globals& g) {
  const unsigned first = cpumask_first(&g.qsmask);
  return first < kernel().nr_cpu_ids ? describe_cpu(first) : std::string("-");
}

void rcu_sched_clock_irq(unsigned cpu) {
  auto& k = kernel();
  auto& g = G();
  rq* r = cpu_rq(cpu);
  // check_cpu_stall(): a GP older than the timeout, seen from a tick with irqs on. A CPU that
  // owes the QS reports itself at once; others wait RCU_STALL_RAT_DELAY (2 jiffies) more, so
  // the stalled CPU gets to self-report first.
  const sim::Duration jiffy = sim::Duration::ns(1'000'000'000LL / k.cfg.hz);
  const bool self = gp_in_progress() && cpumask_test_cpu(cpu, &g.qsmask);
  if (gp_in_progress() && k.sim.now() >= g.next_stall_check + (self ? sim::Duration{} : jiffy * 2)) {
    std::string cpus;
    for (unsigned c : for_each_cpu(&g.qsmask)) cpus += fmt::format(" {}", c);
    const auto age_s = (k.sim.now() - g.gp_start).count_ns() / 1'000'000'000;
    ++g.stalls;
    g.next_stall_check = k.sim.now() + k.cfg.rcu_cpu_stall_timeout * 3 + jiffy * 3;
    // The kthread counts as starved when it has not run for more than 2 s (2 * HZ jiffies).
    const sim::Duration idle_for = k.sim.now() - g.gp_activity;
    const bool kthread_starved = idle_for > sim::Duration::ns(2'000'000'000);
    const std::string starved =
        kthread_starved
            ? fmt::format("; rcu_sched kthread starved for {} jiffies on cpu{}", idle_for.count_ns() / jiffy.count_ns(),
                          g.gp_kthread ? g.gp_kthread->cpu : 0)
            : std::string();
    std::string msg;
    if (self)
      msg = fmt::format("rcu: INFO: rcu_sched self-detected stall on CPU {} (GP {} age {}s; waiting on{}){}", cpu,
                        g.gp_seq, age_s, cpus, starved);
    else if (!cpus.empty())
      msg = fmt::format("rcu: INFO: rcu_sched detected stalls on CPUs/tasks: {{{} }} (detected by {}, GP {} age {}s){}",
                        cpus, cpu, g.gp_seq, age_s, starved);
    else
      msg = fmt::format("rcu: INFO: rcu_sched detected stalls on CPUs/tasks: {{ }} (detected by {}, GP {} age {}s); "
                        "All QSes seen{}",
                        cpu, g.gp_seq, age_s, starved);
    // I-RCU-3 (progress): CPUs that only wait in multi_cpu_stop past PREPARE make momentary EQSs,
    // so the GP must not be blocked by them (B11) provided its kthread can run outside the
    // operation to make the FQS scans that see those EQSs. Whether it could is read from what it
    // did: a kthread that ran an FQS round in the last 2 s (the kernel's own starvation rule)
    // should have seen them. A starved one (behind a stopper, this operation or another, or
    // during a stop_machine of every CPU) causes a real stall, in the kernel too, not B11's.
    bool innocent = false;
    for (unsigned c : for_each_cpu(&g.qsmask)) {
      const rq* rc = cpu_rq(c);
      innocent |= rc->msm_cur > MULTI_STOP_PREPARE && rc->msm_cur < MULTI_STOP_EXIT && rc->msm_fn == nullptr;
    }
    const bool blames_waiter = !kthread_starved && innocent;
    k.oracle(blames_waiter ? "I-RCU-3" : "rcu-stall", blames_waiter ? msg + " (blames a CPU only waiting in multi_cpu_stop)" : msg,
             cpus.empty() && g.gp_kthread ? describe_cpu(g.gp_kthread->cpu) : stall_place(g));
  }
  // A tick that interrupts idle or preemptible code outside any read-side section is a QS.
  const task_struct* t = r->curr;
  if (t == r->idle || (t->preempt_count == 0 && t->rcu_read_lock_nesting == 0)) rcu_report_qs(cpu, "tick");
}

void rcu_idle_enter(unsigned cpu) {
  auto& g = G();
  g.in_eqs[cpu] = true;
  ++g.watching_seq[cpu];
}

void rcu_idle_exit(unsigned cpu) {
  auto& g = G();
  g.in_eqs[cpu] = false;
  ++g.watching_seq[cpu];
}

void rcu_momentary_eqs_(unsigned cpu) {
  auto& k = kernel();
  // I-RCU-4: only with irqs off and outside idle.
  if (!irqs_disabled() || current == cpu_rq(cpu)->idle)
    k.oracle("I-RCU-4", fmt::format("rcu_momentary_eqs() on cpu{} with irqs {}{}", cpu, irqs_disabled() ? "off" : "on",
                                    current == cpu_rq(cpu)->idle ? " from idle" : ""),
             describe_cpu(cpu));
  G().watching_seq[cpu] += 2;
}

void rcutree_report_cpu_starting(unsigned cpu) {
  cpumask_set_cpu(cpu, &G().rcu_online);
  G().in_eqs[cpu] = false;
}

void rcutree_report_cpu_dead(unsigned cpu) {
  auto& g = G();
  rcu_report_qs(cpu, "offline");
  cpumask_clear_cpu(cpu, &g.rcu_online);
  g.in_eqs[cpu] = true;
}

int rcutree_prepare_cpu(unsigned) { return 0; }
int rcutree_dead_cpu(unsigned) { return 0; }
int rcutree_dying_cpu(unsigned) { return 0; }
int rcutree_online_cpu(unsigned) { return 0; }
int rcutree_offline_cpu(unsigned) { return 0; }
// The dead CPU's callbacks, pending and ready, move to the CPU running the teardown (kernel:
// to the rcu_barrier/boot CPU's list; the model has one global pending list, so only the owner
// changes).
void rcutree_migrate_callbacks(unsigned cpu) {
  auto& g = G();
  const unsigned to = smp_processor_id();
  if (to == cpu) return;
  for (auto& cb : g.callbacks)
    if (cb.cpu == cpu) cb.cpu = to;
  if (g.done[cpu].empty()) return;
  const bool was_empty = g.done[to].empty();
  for (auto& f : g.done[cpu]) g.done[to].push_back(std::move(f));
  g.done[cpu].clear();
  if (was_empty) raise_rcu_softirq_on(to);
}

void rcu_core(unsigned cpu) {
  auto& q = G().done[cpu];
  while (!q.empty()) {
    auto fn = std::move(q.front());
    q.pop_front();
    fn();
  }
}

}  // namespace model
