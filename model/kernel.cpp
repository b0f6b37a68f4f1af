// model/kernel.cpp — the machine: construction, boot (init/main.c start_kernel(), the
// boot-CPU parts of kernel/cpu.c), the oracle sink and the end-of-run checks.
#include "model/kernel.hpp"

#include "model/cpu.hpp"
#include "model/hung_task.hpp"
#include "model/kthread.hpp"
#include "model/lockdep.hpp"
#include "model/rcu.hpp"
#include "model/watchdog.hpp"
#include "model/smpboot.hpp"
#include "model/softirq.hpp"
#include "model/stop_machine.hpp"

#include <fmt/format.h>

namespace model {

constinit thread_local Kernel* tl_kernel = nullptr;

void no_kernel_on_thread() {
  sim::assert_fail("tl_kernel != nullptr", __FILE__, __LINE__, "no simulated kernel on this thread");
}

namespace {

sim::Config engine_config(const KernelConfig& cfg) {
  sim::Config c = cfg.sim;
  c.lanes = cfg.nr_cpus;
  return c;
}
}  // namespace

Kernel::Kernel(KernelConfig c)
    : cfg(std::move(c)), knobs(cfg.knobs), sim(engine_config(cfg)), nr_cpu_ids(cfg.nr_cpus) {
  SIM_ASSERT_MSG(tl_kernel == nullptr, "one simulated kernel per thread at a time");
  SIM_ASSERT(cfg.nr_cpus >= 1);
  if (cfg.present == 0 || cfg.present > cfg.nr_cpus) cfg.present = cfg.nr_cpus;
  if (cfg.online_at_boot == 0 || cfg.online_at_boot > cfg.present) cfg.online_at_boot = cfg.present;
  if (cfg.smt == 0) cfg.smt = 1;
  tl_kernel = this;
  for (cpumask* m : {&cpu_possible_mask, &cpu_present_mask, &cpu_enabled_mask, &cpu_online_mask, &cpu_active_mask,
                     &cpu_dying_mask})
    *m = cpumask(nr_cpu_ids);
  rqs.resize(nr_cpu_ids);
  for (unsigned i = 0; i < nr_cpu_ids; ++i) rqs[i].cpu = i;
  // Room for the per-CPU threads (swapper, cpuhp, migration, ...) and a few others, so the
  // lists do not regrow while the machine boots.
  tasks.reserve(4 * nr_cpu_ids + 8);
  kthreads.reserve(4 * nr_cpu_ids + 8);
  lockdep = std::make_unique<Lockdep>();
  cpu = make_cpu_globals(nr_cpu_ids);
  rcu = make_rcu_globals(nr_cpu_ids);
  softirq = make_softirq_globals(nr_cpu_ids);
  wd = make_watchdog_globals(nr_cpu_ids);
  sm = make_stop_machine_globals(nr_cpu_ids);
  sb = make_smpboot_globals();
  sim.on_point(irq_and_preempt_point);
  // kernel: do_task_dead() -> __schedule(): the CPU switches to the next task.
  // SIM: without the idle balance ([kernel] idle_balance) that __schedule() would run first: the
  // exited thread's fiber is gone, and nothing here may wait for another CPU's lock.
  sim.on_fiber_exit([this](sim::LaneId lane, sim::FiberId) {
    rq* r = &rqs[lane];
    task_struct* dead = r->curr;
    dead->on_rq = false;
    dead->on_cpu.set_quiet(false);
    task_struct* next = pick_next_task(r);
    if (!r->fair.empty() && next == r->fair.front()) r->fair.pop_front();
    r->curr = next;
    next->on_cpu.set_quiet(true);
    sim.trace().event("sched", sim::Level::Info, "sched.exit", "cpu={} prev={} next={}", lane, dead->comm, next->comm);
    sim.set_current(lane, next->fiber);
  });
}

Kernel::~Kernel() {
  // The threads' frames point into the members below: they end while those still exist.
  sim.end_fibers();
  tl_kernel = nullptr;
}

void Kernel::oracle(const std::string& id, const std::string& message, const std::string& place) {
  if (is_detector(id)) {
    const sim::TraceContext ctx = sim.trace_context();
    reports.push_back(report{id, ctx.cpu, sim.now(), message, place});
    sim.trace().event("kernel", sim::Level::Warn, "kernel.report", "kind={} msg=\"{}\"", id, message);
    if (!cfg.detectors_stop_run) return;
  }
  sim.fail(id, message, place);
}

task_struct* Kernel::create_task(std::string comm, unsigned cpu_id, std::function<void()> body, bool essential) {
  auto t = std::make_unique<task_struct>();
  task_struct* p = t.get();
  p->pid = static_cast<int>(tasks.size());
  p->comm = std::move(comm);
  p->cpu = cpu_id;
  p->thread_fn = std::move(body);
  // kernel: ret_from_fork() -> schedule_tail(): a new task finishes the switch that started it.
  p->fiber = sim.spawn(p->comm, [p] {
    schedule_tail();
    p->thread_fn();
  }, {.essential = essential, .user = p});
  tasks.push_back(std::move(t));
  return p;
}

static void smp_init() {
  auto& k = kernel();
  bringup_nonboot_cpus(k.cfg.online_at_boot);
  k.sim.trace().event("cpu", sim::Level::Info, "smp.booted", "online={}", cpumask_pr(&k.cpu_online_mask));
}

std::string describe_cpu(unsigned cpu) {
  rq* r = cpu_rq(cpu);
  if (r->msm_cur >= 0) {
    if (r->msm_fn) return fmt::format("multi_cpu_stop:RUN:{}", r->msm_fn);
    return fmt::format("multi_cpu_stop:{}", multi_stop_state_name(r->msm_cur));
  }
  if (r->curr == r->stop && kernel().sm && stopper_of(cpu)->fn) return fmt::format("stop:{}", stopper_of(cpu)->fn);
  return r->curr->comm;
}

void sim_probe(const char* name) { kernel().sim.probe(name); }

void Kernel::warn(const char* subsys, const char* site, const std::string& msg, bool once) {
  if (once) {
    if (std::find(warned_once.begin(), warned_once.end(), site) != warned_once.end()) return;
    warned_once.emplace_back(site);
  }
  sim.trace().event(subsys, sim::Level::Warn, fmt::format("{}.warn", subsys), "site={} msg=\"{}\"", site, msg);
}

void Kernel::start_kernel(std::function<void()> init_body) {
  // kernel: boot_cpu_init()
  for (unsigned c = 0; c < nr_cpu_ids; ++c) cpumask_set_cpu(c, &cpu_possible_mask);
  for (unsigned c = 0; c < cfg.present; ++c) {
    cpumask_set_cpu(c, &cpu_present_mask);
    cpumask_set_cpu(c, &cpu_enabled_mask);
  }
  cpumask_set_cpu(0, &cpu_online_mask);
  cpumask_set_cpu(0, &cpu_active_mask);
  num_online_cpus_.poke(1);
  cpuhp_register_default_states();
  boot_cpu_hotplug_init();
  rcutree_report_cpu_starting(0);
  for (unsigned c = 0; c < nr_cpu_ids; ++c) init_idle(c);
  task_struct* init = create_task("init", 0, [this, body = std::move(init_body)] {
    cpu_stop_init();
    cpuhp_threads_init();
    spawn_ksoftirqd();
    rcu_init();
    lockup_detector_init();
    hung_task_init();
    if (boot_hook) boot_hook();
    else smp_init();
    system_running = true;
    if (body) body();
  }, /*essential=*/true);
  init->state = TASK_RUNNING;
  init->on_rq = true;
  rqs[0].fair.push_back(init);
  rqs[0].need_resched = true;
  tick_start(0);
}

sim::RunResult Kernel::run() {
  sim::RunResult r = sim.run();
  if (!r.failure && r.outcome == sim::Outcome::Completed) {
    final_checks();
    if (sim.failure()) {
      r.outcome = sim::Outcome::Failed;
      r.failure = sim.failure();
    }
  }
  return r;
}

void Kernel::final_checks() { stop_machine_final_checks(); }

}  // namespace model
