// model/watchdog.cpp — see watchdog.hpp. Models watchdog_timer_fn(), softlockup_fn(),
// watchdog_hardlockup_check(), watchdog_enable()/watchdog_disable(), the touch functions and the
// buddy detector's watchdog_next_cpu() / watchdog_buddy_check_hardlockup().
#include "model/watchdog.hpp"

#include <fmt/format.h>

namespace model {

std::unique_ptr<watchdog_globals> make_watchdog_globals(unsigned nr_cpus) {
  auto g = std::make_unique<watchdog_globals>();
  g->cpus = std::vector<watchdog_cpu>(nr_cpus);
  return g;
}

static watchdog_cpu& W(unsigned cpu) { return kernel().wd->cpus[cpu]; }
static std::int64_t running_clock_units() { return kernel().sim.now().ns_since_boot() >> 30; }
static sim::Duration sample_period() { return kernel().cfg.watchdog_thresh * 2 / 5; }

static int softlockup_fn(void*) {
  const unsigned cpu = smp_processor_id();
  W(cpu).touch_ts = W(cpu).report_ts = running_clock_units();
  W(cpu).report_delayed = false;
  complete(&W(cpu).softlockup_completion);
  return 0;
}

static void watchdog_hardlockup_check(unsigned cpu, unsigned from);

// kernel (watchdog_buddy.c): the next CPU after `cpu`, wrapping, among those a buddy watches;
// nr_cpu_ids when `cpu` is alone.
static unsigned watchdog_next_cpu(unsigned cpu) {
  const unsigned n = kernel().nr_cpu_ids;
  for (unsigned i = 1; i < n; ++i) {
    const unsigned c = (cpu + i) % n;
    if (W(c).buddy_watched) return c;
  }
  return n;
}

// kernel: watchdog_hardlockup_touch_cpu().
static void watchdog_hardlockup_touch_cpu(unsigned cpu) { W(cpu).hardlockup_touched = true; }

// A CPU joining or leaving the ring touches the CPU after it, whose buddy changes.
static void watchdog_hardlockup_touch_next(unsigned cpu) {
  const unsigned next = watchdog_next_cpu(cpu);
  if (next < kernel().nr_cpu_ids) watchdog_hardlockup_touch_cpu(next);
}

// kernel: watchdog_buddy_check_hardlockup(). Three hrtimer periods are a little over
// watchdog_thresh, so the next CPU is checked about as often as the perf NMI would check it.
static void watchdog_buddy_check_hardlockup(unsigned cpu, std::uint64_t hrtimer_interrupts) {
  if (hrtimer_interrupts % 3 != 0) return;
  const unsigned next = watchdog_next_cpu(cpu);
  if (next >= kernel().nr_cpu_ids) return;
  watchdog_hardlockup_check(next, cpu);
}

// kernel: watchdog_timer_fn(), in hardirq context on `cpu`.
static void watchdog_timer_fn(unsigned cpu) {
  auto& k = kernel();
  watchdog_cpu& w = W(cpu);
  w.hrtimer_pending = false;
  if (!w.enabled) return;
  ++w.hrtimer_interrupts;  // watchdog_hardlockup_kick()
  if (k.cfg.hardlockup_buddy) watchdog_buddy_check_hardlockup(cpu, w.hrtimer_interrupts);
  if (k.knobs.b14_no_completion_gate) {
    // BUG B14: no gate: a work still queued from the previous period is queued again.
    stop_one_cpu_nowait(cpu, cpu_stop_fn_t(softlockup_fn, "softlockup_fn"), nullptr, &w.softlockup_stop_work);
  } else if (completion_done(&w.softlockup_completion)) {
    // The completion keeps the static work from being queued twice (B14).
    reinit_completion(&w.softlockup_completion);
    stop_one_cpu_nowait(cpu, cpu_stop_fn_t(softlockup_fn, "softlockup_fn"), nullptr, &w.softlockup_stop_work);
  }
  const std::int64_t now = running_clock_units();
  if (w.report_delayed) {
    w.report_delayed = false;
    w.report_ts = now;
    return;
  }
  if (now > w.report_ts + 2 * (k.cfg.watchdog_thresh.count_ns() / 1'000'000'000)) {
    // The kernel prints the timestamp difference itself: units of 2^30 ns, which it calls seconds.
    const std::int64_t stuck_s = now - w.touch_ts;
    task_struct* cur = cpu_rq(cpu)->curr;
    w.report_ts = now;
    k.oracle("soft-lockup", fmt::format("watchdog: BUG: soft lockup - CPU#{} stuck for {}s! [{}:{}]", cpu, stuck_s,
                                        cur->comm, cur->pid),
             describe_cpu(cpu));
  }
}

// kernel: watchdog_hardlockup_check(cpu), run by `from`: the perf NMI on `cpu` itself, or the
// buddy detector on the CPU before it.
static void watchdog_hardlockup_check(unsigned cpu, unsigned from) {
  auto& k = kernel();
  watchdog_cpu& w = W(cpu);
  if (!w.enabled) return;
  if (w.hardlockup_touched) {
    w.hardlockup_touched = false;  // consumes the touch; does not resave the count
    return;
  }
  if (w.hrtimer_interrupts == w.hrtimer_interrupts_saved) {
    if (w.hardlockup_warned) return;
    w.hardlockup_warned = true;
    // I-WD-1: a CPU that only waits in multi_cpu_stop past PREPARE touches the watchdog every
    // iteration; blaming it is a detector bug (B13), not a lockup.
    const rq* r = cpu_rq(cpu);
    const bool waiter = r->msm_cur > MULTI_STOP_PREPARE && r->msm_cur < MULTI_STOP_EXIT && r->msm_fn == nullptr;
    k.oracle(waiter ? "I-WD-1" : "hard-lockup",
             fmt::format("watchdog: CPU{}: Watchdog detected hard LOCKUP on cpu {}{}", from, cpu,
                         waiter ? " (a CPU only waiting in multi_cpu_stop)" : ""),
             describe_cpu(cpu));
  } else {
    w.hrtimer_interrupts_saved = w.hrtimer_interrupts;
    w.hardlockup_warned = false;
  }
}

static void hrtimer_arm(unsigned cpu) {
  auto& k = kernel();
  W(cpu).hrtimer_ev = k.sim.after(sample_period(), [cpu] {
    auto& kk = kernel();
    watchdog_cpu& w = W(cpu);
    if (!w.enabled) return;
    kk.sim.set_event_lane(cpu);
    // Missed periods coalesce: one pending interrupt at most.
    if (!w.hrtimer_pending) {
      w.hrtimer_pending = true;
      raise_irq(cpu, "watchdog_hrtimer", [cpu] { watchdog_timer_fn(cpu); });
    }
    hrtimer_arm(cpu);
  }, /*background=*/true);
}

static void nmi_arm(unsigned cpu) {
  auto& k = kernel();
  W(cpu).nmi_ev = k.sim.after(k.cfg.watchdog_thresh, [cpu] {
    auto& kk = kernel();
    if (!W(cpu).enabled) return;
    kk.sim.set_event_lane(cpu);
    raise_nmi(cpu, "nmi_watchdog", [cpu] { watchdog_hardlockup_check(cpu, cpu); });
    nmi_arm(cpu);
  }, /*background=*/true);
}

static void watchdog_enable(unsigned cpu) {
  auto& k = kernel();
  watchdog_cpu& w = W(cpu);
  if (k.cfg.watchdog_thresh == sim::Duration{} || w.enabled) return;
  init_completion(&w.softlockup_completion);
  complete(&w.softlockup_completion);
  w.enabled = true;
  hrtimer_arm(cpu);  // the hrtimer first
  w.touch_ts = w.report_ts = running_clock_units();
  w.report_delayed = false;
  w.hrtimer_interrupts_saved = w.hrtimer_interrupts;
  w.hardlockup_touched = w.hardlockup_warned = false;
  if (k.cfg.hardlockup_buddy) {
    // kernel: watchdog_hardlockup_enable() (buddy). The buddy may look at this CPU before its
    // first hrtimer, and this CPU at its next one before that one's counter moved again: touching
    // both buys each a period. Only then is this CPU watched.
    watchdog_hardlockup_touch_cpu(cpu);
    watchdog_hardlockup_touch_next(cpu);
    w.buddy_watched = true;
  } else {
    nmi_arm(cpu);
  }
  k.sim.trace().event("watchdog", sim::Level::Info, "wd.enable", "cpu={}", cpu);
}

static void watchdog_disable(unsigned cpu) {
  auto& k = kernel();
  watchdog_cpu& w = W(cpu);
  if (!w.enabled) return;
  // The hard-lockup detector first.
  if (k.cfg.hardlockup_buddy) {
    // kernel: watchdog_hardlockup_disable() (buddy): the CPU before this one is about to check the
    // one after it, which may have just been checked by this one: touch it.
    watchdog_hardlockup_touch_next(cpu);
    w.buddy_watched = false;
  } else {
    k.sim.cancel(w.nmi_ev);
  }
  w.enabled = false;
  k.sim.cancel(w.hrtimer_ev);
  wait_for_completion(&w.softlockup_completion);  // a pending softlockup_fn must finish
  complete(&w.softlockup_completion);
  k.sim.trace().event("watchdog", sim::Level::Info, "wd.disable", "cpu={}", cpu);
}

void lockup_detector_init() { watchdog_enable(0); }

int lockup_detector_online_cpu(unsigned cpu) {
  watchdog_enable(cpu);
  return 0;
}

int lockup_detector_offline_cpu(unsigned cpu) {
  watchdog_disable(cpu);
  return 0;
}

void touch_softlockup_watchdog() { W(smp_processor_id()).report_delayed = true; }

void watchdog_touch_nmi(unsigned cpu) {
  W(cpu).hardlockup_touched = true;
  W(cpu).report_delayed = true;
}

}  // namespace model
