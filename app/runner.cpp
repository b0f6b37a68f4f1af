// app/runner.cpp — binds a Scenario to model::Kernel (see runner.hpp).
// Actions are started by timer events (or, for triggered actions, by an event scheduled from a
// trace observer: observers run inside arbitrary kernel code, so they never call the kernel
// themselves). Starting an action creates its kernel thread on the action's CPU; the thread makes
// the calls and reports back to init, which sleeps until every started action has finished.
#include "app/runner.hpp"

#include "app/chrome_trace.hpp"
#include "app/fns.hpp"
#include "model/bugs.hpp"
#include "model/cpu.hpp"
#include "model/kthread.hpp"
#include "model/rcu.hpp"
#include "model/smpboot.hpp"
#include "model/stop_machine.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <memory>
#include <set>

namespace app {

namespace {

/// A registered smp_hotplug_thread and the per-CPU "please run thread_fn" requests.
struct SmpbootDesc {
  std::vector<model::task_struct*> store;
  model::smp_hotplug_thread ht;
  std::deque<sim::Watched<int>> pending;
};

struct ActionRt {
  const Action* a = nullptr;
  ActionSummary sum;
  model::cpu_stop_fn_t fn;
  model::cpumask mask;  ///< the `cpus` argument (valid when a->cpus)
  std::uint32_t matches = 0;
  bool fired = false;
  std::set<std::uint32_t> injected;  ///< calls made to fail by [kernel] hotplug_fault_ratio
};

struct RunState {
  RunState(const Scenario& s, const RunOptions& o) : sc(s), opts(o) {}
  const Scenario& sc;
  const RunOptions& opts;
  Counters counters;
  std::deque<std::string> strings;  ///< names handed to the kernel as const char* (stable addresses)
  std::deque<ActionRt> acts;
  std::deque<model::cpu_stop_work> works;  ///< stop_one_cpu_nowait buffers: live until the kernel is gone
  std::deque<SmpbootDesc> descs;
  std::vector<std::deque<std::string>> tail;
  int pending = 0;  ///< actions due or triggered that have not finished
  model::task_struct* init = nullptr;
  bool init_done = false;
  bool armed = false;

  const char* intern(std::string s) { return strings.emplace_back(std::move(s)).c_str(); }
};

template <class... Args>
void trace_scn(const char* ev, fmt::format_string<Args...> f, Args&&... args) {
  model::kernel().sim.trace().event("scenario", sim::Level::Info, ev, f, std::forward<Args>(args)...);
}

void action_done(RunState& st) {
  --st.pending;
  if (st.init != nullptr && !st.init_done) model::wake_up_process(st.init);
}

const model::cpumask* mask_arg(const ActionRt& ar) { return ar.a->cpus ? &ar.mask : nullptr; }

int do_inactive_cpu(RunState& st, ActionRt& ar) {
  using namespace model;
  const unsigned target = ar.a->targets[0];
  if (cpu_online(target)) {
    const int down = cpu_down(target);
    if (down != 0) return down;
  }
  bool ran = false;
  int inner = 0;
  const int ret = cpuhp_setup_state_nocalls(
      CPUHP_AP_CACHECTRL_STARTING, st.intern("scn:" + ar.a->name),
      [&ran, &inner, &ar, target](unsigned cpu) {
        if (cpu != target || ran) return 0;
        ran = true;
        inner = stop_machine_from_inactive_cpu(ar.fn, nullptr, mask_arg(ar));
        return 0;
      },
      {});
  if (ret < 0) return ret;
  const int up = cpu_up(target);
  cpuhp_remove_state_nocalls(CPUHP_AP_CACHECTRL_STARTING);
  if (ran) return inner;
  return up != 0 ? up : -ENODEV;
}

int do_cpuhp_setup_state(RunState& st, ActionRt& ar) {
  using namespace model;
  const Action& a = *ar.a;
  cpuhp_single_cb startup, teardown;
  const char* fn_name = st.intern(a.name + ":stop");
  if (!a.startup.empty())
    startup = make_hotplug_cb(a.startup, st.counters, a.name + ".startup",
                              FailPlan{a.startup_fails_on, a.fail_ret, a.fail_times}, fn_name);
  if (!a.teardown.empty())
    teardown = make_hotplug_cb(a.teardown, st.counters, a.name + ".teardown",
                               FailPlan{a.teardown_fails_on, a.fail_ret, a.fail_times}, fn_name);
  const char* name = st.intern(a.state_name);
  const int ret = a.invoke ? cpuhp_setup_state(a.state, name, startup, teardown)
                           : cpuhp_setup_state_nocalls(a.state, name, startup, teardown);
  if (ret >= 0 && a.remove_after) {
    const bool dyn = a.state == CPUHP_AP_ONLINE_DYN || a.state == CPUHP_BP_PREPARE_DYN;
    const int installed = dyn && ret > 0 ? ret : a.state;
    schedule_timeout_uninterruptible(*a.remove_after);
    if (a.invoke) cpuhp_remove_state(installed);
    else cpuhp_remove_state_nocalls(installed);
  }
  return ret;
}

int do_smpboot(RunState& st, ActionRt& ar) {
  using namespace model;
  const Action& a = *ar.a;
  auto& k = kernel();
  SmpbootDesc& d = st.descs.emplace_back();
  d.store.assign(k.nr_cpu_ids, nullptr);
  for (unsigned c = 0; c < k.nr_cpu_ids; ++c) d.pending.emplace_back(0, "scn.thread_should_run");
  Counters& n = st.counters;
  const std::string p = a.name + ".";
  d.ht.store = &d.store;
  d.ht.thread_comm = a.thread_comm;
  d.ht.selfparking = a.selfparking;
  d.ht.thread_should_run = [&d](unsigned cpu) { return d.pending[cpu].load() > 0 ? 1 : 0; };
  d.ht.thread_fn = [&d, &n, p](unsigned cpu) {
    d.pending[cpu].store(d.pending[cpu].load() - 1);
    n.add(p + "thread_fn");
  };
  d.ht.create = [&n, p](unsigned) { n.add(p + "create"); };
  d.ht.setup = [&n, p](unsigned) { n.add(p + "setup"); };
  d.ht.cleanup = [&n, p](unsigned, bool) { n.add(p + "cleanup"); };
  d.ht.park = [&n, p](unsigned) { n.add(p + "park"); };
  d.ht.unpark = [&n, p](unsigned) { n.add(p + "unpark"); };
  const int ret = smpboot_register_percpu_thread(&d.ht);
  if (ret != 0) return ret;
  if (a.runs > 0) {
    for (unsigned c = 0; c < k.nr_cpu_ids; ++c) {
      if (!cpu_online(c) || d.store[c] == nullptr) continue;
      d.pending[c].store(static_cast<int>(a.runs));
      wake_up_process(d.store[c]);
    }
  }
  if (a.unregister_after) {
    schedule_timeout_uninterruptible(*a.unregister_after);
    smpboot_unregister_percpu_thread(&d.ht);
  }
  return 0;
}

/// [kernel] hotplug_fault_ratio: whether this hotplug call is made to fail (a recorded choice).
bool injected_fault(const RunState& st, ActionRt& ar, std::uint32_t call) {
  const sim::Ratio r = st.sc.hotplug_fault_ratio;
  if (r.num == 0 || !model::kernel().sim.chance(sim::ChoiceKind::Fault, r, "fault")) return false;
  ar.injected.insert(call);
  return true;
}

int perform(RunState& st, ActionRt& ar, std::uint32_t call) {
  using namespace model;
  const Action& a = *ar.a;
  switch (a.kind) {
    case ActionKind::StopMachine: return stop_machine(ar.fn, nullptr, mask_arg(ar));
    case ActionKind::StopMachineCpuslocked: {
      cpus_read_lock();
      const int ret = stop_machine_cpuslocked(ar.fn, nullptr, mask_arg(ar));
      cpus_read_unlock();
      return ret;
    }
    case ActionKind::StopOneCpu: return stop_one_cpu(a.targets[0], ar.fn, nullptr);
    case ActionKind::StopOneCpuNowait:
      return stop_one_cpu_nowait(a.targets[0], ar.fn, nullptr, &st.works.emplace_back()) ? 1 : 0;
    case ActionKind::StopTwoCpus: return stop_two_cpus(a.targets[0], a.targets[1], ar.fn, nullptr);
    case ActionKind::StopMachineFromInactiveCpu: return do_inactive_cpu(st, ar);
    case ActionKind::CpuUp: {
      const unsigned target = a.targets[call % a.targets.size()];
      std::optional<int> fail = a.fail_state;
      if (!fail && injected_fault(st, ar, call)) {
        const auto& states = failable_bringup_states();
        fail = states[kernel().sim.choose(sim::ChoiceKind::Fault, static_cast<std::uint32_t>(states.size()), "fault")];
        trace_scn("scn.fault", "name={} n={} cpu={} fail_state={}", a.name, call, target, cpuhp_state_name(*fail));
      }
      if (fail) model::cpuhp_inject_next({.fail_state = *fail});  // the sysfs fail attribute, for this call
      return cpu_up(target);
    }
    case ActionKind::CpuDown: {
      const unsigned target = a.targets[call % a.targets.size()];
      std::optional<int> refuse = a.disable_fails;
      if (!refuse && injected_fault(st, ar, call)) {
        refuse = -EBUSY;
        trace_scn("scn.fault", "name={} n={} cpu={} disable_fails={}", a.name, call, target, *refuse);
      }
      if (refuse) model::cpuhp_inject_next({.disable_error = *refuse});  // for this call only
      return cpu_down(target);
    }
    case ActionKind::Migrate: return affine_move_task(a.targets[call % a.targets.size()]);
    case ActionKind::CpuhpSetupState: return do_cpuhp_setup_state(st, ar);
    case ActionKind::SmpbootRegisterPercpuThread: return do_smpboot(st, ar);
    case ActionKind::SynchronizeRcu: synchronize_rcu(); return 0;
    case ActionKind::IrqOff: {
      const unsigned long flags = local_irq_save();
      busy_loop(a.duration, a.touch);
      local_irq_restore(flags);
      return 0;
    }
    case ActionKind::PreemptOff:
      preempt_disable();
      busy_loop(a.duration, a.touch);
      preempt_enable();
      return 0;
    case ActionKind::Busy: busy_loop(a.duration, a.touch); return 0;
    case ActionKind::VcpuStall: break;  // the host's doing, not a thread's: host_call
    case ActionKind::SmtControl: return cpu_smt_control_store(a.smt_value);
  }
  return 0;
}

/// Call `i` of an action, counted and traced (scn.call / scn.ret) around `call`, which returns its
/// value.
template <class Call>
void record_call(RunState& st, ActionRt& ar, std::uint32_t i, Call&& call) {
  const Action& a = *ar.a;
  trace_scn("scn.call", "name={} do={} n={}", a.name, to_string(a.kind), i);
  ++ar.sum.calls;
  st.counters.add(a.name + ".calls");
  const int ret = call();
  ar.sum.rets.push_back(ret);
  trace_scn("scn.ret", "name={} n={} ret={}", a.name, i, ret);
}

/// A vcpu_stall call, made by the host from timer-event context: no kernel thread is involved,
/// so it lands whatever the CPUs are doing (inside stop_machine, with interrupts off).
/// SIM: the hypervisor, not the kernel: the target's timeline jumps.
void host_call(RunState& st, ActionRt& ar, std::uint32_t i) {
  auto& k = model::kernel();
  const Action& a = *ar.a;
  k.sim.set_event_lane(a.targets[0]);
  record_call(st, ar, i, [&] {
    k.sim.stall_lane(a.targets[0], k.sim.now() + a.duration);
    return 0;
  });
  if (i + 1 == a.count) return action_done(st);
  k.sim.at(k.sim.now() + a.every, [&st, &ar, i] { host_call(st, ar, i + 1); });
}

/// The body of an action's kernel thread: `count` calls, starts spaced `every` apart.
void action_body(RunState& st, ActionRt& ar) {
  auto& k = model::kernel();
  const Action& a = *ar.a;
  const sim::Time start = k.sim.now();
  for (std::uint32_t i = 0; i < a.count; ++i) {
    if (i > 0 && a.every > sim::Duration::ns(0)) {
      const sim::Time due = start + a.every * i;
      if (k.sim.now() < due) model::schedule_timeout_uninterruptible(due - k.sim.now());
    }
    record_call(st, ar, i, [&] { return perform(st, ar, i); });
  }
  action_done(st);
}

/// Timer-event context: creates the action's thread on its CPU (or skips an offline CPU).
void start_action(RunState& st, ActionRt& ar) {
  using namespace model;
  auto& k = kernel();
  const Action& a = *ar.a;
  k.sim.set_event_lane(a.cpu);
  if (a.on) trace_scn("scn.trigger", "name={} event={} match={}", a.name, a.on->event, ar.matches);
  if (a.kind == ActionKind::VcpuStall) {
    ++ar.sum.started;
    return host_call(st, ar, 0);
  }
  if (!cpu_online(a.cpu)) {
    ++ar.sum.skipped;
    st.counters.add(a.name + ".skipped");
    trace_scn("scn.skip", "name={} cpu={} reason=offline", a.name, a.cpu);
    action_done(st);
    return;
  }
  ++ar.sum.started;
  trace_scn("scn.start", "name={} do={} cpu={}", a.name, to_string(a.kind), a.cpu);
  task_struct* p = kthread_create_on_cpu([&st, &ar](void*) {
    action_body(st, ar);
    return 0;
  }, nullptr, a.cpu, a.task);
  p->unbound = a.unbound;
  wake_up_process(p);
}

void init_body(RunState& st) {
  using namespace model;
  auto& k = kernel();
  st.init = current;
  st.armed = true;
  trace_scn("scn.begin", "scenario={} actions={}", st.sc.name, st.acts.size());
  for (auto& ar : st.acts) {
    if (ar.a->on) continue;
    ++st.pending;
    const sim::Time when = sim::max(k.sim.now(), sim::Time::zero() + ar.a->at);
    k.sim.at(when, [&st, &ar] { start_action(st, ar); });
  }
  for (;;) {
    set_current_state(TASK_UNINTERRUPTIBLE);
    if (st.pending == 0) break;
    schedule();
  }
  set_current_state(TASK_RUNNING);
  st.init_done = true;
  trace_scn("scn.end", "scenario={}", st.sc.name);
}

/// "[time] cpuN task payload" -> payload (the task name may not be split on blanks).
std::string_view payload_of(const sim::TraceContext& ctx, std::string_view line) {
  std::size_t p = line.find("] ");
  if (p == std::string_view::npos) return {};
  p = line.find(' ', p + 2);
  if (p == std::string_view::npos) return {};
  p += 1 + ctx.task.size() + 1;
  return p <= line.size() ? line.substr(p) : std::string_view{};
}

// A trace line's event, parsed at most once however many triggers look at it.
struct ParsedLine {
  ParsedLine(const sim::TraceContext& c, std::string_view l) : ctx(c), line(l) {}
  const sim::TraceContext& ctx;
  std::string_view line;
  bool parsed = false, ok = false;
  std::string name;
  std::vector<std::pair<std::string, std::string>> fields;

  bool parse() {
    if (!parsed) ok = sim::parse_event_payload(payload_of(ctx, line), name, fields);
    parsed = true;
    return ok;
  }
};

bool trigger_matches(const Trigger& t, ParsedLine& pl) {
  if (t.cpu >= 0 && pl.ctx.cpu != t.cpu) return false;
  if (pl.line.find(t.event) == std::string_view::npos) return false;
  if (!pl.parse() || pl.name != t.event) return false;
  for (const auto& want : t.fields)
    if (std::find(pl.fields.begin(), pl.fields.end(), want) == pl.fields.end()) return false;
  return true;
}

void on_trace_line(RunState& st, const sim::TraceContext& ctx, std::string_view line) {
  if (st.opts.tail_lines > 0) {
    auto& ring = st.tail[static_cast<std::size_t>(std::max(ctx.cpu, -1) + 1)];
    ring.emplace_back(line);
    if (ring.size() > st.opts.tail_lines) ring.pop_front();
  }
  if (!st.armed) return;
  ParsedLine pl(ctx, line);
  for (auto& ar : st.acts) {
    if (!ar.a->on || ar.fired || !trigger_matches(*ar.a->on, pl)) continue;
    if (++ar.matches < ar.a->on->nth) continue;
    ar.fired = true;
    ++st.pending;
    auto& k = model::kernel();
    k.sim.at(k.sim.now() + ar.a->on->delay, [&st, &ar] { start_action(st, ar); });
  }
}

model::KernelConfig kernel_config(const Scenario& sc, const RunOptions& o, RunReport& rep) {
  model::KernelConfig kc;
  kc.nr_cpus = sc.cpus;
  kc.present = sc.present_cpus();
  kc.online_at_boot = sc.boot_cpus();
  kc.smt = sc.smt;
  kc.hz = sc.hz;
  kc.watchdog_thresh = sc.watchdog_thresh;
  kc.rcu_cpu_stall_timeout = sc.rcu_cpu_stall_timeout;
  kc.liveness_bound = sc.liveness_bound;
  kc.detectors_stop_run = sc.detectors_stop_run;
  kc.ksoftirqd = sc.ksoftirqd;
  kc.idle_balance = sc.idle_balance;
  kc.hung_task_timeout = sc.hung_task_timeout;
  kc.smt_control = sc.smt_control;
  kc.hardlockup_buddy = sc.hardlockup_buddy;
  kc.sim.seed = rep.seed;
  kc.sim.policy = o.replay ? sim::PolicyKind::Replay : rep.strategy;
  if (o.replay) kc.sim.replay = *o.replay;
  kc.sim.pct_depth = rep.pct_depth;
  kc.sim.pct_steps = o.pct_steps.value_or(sc.pct_steps);
  kc.sim.granularity = rep.granularity;
  kc.sim.step_cost = sc.step_cost;
  kc.sim.skew = sc.skew;
  kc.sim.propagation_delay_max = sc.propagation_delay;
  kc.sim.stall_ratio = sc.vcpu_stall_ratio;
  kc.sim.stall_max = sc.vcpu_stall_max;
  // A PCT run (and its replay: the artifact names the strategy) stalls the lane hit by a change
  // point (PctPolicy::stall_picked).
  if (rep.strategy == sim::PolicyKind::Pct) kc.sim.pct_stall = sc.pct_stall;
  kc.sim.max_steps = sc.max_steps;
  kc.sim.record_choices = o.record_choices;
  kc.sim.max_time = sim::Time::zero() + sc.max_time;
  for (const auto& b : rep.bugs) {
    const model::bug_knob* knob = model::find_bug(b);
    if (knob == nullptr) throw ScenarioError(fmt::format("unknown bug knob '{}'; see `smpsim list bugs`", b));
    knob->enable(kc.knobs);
  }
  return kc;
}

bool in_list(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::vector<unsigned> mask_cpus(const model::cpumask& m, unsigned nr) {
  std::vector<unsigned> out;
  for (unsigned c = 0; c < nr; ++c)
    if (model::cpumask_test_cpu(c, &m)) out.push_back(c);
  return out;
}

/// Fills the report from the finished run (kernel still alive) and checks the expectations.
void evaluate(const Scenario& sc, RunState& st, model::Kernel& k, RunReport& rep) {
  const sim::RunResult& r = rep.result;
  for (const auto& rp : k.reports) {
    rep.reports.push_back(DetectorReport{rp.kind, rp.cpu, rp.time, rp.message});
    st.counters.add("report." + rp.kind);
  }
  for (auto& ar : st.acts) rep.actions.push_back(ar.sum);
  for (const auto& [key, v] : st.counters.all()) rep.counts[key] = v;
  const std::vector<unsigned> online = mask_cpus(k.cpu_online_mask, k.nr_cpu_ids);
  const std::vector<unsigned> active = mask_cpus(k.cpu_active_mask, k.nr_cpu_ids);
  rep.online = format_cpulist(online);
  rep.active = format_cpulist(active);
  for (unsigned c = 0; c < k.nr_cpu_ids; ++c) {
    CpuSummary cs;
    if (c < r.lanes.size()) {
      cs.steps = r.lanes[c].steps;
      cs.spin = r.lanes[c].spin;
      cs.halted = r.lanes[c].halted;
    }
    cs.switches = k.rqs[c].nr_switches;
    cs.irqs = k.rqs[c].nr_irqs;
    rep.cpus.push_back(cs);
  }
  for (auto& ring : st.tail) rep.tail.emplace_back(ring.begin(), ring.end());
  rep.choices = k.sim.chooser().take_log();  // the run is over: nothing logs a choice after this
  rep.picks = k.sim.chooser().picks();

  rep.failed = r.failure.has_value() || r.outcome != sim::Outcome::Completed;
  const std::string kind = r.failure ? r.failure->kind : std::string(sim::to_string(r.outcome));
  std::vector<std::string> keys;
  auto unmet = [&](std::string key, std::string why) {
    keys.push_back(std::move(key));
    rep.unmet.push_back(std::move(why));
  };
  const Expect& e = sc.expect;
  if (e.pass && rep.failed) unmet("expect.result", fmt::format("expected a pass, got the failure {}", kind));
  if (!e.pass && !rep.failed)
    unmet("expect.result", e.failure_kinds.empty() ? std::string("expected a failure, the run passed")
                                                   : fmt::format("expected the failure {}, the run passed",
                                                                 fmt::join(e.failure_kinds, " or ")));
  if (!e.pass && rep.failed && !e.failure_kinds.empty() && !in_list(e.failure_kinds, kind))
    unmet("expect.failure", fmt::format("expected the failure {}, got {}", fmt::join(e.failure_kinds, " or "), kind));
  // With hotplug faults injected, which CPUs end up online and what the counters say depend on
  // the calls made to fail: only the result and the other calls' return values are checked.
  const bool faulted = std::any_of(st.acts.begin(), st.acts.end(), [](const ActionRt& ar) { return !ar.injected.empty(); });
  if (!rep.failed && !faulted) {
    if (e.online && *e.online != online)
      unmet("expect.online", fmt::format("expected online CPUs {}, got {}", format_cpulist(*e.online), rep.online));
    if (e.active && *e.active != active)
      unmet("expect.active", fmt::format("expected active CPUs {}, got {}", format_cpulist(*e.active), rep.active));
    for (const auto& [key, want] : e.counts) {
      const std::int64_t got = st.counters.get(key);
      if (got != want) unmet("expect.counts." + key, fmt::format("expected count {} = {}, got {}", key, want, got));
    }
  }
  if (!rep.failed) {
    for (const auto& ar : st.acts) {
      if (!ar.a->expect_ret) continue;
      const int want = *ar.a->expect_ret;
      if (ar.sum.rets.empty())
        unmet(fmt::format("action.{}.expect_ret", ar.a->name), fmt::format("action {} made no call", ar.a->name));
      for (std::size_t i = 0; i < ar.sum.rets.size(); ++i) {
        if (ar.sum.rets[i] == want || ar.injected.count(static_cast<std::uint32_t>(i)) != 0) continue;
        unmet(fmt::format("action.{}.expect_ret", ar.a->name),
              fmt::format("action {} call #{} returned {}, expected {}", ar.a->name, i, ar.sum.rets[i], want));
        break;
      }
    }
  }
  rep.expectation_met = rep.unmet.empty();
  if (rep.failed) {
    Signature s;
    s.kind = kind;
    if (r.failure) {
      s.cpu = r.failure->cpu;
      s.task = r.failure->task.empty() ? "-" : r.failure->task;
      s.place = r.failure->place.empty() ? "-" : r.failure->place;
    }
    rep.signature = s;
  } else if (!rep.expectation_met) {
    rep.signature = Signature{"expectation", -1, "-", keys.front()};
  }
}

}  // namespace

RunReport run_scenario(const Scenario& sc, const RunOptions& o, const std::function<void(const RunReport&)>& on_result) {
  RunReport rep;
  rep.seed = o.seed.value_or(sc.seed);
  rep.strategy = o.strategy.value_or(sc.strategy);
  rep.pct_depth = o.pct_depth.value_or(sc.pct_depth);
  rep.granularity = o.granularity.value_or(sc.granularity);
  rep.bugs = sc.bugs;
  for (const auto& b : o.bugs)
    if (!in_list(rep.bugs, b)) rep.bugs.push_back(b);
  const model::KernelConfig kc = kernel_config(sc, o, rep);

  RunState st(sc, o);  // outlives the kernel: the kernel holds pointers into it
  if (o.tail_lines > 0) st.tail.resize(sc.cpus + 1);  // a campaign keeps no tail: no deque per CPU
  model::Kernel k(kc);
  for (const auto& action : sc.actions) {
    ActionRt& ar = st.acts.emplace_back();
    ar.a = &action;
    ar.sum.name = action.name;
    ar.sum.kind = to_string(action.kind);
    ar.fn = make_stop_fn(action.fn, st.counters, st.intern(action.fn));
    ar.mask = model::cpumask(k.nr_cpu_ids);
    if (action.cpus)
      for (unsigned c : *action.cpus) model::cpumask_set_cpu(c, &ar.mask);
  }
  sim::Trace& trace = k.sim.trace();
  for (const auto& [subsys, level] : o.log_levels) trace.set_level(subsys, level);
  if (o.text_trace) trace.add_text_sink(*o.text_trace);
  if (o.jsonl_trace) trace.add_jsonl_sink(*o.jsonl_trace);
  if (o.chrome) {
    o.chrome->attach(trace, k.nr_cpu_ids);
    k.sim.add_checker("chrome-poll", [&k, ct = o.chrome] {
      for (unsigned c = 0; c < k.nr_cpu_ids; ++c) {
        const model::rq& q = k.rqs[c];
        ct->cpu_state(c, k.sim.lane_clock(c), q.irqs_disabled, q.curr != nullptr && q.curr->preempt_count > 0);
      }
    });
  }
  trace.set_hashing(o.trace_hash);
  const bool triggers = std::any_of(sc.actions.begin(), sc.actions.end(), [](const Action& a) { return a.on.has_value(); });
  if (o.tail_lines > 0 || triggers)
    trace.add_observer([&st](const sim::TraceContext& ctx, std::string_view line) { on_trace_line(st, ctx, line); });

  k.start_kernel([&st] { init_body(st); });
  rep.result = k.run();
  trace.flush();
  evaluate(sc, st, k, rep);
  if (o.chrome) o.chrome->finish(rep.result.end_time);
  if (on_result) on_result(rep);
  return rep;
}

}  // namespace app
