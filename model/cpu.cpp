// model/cpu.cpp — models kernel/cpu.c (Linux v6.16): the hotplug state machine (§3 of the spec),
// cpu_hotplug_lock, the cpuhp/N thread and its kick protocol, state installation, fault injection
// and the I-HP invariants (§6.3), checked as the code runs.
// Not modelled: see cpu.hpp.
#include "model/cpu.hpp"

#include "model/lockdep.hpp"
#include "model/rcu.hpp"
#include "model/smpboot.hpp"
#include "model/stop_machine.hpp"
#include "model/watchdog.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace model {

static cpu_globals& G() { return *kernel().cpu; }
cpuhp_cpu_state* cpuhp_state_of(unsigned cpu) { return &G().st[cpu]; }
cpuhp_step* cpuhp_get_step(int state) { return &G().steps[static_cast<std::size_t>(state)]; }

std::unique_ptr<cpu_globals> make_cpu_globals(unsigned nr_cpus) {
  auto g = std::make_unique<cpu_globals>();
  g->steps.resize(CPUHP_ONLINE + 1);
  g->st = std::vector<cpuhp_cpu_state>(nr_cpus);
  g->cpuhp_thread_store.assign(nr_cpus, nullptr);
  g->disable_error.assign(nr_cpus, 0);
  g->last_invoked.assign(nr_cpus, CPUHP_INVALID);
  return g;
}

static std::string make_cpuhp_state_name(int s) {
  static const std::pair<int, const char*> fixed[] = {
      {CPUHP_INVALID, "CPUHP_INVALID"}, {CPUHP_OFFLINE, "CPUHP_OFFLINE"},
      {CPUHP_CREATE_THREADS, "CPUHP_CREATE_THREADS"}, {CPUHP_RCUTREE_PREP, "CPUHP_RCUTREE_PREP"},
      {CPUHP_BRINGUP_CPU, "CPUHP_BRINGUP_CPU"}, {CPUHP_AP_IDLE_DEAD, "CPUHP_AP_IDLE_DEAD"},
      {CPUHP_AP_OFFLINE, "CPUHP_AP_OFFLINE"}, {CPUHP_AP_CACHECTRL_STARTING, "CPUHP_AP_CACHECTRL_STARTING"},
      {CPUHP_AP_SCHED_STARTING, "CPUHP_AP_SCHED_STARTING"}, {CPUHP_AP_RCUTREE_DYING, "CPUHP_AP_RCUTREE_DYING"},
      {CPUHP_AP_ONLINE, "CPUHP_AP_ONLINE"}, {CPUHP_TEARDOWN_CPU, "CPUHP_TEARDOWN_CPU"},
      {CPUHP_AP_ONLINE_IDLE, "CPUHP_AP_ONLINE_IDLE"}, {CPUHP_AP_SCHED_WAIT_EMPTY, "CPUHP_AP_SCHED_WAIT_EMPTY"},
      {CPUHP_AP_SMPBOOT_THREADS, "CPUHP_AP_SMPBOOT_THREADS"}, {CPUHP_AP_WATCHDOG_ONLINE, "CPUHP_AP_WATCHDOG_ONLINE"},
      {CPUHP_AP_RCUTREE_ONLINE, "CPUHP_AP_RCUTREE_ONLINE"}, {CPUHP_AP_ACTIVE, "CPUHP_AP_ACTIVE"},
      {CPUHP_ONLINE, "CPUHP_ONLINE"}};
  for (const auto& [v, n] : fixed)
    if (v == s) return n;
  if (s >= CPUHP_BP_PREPARE_DYN && s <= CPUHP_BP_PREPARE_DYN_END)
    return s == CPUHP_BP_PREPARE_DYN ? "CPUHP_BP_PREPARE_DYN" : fmt::format("CPUHP_BP_PREPARE_DYN+{}", s - CPUHP_BP_PREPARE_DYN);
  if (s >= CPUHP_AP_ONLINE_DYN && s <= CPUHP_AP_ONLINE_DYN_END)
    return s == CPUHP_AP_ONLINE_DYN ? "CPUHP_AP_ONLINE_DYN" : fmt::format("CPUHP_AP_ONLINE_DYN+{}", s - CPUHP_AP_ONLINE_DYN);
  return fmt::format("CPUHP_{}", s);
}

// The names are built once: they are traced and counted as probes at every callback.
namespace {
struct cpuhp_names {
  std::vector<std::string> name, probe_up, probe_down;  // indexed by state + 1 (CPUHP_INVALID is -1)
  cpuhp_names() {
    for (int s = CPUHP_INVALID; s <= CPUHP_ONLINE; ++s) {
      name.push_back(make_cpuhp_state_name(s));
      const bool dyn = (s >= CPUHP_BP_PREPARE_DYN && s <= CPUHP_BP_PREPARE_DYN_END) ||
                       (s >= CPUHP_AP_ONLINE_DYN && s <= CPUHP_AP_ONLINE_DYN_END);
      const std::string probe_state =
          !dyn ? name.back() : s >= CPUHP_AP_ONLINE_DYN ? "CPUHP_AP_ONLINE_DYN*" : "CPUHP_BP_PREPARE_DYN*";
      probe_up.push_back(fmt::format("cpuhp {} up", probe_state));
      probe_down.push_back(fmt::format("cpuhp {} down", probe_state));
    }
  }
};
const cpuhp_names& names_table() {
  static const cpuhp_names t;
  return t;
}
}  // namespace

const std::string& cpuhp_state_name(int s) {
  if (s < CPUHP_INVALID || s > CPUHP_ONLINE) {
    thread_local std::string other;  // not a state: only reached by a report about bad input
    other = make_cpuhp_state_name(s);
    return other;
  }
  return names_table().name[static_cast<std::size_t>(s + 1)];
}

int cpuhp_state_from_name(const std::string& name) {
  for (int s = CPUHP_OFFLINE; s <= CPUHP_ONLINE; ++s)
    if (cpuhp_state_name(s) == name) return s;
  return CPUHP_INVALID;
}

template <class... Args>
static void trace_hp(const char* ev, fmt::format_string<Args...> f, Args&&... args) {
  kernel().sim.trace().event("cpuhp", sim::Level::Info, ev, f, std::forward<Args>(args)...);
}

// ---------------------------------------------------------------------------------------------
// Locks

percpu_rw_semaphore& cpu_hotplug_lock() { return G().cpu_hotplug_lock; }
void cpus_read_lock() { percpu_down_read(&cpu_hotplug_lock()); }
void cpus_read_unlock() { percpu_up_read(&cpu_hotplug_lock()); }
void cpus_write_lock() { percpu_down_write(&cpu_hotplug_lock()); }
void cpus_write_unlock() { percpu_up_write(&cpu_hotplug_lock()); }
void cpu_maps_update_begin() { mutex_lock(&G().cpu_add_remove_lock); }
void cpu_maps_update_done() { mutex_unlock(&G().cpu_add_remove_lock); }

bool lockdep_cpus_held() {
  const task_struct* t = current;
  if (t->acts_for_hotplug_writer) return true;
  for (const auto& h : t->held_locks)
    if (h.subclass == 0 && std::strcmp(h.cls, "cpu_hotplug_lock") == 0) return true;
  // take_cpu_down and the stopper run on behalf of the writer.
  return G().cpu_hotplug_lock.writer != nullptr && t->sched_class == sched_class_id::stop;
}

void cpu_hotplug_disable() {
  cpu_maps_update_begin();
  ++G().cpu_hotplug_disabled;
  cpu_maps_update_done();
}

void cpu_hotplug_enable() {
  cpu_maps_update_begin();
  if (G().cpu_hotplug_disabled == 0)
    kernel().sim.trace().event("cpuhp", sim::Level::Warn, "cpuhp.warn", "msg=\"Unbalanced cpu hotplug enable\"");
  else
    --G().cpu_hotplug_disabled;
  cpu_maps_update_done();
}

// ---------------------------------------------------------------------------------------------
// The engine of the state machine (§3.3)

static bool cpuhp_is_ap_state(int state) { return state > CPUHP_BRINGUP_CPU && state != CPUHP_TEARDOWN_CPU; }
static bool cpuhp_is_atomic_state(int state) { return state >= CPUHP_AP_IDLE_DEAD && state < CPUHP_AP_ONLINE; }

static bool cpuhp_step_empty(bool bringup, const cpuhp_step* step) {
  return bringup ? !step->has_startup() : !step->has_teardown();
}

// I-HP-3: callback context. Install-time calls of BP states (st->single, made by the installing
// task itself) are exempt; an AP state installed through cpuhp/N is held to the same context as
// in an operation. (Installs before cpuhp/N exists happen at boot, on the boot CPU's own state.)
static void check_callback_context(unsigned cpu, int state, bool single) {
  auto& k = kernel();
  if (!k.sim.in_fiber() || (single && current != cpuhp_state_of(cpu)->thread)) return;
  const unsigned me = smp_processor_id();
  const std::string& name = cpuhp_state_name(state);
  if (cpuhp_is_atomic_state(state)) {
    if (me != cpu || !irqs_disabled())
      k.oracle("I-HP-3", fmt::format("{} for cpu{} runs on cpu{} with irqs {}", name, cpu, me,
                                     irqs_disabled() ? "off" : "on"), name);
  } else if (cpuhp_is_ap_state(state)) {
    if (me != cpu || irqs_disabled() || preempt_count() != 0)
      k.oracle("I-HP-3", fmt::format("ONLINE-section {} for cpu{} runs on cpu{} (irqs {}, preempt_count {})", name, cpu,
                                     me, irqs_disabled() ? "off" : "on", preempt_count()), name);
  } else if (me == cpu) {
    k.oracle("I-HP-3", fmt::format("BP state {} for cpu{} runs on the target itself", name, cpu), name);
  }
}

// I-HP-4: within one pass, startups ascend and teardowns descend strictly.
static void check_order(unsigned cpu, int state, bool bringup, bool single) {
  if (single) return;
  int& last = G().last_invoked[cpu];
  if (last != CPUHP_INVALID && (bringup ? state <= last : state >= last))
    kernel().oracle("I-HP-4", fmt::format("cpu{}: {} {} runs after {}", cpu, bringup ? "startup" : "teardown",
                                          cpuhp_state_name(state), cpuhp_state_name(last)),
                    cpuhp_state_name(state));
  last = state;
}

static int cpuhp_invoke_callback(unsigned cpu, int state, bool bringup, hlist_node* node, hlist_node** lastp) {
  cpuhp_cpu_state* st = cpuhp_state_of(cpu);
  cpuhp_step* step = cpuhp_get_step(state);
  if (st->fail == state) {
    st->fail = CPUHP_INVALID;
    trace_hp("cpuhp.fail", "cpu={} state={} bringup={} ret={}", cpu, cpuhp_state_name(state), bringup ? 1 : 0, -EAGAIN);
    return -EAGAIN;
  }
  if (cpuhp_step_empty(bringup, step)) {
    // The callers skip empty steps; reaching one here is a caller's mistake.
    kernel().warn("cpuhp", "cpuhp_invoke_callback:empty", fmt::format("cpu{}: {} has no {} callback", cpu,
                  cpuhp_state_name(state), bringup ? "startup" : "teardown"), true);
    return 0;
  }
  check_callback_context(cpu, state, st->single);
  check_order(cpu, state, bringup, st->single || node != nullptr);
  int ret = 0;
  if (!step->multi_instance) {
    ret = bringup ? step->startup_single(cpu) : step->teardown_single(cpu);
  } else if (node != nullptr) {
    ret = bringup ? step->startup_multi(cpu, node) : step->teardown_multi(cpu, node);
  } else {
    // A state transition: every instance, in list order, stopping at *lastp if set.
    const cpuhp_multi_cb& cbm = bringup ? step->startup_multi : step->teardown_multi;
    int cnt = 0;
    for (hlist_node* n : step->list) {
      if (lastp && n == *lastp) break;
      ret = cbm(cpu, n);
      if (ret) {
        if (lastp) {
          *lastp = n;
          break;
        }
        // BP case: undo the instances already done. Baseline quirk: the undo's result is returned.
        const cpuhp_multi_cb& undo = bringup ? step->teardown_multi : step->startup_multi;
        if (undo) {
          for (hlist_node* u : step->list) {
            if (cnt-- == 0) break;
            ret = undo(cpu, u);
            if (ret)
              kernel().warn("cpuhp", "cpuhp_invoke_callback:undo", fmt::format("cpu{}: undoing an instance of {} failed ({})",
                            cpu, cpuhp_state_name(state), ret), true);
          }
        }
        break;
      }
      ++cnt;
    }
    if (lastp && !ret) *lastp = nullptr;
  }
  trace_hp("cpuhp.invoke", "cpu={} state={} bringup={} ret={}", cpu, cpuhp_state_name(state),
                                       bringup ? 1 : 0, ret);
  const auto& t = names_table();
  kernel().sim.probe((bringup ? t.probe_up : t.probe_down)[static_cast<std::size_t>(state + 1)]);
  return ret;
}

static bool cpuhp_next_state(bool bringup, int* state_to_run, cpuhp_cpu_state* st, int target) {
  for (;;) {
    if (bringup) {
      if (st->state >= target) return false;
      *state_to_run = ++st->state;
    } else {
      if (st->state <= target) return false;
      *state_to_run = st->state--;
    }
    if (!cpuhp_step_empty(bringup, cpuhp_get_step(*state_to_run))) return true;
  }
}

static int cpuhp_invoke_callback_range_(bool bringup, unsigned cpu, cpuhp_cpu_state* st, int target, bool nofail) {
  int state, ret = 0;
  while (cpuhp_next_state(bringup, &state, st, target)) {
    const int err = cpuhp_invoke_callback(cpu, state, bringup, nullptr, nullptr);
    if (!err) continue;
    if (nofail) {
      kernel().sim.trace().event("cpuhp", sim::Level::Warn, "cpuhp.nofail",
                                 "msg=\"CPU {} {} state {} ({}) failed ({})\"", cpu, bringup ? "UP" : "DOWN",
                                 cpuhp_state_name(state), state, err);
      ret = -1;
    } else {
      ret = err;
      break;
    }
  }
  return ret;
}

static int cpuhp_invoke_callback_range(bool bringup, unsigned cpu, cpuhp_cpu_state* st, int target) {
  return cpuhp_invoke_callback_range_(bringup, cpu, st, target, false);
}

static void set_cpu_dying(unsigned cpu, bool dying) {
  auto& k = kernel();
  if (dying) cpumask_set_cpu(cpu, &k.cpu_dying_mask);
  else cpumask_clear_cpu(cpu, &k.cpu_dying_mask);
}

static int cpuhp_set_state(unsigned cpu, cpuhp_cpu_state* st, int target) {
  const int prev = st->state;
  const bool bringup = st->state < target;
  st->rollback = false;
  st->last = nullptr;
  st->target = target;
  st->single = false;
  st->bringup = bringup;
  G().last_invoked[cpu] = CPUHP_INVALID;
  if (cpumask_test_cpu(cpu, &kernel().cpu_dying_mask) != !bringup) set_cpu_dying(cpu, !bringup);
  return prev;
}

static void cpuhp_reset_state(unsigned cpu, cpuhp_cpu_state* st, int prev_state) {
  const bool bringup = !st->bringup;
  st->target = prev_state;
  if (st->rollback) return;  // no second inversion
  st->rollback = true;
  G().last_invoked[cpu] = CPUHP_INVALID;
  // Without a partial multi-instance state, the failed state itself is not undone.
  if (!st->last) {
    if (st->bringup) --st->state;
    else ++st->state;
  }
  st->bringup = bringup;
  if (cpumask_test_cpu(cpu, &kernel().cpu_dying_mask) != !bringup) set_cpu_dying(cpu, !bringup);
  trace_hp("cpuhp.rollback", "cpu={} state={} target={}", cpu, cpuhp_state_name(st->state),
                                         cpuhp_state_name(prev_state));
  sim_probe("cpuhp: rollback");
}

// Runs the callbacks from st->state towards target; when one fails, resets the state and runs the
// callbacks back to where the operation started (§3.7). A failed rollback is only warned about.
// The down direction rolls back only if it got anywhere, as the kernel's does.
static int cpuhp_callbacks_or_rollback(bool bringup, unsigned cpu, cpuhp_cpu_state* st, int target) {
  const int prev = st->state;
  const int ret = cpuhp_invoke_callback_range(bringup, cpu, st, target);
  if (ret) {
    cpuhp_reset_state(cpu, st, prev);
    if ((bringup || st->state < prev) && cpuhp_invoke_callback_range(!bringup, cpu, st, prev)) {
      G().op_warned = true;
      kernel().sim.trace().event("cpuhp", sim::Level::Warn, "cpuhp.warn", "msg=\"rollback failed on cpu{}\"", cpu);
    }
  }
  return ret;
}

static int cpuhp_up_callbacks(unsigned cpu, cpuhp_cpu_state* st, int target) {
  return cpuhp_callbacks_or_rollback(true, cpu, st, target);
}

static int cpuhp_down_callbacks(unsigned cpu, cpuhp_cpu_state* st, int target) {
  return cpuhp_callbacks_or_rollback(false, cpu, st, target);
}

// ---------------------------------------------------------------------------------------------
// The AP hotplug thread (§3.4)

static void wait_for_ap_thread(cpuhp_cpu_state* st, bool bringup) {
  wait_for_completion(bringup ? &st->done_up : &st->done_down);
}

static void complete_ap_thread(cpuhp_cpu_state* st, bool bringup) {
  complete(bringup ? &st->done_up : &st->done_down);
}

// kernel: __cpuhp_kick_ap()
static void cpuhp_kick_ap_(cpuhp_cpu_state* st) {
  if (!st->single && st->state == st->target) return;
  st->result = 0;
  st->should_run = true;
  wake_up_process(st->thread);
  wait_for_ap_thread(st, st->bringup);
}

static int cpuhp_kick_ap(unsigned cpu, cpuhp_cpu_state* st, int target) {
  const int prev = cpuhp_set_state(cpu, st, target);
  cpuhp_kick_ap_(st);
  const int ret = st->result;
  if (ret) {
    cpuhp_reset_state(cpu, st, prev);
    cpuhp_kick_ap_(st);
  }
  return ret;
}

static int cpuhp_should_run(unsigned cpu) { return cpuhp_state_of(cpu)->should_run ? 1 : 0; }

static void cpuhp_thread_fun(unsigned cpu) {
  cpuhp_cpu_state* st = cpuhp_state_of(cpu);
  const bool bringup = st->bringup;
  int state;
  if (!st->should_run) {
    kernel().warn("cpuhp", "cpuhp_thread_fun:should_run", fmt::format("cpuhp/{} runs with nothing to do", cpu), true);
    return;
  }
  if (st->single) {
    state = st->cb_state;
    st->should_run = false;
  } else {
    st->should_run = cpuhp_next_state(bringup, &state, st, st->target);
    if (!st->should_run) {
      complete_ap_thread(st, bringup);
      return;
    }
  }
  if (cpuhp_is_atomic_state(state)) {
    local_irq_disable();
    st->result = cpuhp_invoke_callback(cpu, state, bringup, st->node, &st->last);
    local_irq_enable();
    // STARTING and DYING callbacks must not fail.
    if (st->result)
      kernel().warn("cpuhp", "cpuhp_thread_fun:atomic", fmt::format("cpu{}: {} failed ({})", cpu, cpuhp_state_name(state),
                    st->result), true);
  } else {
    st->result = cpuhp_invoke_callback(cpu, state, bringup, st->node, &st->last);
  }
  if (st->result) {
    // A callback failing while this thread rolls back: no way forward, no way back; warned.
    if (st->rollback) {
      G().op_warned = true;
      kernel().sim.trace().event("cpuhp", sim::Level::Warn, "cpuhp.warn", "msg=\"rollback failed on cpu{}\"", cpu);
    }
    st->should_run = false;
  }
  if (!st->should_run) complete_ap_thread(st, bringup);
}

static int cpuhp_invoke_ap_callback(unsigned cpu, int state, bool bringup, hlist_node* node) {
  cpuhp_cpu_state* st = cpuhp_state_of(cpu);
  if (!cpu_online(cpu)) return 0;
  if (!st->thread) return cpuhp_invoke_callback(cpu, state, bringup, node, nullptr);
  st->rollback = false;
  st->last = nullptr;
  st->node = node;
  st->bringup = bringup;
  st->cb_state = state;
  st->single = true;
  cpuhp_kick_ap_(st);
  int ret = st->result;
  if (ret && st->last) {
    st->rollback = true;
    st->bringup = !bringup;
    cpuhp_kick_ap_(st);
  }
  st->node = st->last = nullptr;
  st->single = false;
  return ret;
}

void cpuhp_threads_init() {
  auto& g = G();
  g.cpuhp_threads.store = &g.cpuhp_thread_store;
  g.cpuhp_threads.thread_should_run = cpuhp_should_run;
  g.cpuhp_threads.thread_fn = cpuhp_thread_fun;
  g.cpuhp_threads.thread_comm = "cpuhp/%u";
  g.cpuhp_threads.selfparking = true;
  g.cpuhp_threads.create = [](unsigned cpu) {
    G().st[cpu].thread = G().cpuhp_thread_store[cpu];
    G().st[cpu].thread->acts_for_hotplug_writer = true;
  };
  if (smpboot_register_percpu_thread(&g.cpuhp_threads) != 0)
    kernel().oracle("BUG", "cpuhp_threads_init: cannot register cpuhp threads", "cpuhp_threads_init");
  kthread_unpark(g.st[0].thread);
}

// ---------------------------------------------------------------------------------------------
// Bring-up (§3.5)

const char* cpuhp_sync_state_name(int s) {
  static const char* const names[] = {"DEAD", "KICKED", "SHOULD_DIE", "ALIVE", "SHOULD_ONLINE", "ONLINE"};
  return s >= 0 && s <= SYNC_STATE_ONLINE ? names[s] : "?";
}

static void trace_sync(unsigned cpu, int from, int to) {
  trace_hp("cpuhp.sync", "cpu={} from={} to={}", cpu, cpuhp_sync_state_name(from), cpuhp_sync_state_name(to));
}

// The AP's reports (ALIVE, ONLINE, DEAD) overwrite whatever the state was (atomic_xchg).
static void ap_sync_report(unsigned cpu, int to) {
  trace_sync(cpu, cpuhp_state_of(cpu)->ap_sync_state.exchange(to), to);
}

// kernel: cpuhp_wait_for_sync_state(). The BP waits up to 10 s for the AP to move ap_sync_state to
// `want`: it spins for the first millisecond, then sleeps between checks. On success it moves the
// state on to `next`.
static bool cpuhp_wait_for_sync_state(unsigned cpu, int want, int next) {
  auto& k = kernel();
  sim::Watched<int>& sync = cpuhp_state_of(cpu)->ap_sync_state;
  const sim::Time start = k.sim.now();
  const sim::Time poll_end = start + sim::Duration::ns(1'000'000);
  const sim::Time deadline = start + sim::Duration::ns(10LL * 1'000'000'000);
  for (;;) {
    int seen = sync.load();
    if (seen == want) {
      if (sync.compare_exchange(seen, next)) {
        if (next != want) trace_sync(cpu, want, next);
        return true;
      }
      continue;  // the AP moved on meanwhile: look again
    }
    if (k.sim.now() >= deadline) return false;
    if (k.sim.now() < poll_end) {
      // SIM: a parked spinner wakes at a write, an interrupt or the engine's bound on a park
      // (sim::Config::relax_timeout, 10 ms), so the poll phase ends at the first such wake-up after 1 ms.
      cpu_relax();
    } else {
      // SIM: usleep_range(1 ms, 2 ms) sleeps its upper bound.
      schedule_timeout_uninterruptible(sim::Duration::ns(2'000'000));
    }
  }
}

// kernel: cpuhp_can_boot_ap(). An AP may be (re)started only from DEAD, KICKED (it never came up
// last time) or ALIVE (it came up too late and is stuck waiting for the BP); anything else is a
// CPU in limbo, whose last bring-up or tear-down never finished.
// The boot request is raised before KICKED is written: an AP waiting ALIVE that sees KICKED
// restarts at once and takes the request with it (cpuhp_ap_sync_alive).
static bool cpuhp_can_boot_ap(unsigned cpu) {
  cpuhp_cpu_state* st = cpuhp_state_of(cpu);
  sim::Watched<int>& sync = st->ap_sync_state;
  int seen = sync.load();
  for (;;) {
    if (seen != SYNC_STATE_DEAD && seen != SYNC_STATE_KICKED && seen != SYNC_STATE_ALIVE) {
      st->boot_requested = false;
      return false;
    }
    st->boot_requested = true;
    const int from = seen;
    if (sync.compare_exchange(seen, SYNC_STATE_KICKED)) {
      trace_sync(cpu, from, SYNC_STATE_KICKED);
      return true;
    }
  }
}

// kernel: arch __cpu_up() + cpuhp_bp_sync_alive(). The AP is asked to boot; the BP waits up to
// 10 s for it to report alive, then releases it (SHOULD_ONLINE).
static int cpu_up_arch(unsigned cpu) {
  auto& k = kernel();
  trace_hp("cpuhp.ap_kick", "cpu={}", cpu);
  k.sim.kick(cpu, k.sim.now());
  if (!cpuhp_wait_for_sync_state(cpu, SYNC_STATE_ALIVE, SYNC_STATE_SHOULD_ONLINE)) {
    // The AP may still come up later: it then reports ALIVE and waits for a BP that gave up,
    // until the next bring-up starts it again.
    k.sim.probe("cpuhp: AP failed to report alive");
    k.sim.trace().event("cpuhp", sim::Level::Warn, "cpuhp.alive_timeout", "msg=\"CPU{} failed to report alive state\"",
                        cpu);
    return -EIO;
  }
  k.sim.kick(cpu, k.sim.now());  // the AP waits for SHOULD_ONLINE (see cpuhp_ap_sync_alive)
  return 0;
}

// kernel: cpuhp_bp_sync_dead(), after the arch's __cpu_die(). Unless the AP already reported DEAD,
// tell it to die and wait up to 10 s for it. A timeout only warns: the operation goes on, and the
// CPU is left in limbo (SHOULD_DIE) until it reports dead; a bring-up meanwhile gets -EAGAIN.
static void cpuhp_bp_sync_dead(unsigned cpu) {
  auto& k = kernel();
  sim::Watched<int>& sync = cpuhp_state_of(cpu)->ap_sync_state;
  int seen = sync.load();
  while (seen != SYNC_STATE_DEAD) {
    const int from = seen;
    if (sync.compare_exchange(seen, SYNC_STATE_SHOULD_DIE)) {
      trace_sync(cpu, from, SYNC_STATE_SHOULD_DIE);
      break;
    }
  }
  if (cpuhp_wait_for_sync_state(cpu, SYNC_STATE_DEAD, SYNC_STATE_DEAD)) return;
  k.sim.probe("cpuhp: AP failed to report dead");
  k.sim.trace().event("cpuhp", sim::Level::Warn, "cpuhp.dead_timeout", "msg=\"CPU{} failed to report dead state\"", cpu);
}

static int bringup_wait_for_ap_online(unsigned cpu) {
  cpuhp_cpu_state* st = cpuhp_state_of(cpu);
  wait_for_ap_thread(st, true);
  if (!cpu_online(cpu)) {
    kernel().warn("cpuhp", "bringup_wait_for_ap_online", fmt::format("cpu{} is not online after its bring-up", cpu), true);
    return -ECANCELED;
  }
  if (kernel().knobs.b7_unpark_from_bp) stop_machine_unpark(cpu);  // BUG B7
  // Unpark the hotplug thread so it can run the ONLINE section.
  kthread_unpark(st->thread);
  // A secondary thread booted with SMT off: it has now been initialised once (booted_once), and
  // goes back offline through the caller's rollback.
  if (!cpu_bootable(cpu)) {
    sim_probe("cpuhp: SMT sibling booted once, sent back offline");
    return -ECANCELED;
  }
  return 0;
}

static int bringup_cpu(unsigned cpu) {
  cpuhp_cpu_state* st = cpuhp_state_of(cpu);
  if (!cpuhp_can_boot_ap(cpu)) {
    sim_probe("cpuhp: bring-up refused, AP in limbo");
    return -EAGAIN;
  }
  int ret = cpu_up_arch(cpu);
  if (ret) return ret;
  ret = bringup_wait_for_ap_online(cpu);
  if (ret) return ret;
  if (st->target <= CPUHP_AP_ONLINE_IDLE) return 0;
  return cpuhp_kick_ap(cpu, st, st->target);
}

static int finish_cpu(unsigned) { return 0; }

// kernel: notify_cpu_starting(). STARTING callbacks on the AP, irqs off, must not fail.
static void notify_cpu_starting(unsigned cpu) {
  cpuhp_cpu_state* st = cpuhp_state_of(cpu);
  const int target = std::min(st->target, static_cast<int>(CPUHP_AP_ONLINE));
  rcutree_report_cpu_starting(cpu);
  st->booted_once = true;
  cpuhp_invoke_callback_range_(true, cpu, st, target, true);
}

// kernel: cpuhp_online_idle(). The stopper becomes usable before the CPU runs any task.
static void cpuhp_online_idle(unsigned cpu) {
  cpuhp_cpu_state* st = cpuhp_state_of(cpu);
  ap_sync_report(cpu, SYNC_STATE_ONLINE);
  // BUG B7 (knob b7_unpark_from_bp): the pre-v5.6 order left the unpark to the BP, after this.
  if (!kernel().knobs.b7_unpark_from_bp) stop_machine_unpark(cpu);
  st->state = CPUHP_AP_ONLINE_IDLE;
  stop_machine_check_enabled_window(cpu);
  complete_ap_thread(st, true);
}

// kernel: cpuhp_ap_sync_alive(). The AP reports ALIVE and spins, irqs off, until the BP releases
// it. A BP that gave up never does: the AP spins until the next bring-up's arch kick (INIT/SIPI)
// restarts it, so it reports ALIVE again. SIM: the model sees that restart as the state leaving
// ALIVE for KICKED (cpuhp_can_boot_ap writes it just before the kick).
// SIM: the AP halts instead of spinning and the BP kicks it after its write (cpu_up_arch), so an AP
// left waiting by a BP that gave up does not keep the run going forever.
static void cpuhp_ap_sync_alive(unsigned cpu) {
  auto& k = kernel();
  cpuhp_cpu_state* st = cpuhp_state_of(cpu);
  for (;;) {
    ap_sync_report(cpu, SYNC_STATE_ALIVE);
    trace_hp("cpuhp.ap_alive", "cpu={}", cpu);
    int seen;
    while ((seen = st->ap_sync_state.load()) == SYNC_STATE_ALIVE) k.sim.halt();
    if (seen == SYNC_STATE_SHOULD_ONLINE) return;
    st->boot_requested = false;  // this restart is the boot the BP asked for
  }
}

// The AP's boot path (arch start_secondary()), run by its idle task.
static void start_secondary(unsigned cpu) {
  cpuhp_cpu_state* st = cpuhp_state_of(cpu);
  st->boot_requested = false;
  local_irq_disable();
  cpuhp_ap_sync_alive(cpu);
  notify_cpu_starting(cpu);
  set_cpu_online(cpu, true);
  local_irq_enable();
  tick_start(cpu);
  cpuhp_online_idle(cpu);
}

// kernel: cpuhp_report_idle_dead(), then the arch's play-dead.
static void cpuhp_report_idle_dead(unsigned cpu) {
  auto& k = kernel();
  cpuhp_cpu_state* st = cpuhp_state_of(cpu);
  if (st->state != CPUHP_AP_OFFLINE)
    k.oracle("BUG", fmt::format("cpu{} reports dead in {}", cpu, cpuhp_state_name(st->state)), "cpuhp_report_idle_dead");
  rcutree_report_cpu_dead(cpu);
  st->state = CPUHP_AP_IDLE_DEAD;
  trace_hp("cpuhp.idle_dead", "cpu={}", cpu);
  // The dying CPU cannot complete() itself once RCU stopped watching it: an IPI does it.
  const unsigned target = cpumask_first(&k.cpu_online_mask);
  raise_irq(target, "cpuhp_complete_idle_dead", [st] { complete(&st->done_down); });
  tick_stop(cpu);
  st->dead_report_pending = true;  // the arch's play-dead reports DEAD in the idle task's next step
}

// kernel: cpuhp_ap_report_dead(), from the arch's play-dead path.
static void cpuhp_ap_report_dead(unsigned cpu) {
  cpuhp_cpu_state* st = cpuhp_state_of(cpu);
  st->dead_report_pending = false;
  ap_sync_report(cpu, SYNC_STATE_DEAD);
}

bool cpuhp_idle_work(unsigned cpu) {
  if (!kernel().cpu) return false;
  cpuhp_cpu_state* st = cpuhp_state_of(cpu);
  if (cpu_online(cpu)) return false;
  if (st->dead_report_pending) {
    kernel().sim.point();  // a step of its own: a host stall can land between the two reports
    cpuhp_ap_report_dead(cpu);
    return true;
  }
  if (st->boot_requested) {
    start_secondary(cpu);
    return true;
  }
  if (st->state == CPUHP_AP_OFFLINE && st->booted_once && stopper_of(cpu)->thread &&
      stopper_of(cpu)->thread->state == TASK_PARKED) {
    cpuhp_report_idle_dead(cpu);
    return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Tear-down (§3.6)

// kernel: __cpu_disable() (arch): clears the CPU from the online mask; may refuse (B20's trigger).
static int cpu_disable_(unsigned cpu) {
  const int err = G().disable_error[cpu];
  if (err) {
    G().disable_error[cpu] = 0;
    return err;
  }
  set_cpu_online(cpu, false);
  return 0;
}

static int take_cpu_down(void*) {
  auto& k = kernel();
  const unsigned cpu = smp_processor_id();
  cpuhp_cpu_state* st = cpuhp_state_of(cpu);
  const int target = std::max(st->target, static_cast<int>(CPUHP_AP_OFFLINE));
  // I-HP-6: on the dying CPU, irqs off, every other online CPU inside the same multi_cpu_stop.
  if (!irqs_disabled()) k.oracle("I-HP-6", fmt::format("take_cpu_down on cpu{} with irqs on", cpu), "take_cpu_down");
  for (unsigned c : for_each_cpu(&k.cpu_online_mask))
    if (cpu_rq(c)->msm_cur < MULTI_STOP_DISABLE_IRQ)
      k.oracle("I-HP-6", fmt::format("take_cpu_down runs while cpu{} is not spinning in multi_cpu_stop", c),
               "take_cpu_down");
  const int err = cpu_disable_(cpu);
  if (err) return err;
  if (st->state != CPUHP_TEARDOWN_CPU - 1)
    k.sim.trace().event("cpuhp", sim::Level::Warn, "cpuhp.warn", "msg=\"take_cpu_down in {}\"", cpuhp_state_name(st->state));
  cpuhp_invoke_callback_range_(false, cpu, st, target, true);
  stop_machine_park(cpu);
  if (cpu_online(cpu) || st->state != CPUHP_AP_OFFLINE)
    k.oracle("I-HP-6", fmt::format("take_cpu_down returns with cpu{} online={} state={}", cpu, cpu_online(cpu),
                                   cpuhp_state_name(st->state)), "take_cpu_down");
  return 0;
}

static int takedown_cpu(unsigned cpu) {
  auto& k = kernel();
  cpuhp_cpu_state* st = cpuhp_state_of(cpu);
  kthread_park(st->thread);
  stop_machine_note_dying(cpu, true);
  const cpumask mask = cpumask_of(cpu);
  const int err = stop_machine_cpuslocked(cpu_stop_fn_t(take_cpu_down, "take_cpu_down"), nullptr, &mask);
  if (err) {
    stop_machine_note_dying(cpu, false);
    sim_probe("cpuhp: takedown_cpu refused");
    if (!k.knobs.b20_skip_unpark_on_takedown_error) kthread_unpark(st->thread);  // B20 knob
    return err;
  }
  if (cpu_online(cpu)) k.oracle("BUG", fmt::format("cpu{} still online after take_cpu_down", cpu), "takedown_cpu");
  wait_for_ap_thread(st, false);
  if (st->state != CPUHP_AP_IDLE_DEAD)
    k.oracle("BUG", fmt::format("cpu{} is in {} after dying", cpu, cpuhp_state_name(st->state)), "takedown_cpu");
  stop_machine_note_dying(cpu, false);
  cpuhp_bp_sync_dead(cpu);
  rcutree_migrate_callbacks(cpu);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Operations and their I-HP checks

// I-HP-1: mask nesting and the online counter, whenever no set_cpu_online is executing.
static void check_masks() {
  auto& k = kernel();
  if (static_cast<unsigned>(k.num_online_cpus_.peek()) != cpumask_weight(&k.cpu_online_mask))
    k.oracle("I-HP-1", fmt::format("num_online_cpus()={} but the online mask has {}", k.num_online_cpus_.peek(),
                                   cpumask_weight(&k.cpu_online_mask)), "masks");
  if (!cpumask_subset(&k.cpu_active_mask, &k.cpu_online_mask) || !cpumask_subset(&k.cpu_online_mask, &k.cpu_present_mask) ||
      !cpumask_subset(&k.cpu_present_mask, &k.cpu_possible_mask) || !cpumask_subset(&k.cpu_enabled_mask, &k.cpu_present_mask))
    k.oracle("I-HP-1", fmt::format("mask nesting broken: active={} online={} present={}", cpumask_pr(&k.cpu_active_mask),
                                   cpumask_pr(&k.cpu_online_mask), cpumask_pr(&k.cpu_present_mask)), "masks");
}

static bool thread_parked(const task_struct* t) { return t == nullptr || (t->kt->flags & KTHREAD_SHOULD_PARK); }

// I-HP-2 / I-HP-7: the end state of an operation that did not fail in a rollback.
static void check_outcome(unsigned cpu, const char* op, int ret) {
  auto& k = kernel();
  cpuhp_cpu_state* st = cpuhp_state_of(cpu);
  check_masks();
  // Where a report is bucketed; formatted only when there is one.
  const auto where = [&] { return fmt::format("{}:{}", op, cpuhp_state_name(st->state)); };
  if (st->state != st->target) {
    // Only a failed rollback or a "DEAD callback error" (both warned) may leave a CPU in between.
    if (!G().op_warned)
      k.oracle("I-HP-7", fmt::format("{}(cpu{}) = {} leaves it in {} with target {} and no warning", op, cpu, ret,
                                     cpuhp_state_name(st->state), cpuhp_state_name(st->target)),
               where());
    return;
  }
  // I-HP-2: an ONLINE CPU has every per-CPU thread unparked and RCU waits for it; an OFFLINE one
  // has its stopper, cpuhp/N and smpboot threads parked (or never created) and RCU does not.
  const bool online_state = st->state == CPUHP_ONLINE;
  if (!online_state && st->state != CPUHP_OFFLINE) return;
  std::string threads;  // the per-CPU threads in the wrong park state
  auto want = [&](const task_struct* t) {
    if (t != nullptr && thread_parked(t) == online_state) threads += " " + t->comm;
  };
  want(st->thread);
  want(stopper_of(cpu)->thread);
  for (const smp_hotplug_thread* ht : k.sb->hotplug_threads)
    if (ht->store != nullptr && cpu < ht->store->size() && !ht->selfparking) want((*ht->store)[cpu]);
  const bool rcu_waits = k.rcu ? cpumask_test_cpu(cpu, &k.rcu->rcu_online) : online_state;
  if (online_state) {
    if (!cpu_online(cpu) || !cpu_active(cpu) || !stopper_of(cpu)->enabled || !threads.empty() || !rcu_waits)
      k.oracle("I-HP-7", fmt::format("{}(cpu{}) = {} leaves it ONLINE but online={} active={} stopper={} rcu={}{}{}", op,
                                     cpu, ret, cpu_online(cpu), cpu_active(cpu), stopper_of(cpu)->enabled, rcu_waits,
                                     threads.empty() ? "" : "; parked:", threads), where());
  } else if (cpu_online(cpu) || cpu_active(cpu) || stopper_of(cpu)->enabled || !threads.empty() || rcu_waits) {
    k.oracle("I-HP-7", fmt::format("{}(cpu{}) = {} leaves it OFFLINE but online={} active={} stopper enabled={} rcu={}{}{}",
                                   op, cpu, ret, cpu_online(cpu), cpu_active(cpu), stopper_of(cpu)->enabled, rcu_waits,
                                   threads.empty() ? "" : "; running:", threads), where());
  }
}

static int cpu_up_(unsigned cpu, int target) {  // kernel: _cpu_up()
  auto& k = kernel();
  cpuhp_cpu_state* st = cpuhp_state_of(cpu);
  int ret = 0;
  cpus_write_lock();
  if (++G().ops_in_flight > 1) k.oracle("I-HP-5", "two hotplug operations in flight", "_cpu_up");
  G().op_warned = false;
  if (!cpumask_test_cpu(cpu, &k.cpu_present_mask)) {
    ret = -EINVAL;
  } else if (st->state < target) {
    trace_hp("cpuhp.op", "op=up cpu={} from={} target={}", cpu, cpuhp_state_name(st->state),
                                     cpuhp_state_name(target));
    cpuhp_set_state(cpu, st, target);
    if (st->state > CPUHP_BRINGUP_CPU) ret = cpuhp_kick_ap(cpu, st, target);
    if (!ret) ret = cpuhp_up_callbacks(cpu, st, std::min(target, static_cast<int>(CPUHP_BRINGUP_CPU)));
  }
  check_outcome(cpu, "cpu_up", ret);
  --G().ops_in_flight;
  cpus_write_unlock();
  trace_hp("cpuhp.done", "op=up cpu={} ret={} state={}", cpu, ret, cpuhp_state_name(st->state));
  return ret;
}

// SIM: cpuhp_inject_next. Under cpu_add_remove_lock the operation about to run is the only one
// that can hit the armed fault; InjectedFault's destructor takes back what it did not reach.
namespace {
// The calling task's armed fault, taken at the start of its operation (so an early error return
// leaves nothing armed for a later call).
std::optional<hotplug_fault> take_armed_fault() {
  auto& armed = G().armed_faults;
  if (armed.empty() || !kernel().sim.in_fiber()) return std::nullopt;
  for (auto it = armed.begin(); it != armed.end(); ++it) {
    if (it->first != current) continue;
    const hotplug_fault f = it->second;
    armed.erase(it);
    return f;
  }
  return std::nullopt;
}

// Applied while cpu_add_remove_lock is held; what the operation did not reach is disarmed at the
// end of the scope.
struct InjectedFault {
  unsigned cpu;
  std::optional<hotplug_fault> f;
  int error = 0;  // the fail attribute refused the state
  InjectedFault(unsigned c, std::optional<hotplug_fault> taken) : cpu(c), f(taken) {
    if (!f) return;
    if (f->fail_state != CPUHP_INVALID) error = cpuhp_fail_state(cpu, f->fail_state);
    if (f->disable_error != 0) G().disable_error[cpu] = f->disable_error;
  }
  ~InjectedFault() {
    if (!f) return;
    cpuhp_cpu_state* st = cpuhp_state_of(cpu);
    if (f->fail_state != CPUHP_INVALID && st->fail == f->fail_state) st->fail = CPUHP_INVALID;
    if (f->disable_error != 0) G().disable_error[cpu] = 0;
  }
  InjectedFault(const InjectedFault&) = delete;
  InjectedFault& operator=(const InjectedFault&) = delete;
};
}  // namespace

void cpuhp_inject_next(const hotplug_fault& f) { G().armed_faults.emplace_back(current, f); }

static int cpu_up_target(unsigned cpu, int target) {
  auto& k = kernel();
  const std::optional<hotplug_fault> injected = take_armed_fault();
  if (cpu >= k.nr_cpu_ids || !cpumask_test_cpu(cpu, &k.cpu_possible_mask)) return -EINVAL;
  cpu_maps_update_begin();
  int err = 0;
  {
    const InjectedFault fault(cpu, injected);
    err = fault.error != 0             ? fault.error
          : G().cpu_hotplug_disabled     ? -EBUSY
          : !cpu_bootable(cpu)           ? -EPERM
                                         : cpu_up_(cpu, target);
  }
  cpu_maps_update_done();
  return err;
}

int cpu_up(unsigned cpu) { return cpu_up_target(cpu, CPUHP_ONLINE); }
int add_cpu(unsigned cpu) { return cpu_up(cpu); }

static int cpu_down_(unsigned cpu, int target) {  // kernel: _cpu_down()
  auto& k = kernel();
  cpuhp_cpu_state* st = cpuhp_state_of(cpu);
  if (num_online_cpus() == 1) return -EBUSY;
  if (!cpumask_test_cpu(cpu, &k.cpu_present_mask)) return -EINVAL;
  int ret = 0;
  cpus_write_lock();
  if (++G().ops_in_flight > 1) k.oracle("I-HP-5", "two hotplug operations in flight", "_cpu_down");
  G().op_warned = false;
  trace_hp("cpuhp.op", "op=down cpu={} from={} target={}", cpu, cpuhp_state_name(st->state),
                                   cpuhp_state_name(target));
  const int prev_state = cpuhp_set_state(cpu, st, target);
  bool done = false;
  if (st->state > CPUHP_TEARDOWN_CPU) {
    st->target = std::max(static_cast<int>(CPUHP_TEARDOWN_CPU), target);
    ret = cpuhp_kick_ap(cpu, st, st->target);
    done = ret != 0 || st->state > CPUHP_TEARDOWN_CPU;
    if (!done) st->target = target;
  }
  if (!done) {
    ret = cpuhp_down_callbacks(cpu, st, target);
    if (ret && st->state < prev_state) {
      if (st->state == CPUHP_TEARDOWN_CPU) {
        // takedown failed: the AP rolls its ONLINE section back up to where it was.
        cpuhp_reset_state(cpu, st, prev_state);
        if (!k.knobs.b20_skip_unpark_on_takedown_error) cpuhp_kick_ap_(st);
      } else {
        G().op_warned = true;
        k.sim.trace().event("cpuhp", sim::Level::Warn, "cpuhp.warn", "msg=\"DEAD callback error for CPU{}\"", cpu);
      }
    }
  }
  check_outcome(cpu, "cpu_down", ret);
  --G().ops_in_flight;
  cpus_write_unlock();
  trace_hp("cpuhp.done", "op=down cpu={} ret={} state={}", cpu, ret, cpuhp_state_name(st->state));
  return ret;
}

// kernel: cpu_down_maps_locked(): _cpu_down runs on another online CPU (work_on_cpu).
static int cpu_down_maps_locked(unsigned cpu, int target) {
  auto& k = kernel();
  if (G().cpu_hotplug_disabled) return -EBUSY;
  for (unsigned on : for_each_cpu(&k.cpu_online_mask)) {
    if (on == cpu) continue;
    int ret = 0;
    task_struct* w = kthread_run_on_cpu([&ret, cpu, target](void*) { ret = cpu_down_(cpu, target); return 0; }, nullptr,
                                        on, "kworker/%u:hp");
    wait_for_completion(&w->kt->exited);
    return ret;
  }
  return -EBUSY;
}

static int cpu_down_target(unsigned cpu, int target) {
  auto& k = kernel();
  const std::optional<hotplug_fault> injected = take_armed_fault();
  if (cpu >= k.nr_cpu_ids) return -EINVAL;
  cpu_maps_update_begin();
  int err = 0;
  {
    const InjectedFault fault(cpu, injected);
    err = cpu_down_maps_locked(cpu, target);
  }
  cpu_maps_update_done();
  return err;
}

int cpu_down(unsigned cpu) { return cpu_down_target(cpu, CPUHP_OFFLINE); }
int remove_cpu(unsigned cpu) { return cpu_down(cpu); }

int cpu_device_set_target(unsigned cpu, int target) {
  if (target < CPUHP_OFFLINE || target > CPUHP_ONLINE) return -EINVAL;
  const cpuhp_step* sp = cpuhp_get_step(target);
  if (target != CPUHP_OFFLINE && target != CPUHP_ONLINE && (sp->cant_stop || sp->name.empty())) return -EINVAL;
  const int cur = cpuhp_state_of(cpu)->state;
  if (cur == target) return 0;
  return cur < target ? cpu_up_target(cpu, target) : cpu_down_target(cpu, target);
}

int cpuhp_fail_state(unsigned cpu, int fail) {
  cpuhp_cpu_state* st = cpuhp_state_of(cpu);
  if (fail == CPUHP_INVALID) {
    st->fail = fail;
    return 0;
  }
  if (fail < CPUHP_OFFLINE || fail > CPUHP_ONLINE) return -EINVAL;
  // Cannot fail STARTING/DYING callbacks, nor DEAD/BRINGUP states once the CPU is above them.
  if (cpuhp_is_atomic_state(fail)) return -EINVAL;
  if (fail <= CPUHP_BRINGUP_CPU && st->state > CPUHP_BRINGUP_CPU) return -EINVAL;
  const cpuhp_step* sp = cpuhp_get_step(fail);
  if (!sp->has_startup() && !sp->has_teardown()) return -EINVAL;
  st->fail = fail;
  return 0;
}

// ---------------------------------------------------------------------------------------------
// State installation (§3.8)

static bool cpuhp_cb_check(int state) { return state > CPUHP_OFFLINE && state < CPUHP_ONLINE; }

static int cpuhp_reserve_state(int state) {
  int start, end;
  if (state == CPUHP_AP_ONLINE_DYN) {
    start = CPUHP_AP_ONLINE_DYN;
    end = CPUHP_AP_ONLINE_DYN_END;
  } else if (state == CPUHP_BP_PREPARE_DYN) {
    start = CPUHP_BP_PREPARE_DYN;
    end = CPUHP_BP_PREPARE_DYN_END;
  } else {
    return -EINVAL;
  }
  for (int i = start; i <= end; ++i)
    if (cpuhp_get_step(i)->name.empty()) return i;
  kernel().sim.trace().event("cpuhp", sim::Level::Warn, "cpuhp.warn", "msg=\"No more dynamic states available\"");
  return -ENOSPC;
}

static int cpuhp_store_callbacks(int state, const char* name, cpuhp_single_cb su, cpuhp_single_cb td,
                                 cpuhp_multi_cb msu, cpuhp_multi_cb mtd, bool multi) {
  int ret = 0;
  // The reservation path runs only for a real installation (name set): B22's guard.
  // BUG B22 (b22_reserve_without_name): a removal that passes the DYN base value reserves a
  // fresh slot and clears it, leaving the real registration in place.
  if ((state == CPUHP_AP_ONLINE_DYN || state == CPUHP_BP_PREPARE_DYN) &&
      (name != nullptr || kernel().knobs.b22_reserve_without_name)) {
    ret = cpuhp_reserve_state(state);
    if (ret < 0) return ret;
    state = ret;
  }
  cpuhp_step* sp = cpuhp_get_step(state);
  if (name != nullptr && !sp->name.empty()) return -EBUSY;
  sp->startup_single = std::move(su);
  sp->teardown_single = std::move(td);
  sp->startup_multi = std::move(msu);
  sp->teardown_multi = std::move(mtd);
  sp->name = name ? name : "";
  sp->multi_instance = multi;
  sp->list.clear();
  return ret;
}

// kernel: cpuhp_issue_call(): one callback on one CPU, on the AP thread for AP states.
static int cpuhp_issue_call(unsigned cpu, int state, bool bringup, hlist_node* node) {
  cpuhp_step* sp = cpuhp_get_step(state);
  if (cpuhp_step_empty(bringup, sp)) return 0;
  if (cpuhp_is_ap_state(state)) return cpuhp_invoke_ap_callback(cpu, state, bringup, node);
  cpuhp_state_of(cpu)->single = true;
  const int ret = cpuhp_invoke_callback(cpu, state, bringup, node, nullptr);
  cpuhp_state_of(cpu)->single = false;
  return ret;
}

// kernel: cpuhp_issue_call() BUGs when a teardown made by an install rollback or a removal fails:
// a state being removed has no way back.
static void cpuhp_teardown_must_not_fail(unsigned cpu, int state, hlist_node* node, const char* where) {
  const int ret = cpuhp_issue_call(cpu, state, false, node);
  if (ret)
    kernel().oracle("BUG", fmt::format("{}: teardown of {} failed on cpu{} ({})", where, cpuhp_state_name(state), cpu, ret),
                    where);
}

static void cpuhp_rollback_install(int failedcpu, int state, hlist_node* node) {
  for (unsigned cpu : for_each_cpu(&kernel().cpu_present_mask)) {
    if (static_cast<int>(cpu) >= failedcpu) break;
    if (cpuhp_state_of(cpu)->state >= state) cpuhp_teardown_must_not_fail(cpu, state, node, "cpuhp_rollback_install");
  }
}

static int setup_state_(int state, const char* name, bool invoke, cpuhp_single_cb su, cpuhp_single_cb td,
                        cpuhp_multi_cb msu, cpuhp_multi_cb mtd, bool multi, bool cpuslocked) {
  auto& k = kernel();
  if (!cpuhp_cb_check(state) || name == nullptr) return -EINVAL;
  if (!cpuslocked) cpus_read_lock();
  mutex_lock(&G().cpuhp_state_mutex);
  const bool dynstate = state == CPUHP_AP_ONLINE_DYN || state == CPUHP_BP_PREPARE_DYN;
  int ret = cpuhp_store_callbacks(state, name, su, td, msu, mtd, multi);
  if (ret >= 0) {
    if (dynstate && ret > 0) state = ret;
    const cpuhp_step* sp = cpuhp_get_step(state);
    if (invoke && sp->has_startup()) {
      for (unsigned cpu : for_each_cpu(&k.cpu_present_mask)) {
        if (cpuhp_state_of(cpu)->state < state) continue;
        const int err = cpuhp_issue_call(cpu, state, true, nullptr);
        if (err) {
          if (sp->has_teardown()) cpuhp_rollback_install(static_cast<int>(cpu), state, nullptr);
          cpuhp_store_callbacks(state, nullptr, {}, {}, {}, {}, false);
          ret = err;
          break;
        }
      }
    }
    if (ret >= 0) ret = dynstate ? state : 0;
  }
  // I-HP-8: a dynamic state is in range and held by nobody else.
  if (dynstate && ret > 0) {
    const bool ap = ret >= CPUHP_AP_ONLINE_DYN;
    if (ret < (ap ? CPUHP_AP_ONLINE_DYN : CPUHP_BP_PREPARE_DYN) || ret > (ap ? CPUHP_AP_ONLINE_DYN_END : CPUHP_BP_PREPARE_DYN_END))
      k.oracle("I-HP-8", fmt::format("dynamic state {} out of range", ret), "cpuhp_setup_state");
  }
  trace_hp("cpuhp.setup_state", "state={} name=\"{}\" ret={}", cpuhp_state_name(state), name, ret);
  mutex_unlock(&G().cpuhp_state_mutex);
  if (!cpuslocked) cpus_read_unlock();
  return ret;
}

int cpuhp_setup_state_(int state, const char* name, bool invoke, cpuhp_single_cb su, cpuhp_single_cb td, bool cpuslocked) {
  return setup_state_(state, name, invoke, std::move(su), std::move(td), {}, {}, false, cpuslocked);
}
int cpuhp_setup_state(int state, const char* name, cpuhp_single_cb su, cpuhp_single_cb td) {
  return cpuhp_setup_state_(state, name, true, std::move(su), std::move(td));
}
int cpuhp_setup_state_nocalls(int state, const char* name, cpuhp_single_cb su, cpuhp_single_cb td) {
  return cpuhp_setup_state_(state, name, false, std::move(su), std::move(td));
}
int cpuhp_setup_state_cpuslocked(int state, const char* name, cpuhp_single_cb su, cpuhp_single_cb td) {
  return cpuhp_setup_state_(state, name, true, std::move(su), std::move(td), true);
}
int cpuhp_setup_state_multi(int state, const char* name, cpuhp_multi_cb su, cpuhp_multi_cb td) {
  return setup_state_(state, name, false, {}, {}, std::move(su), std::move(td), true, false);
}

static int add_instance_(int state, hlist_node* node, bool invoke) {
  auto& k = kernel();
  cpuhp_step* sp = cpuhp_get_step(state);
  if (!sp->multi_instance) return -EINVAL;
  int ret = 0;
  cpus_read_lock();
  mutex_lock(&G().cpuhp_state_mutex);
  if (invoke && sp->startup_multi) {
    for (unsigned cpu : for_each_cpu(&k.cpu_present_mask)) {
      if (cpuhp_state_of(cpu)->state < state) continue;
      ret = cpuhp_issue_call(cpu, state, true, node);
      if (ret) {
        if (sp->teardown_multi) cpuhp_rollback_install(static_cast<int>(cpu), state, node);
        break;
      }
    }
  }
  if (!ret) sp->list.push_front(node);
  mutex_unlock(&G().cpuhp_state_mutex);
  cpus_read_unlock();
  return ret;
}

int cpuhp_state_add_instance(int state, hlist_node* node) { return add_instance_(state, node, true); }
int cpuhp_state_add_instance_nocalls(int state, hlist_node* node) { return add_instance_(state, node, false); }

int cpuhp_state_remove_instance(int state, hlist_node* node) {
  auto& k = kernel();
  if (!cpuhp_cb_check(state)) {
    // SIM: the kernel's BUG_ON stops here; the oracle only records it, so the call returns
    // before it reads a step that does not exist.
    k.oracle("BUG", "remove_instance of an invalid state", "cpuhp_state_remove_instance");
    return -EINVAL;
  }
  cpuhp_step* sp = cpuhp_get_step(state);
  if (!sp->multi_instance) return -EINVAL;
  cpus_read_lock();
  mutex_lock(&G().cpuhp_state_mutex);
  if (sp->teardown_multi)
    for (unsigned cpu : for_each_cpu(&k.cpu_present_mask))
      if (cpuhp_state_of(cpu)->state >= state) cpuhp_teardown_must_not_fail(cpu, state, node, "cpuhp_state_remove_instance");
  sp->list.remove(node);
  mutex_unlock(&G().cpuhp_state_mutex);
  cpus_read_unlock();
  return 0;
}

static void remove_state_(int state, bool invoke) {
  auto& k = kernel();
  if (!cpuhp_cb_check(state)) {
    k.oracle("BUG", fmt::format("cpuhp_remove_state({}) of an invalid state", state), "cpuhp_remove_state");
    return;
  }
  cpus_read_lock();
  mutex_lock(&G().cpuhp_state_mutex);
  cpuhp_step* sp = cpuhp_get_step(state);
  if (sp->multi_instance) {
    if (!sp->list.empty())
      k.sim.trace().event("cpuhp", sim::Level::Warn, "cpuhp.warn", "msg=\"Removing state {} which has instances left\"",
                          state);
  } else if (invoke && sp->has_teardown()) {
    for (unsigned cpu : for_each_cpu(&k.cpu_present_mask))
      if (cpuhp_state_of(cpu)->state >= state) cpuhp_teardown_must_not_fail(cpu, state, nullptr, "cpuhp_remove_state");
  }
  cpuhp_store_callbacks(state, nullptr, {}, {}, {}, {}, false);
  // I-HP-8: removing a state frees its slot (with B22 the removal clears a fresh one instead).
  if (!sp->name.empty())
    k.oracle("I-HP-8", fmt::format("cpuhp_remove_state({}) left the slot registered to \"{}\"", cpuhp_state_name(state),
                                   sp->name),
             "cpuhp_remove_state");
  trace_hp("cpuhp.remove_state", "state={}", cpuhp_state_name(state));
  mutex_unlock(&G().cpuhp_state_mutex);
  cpus_read_unlock();
}

void cpuhp_remove_state(int state) { remove_state_(state, true); }
void cpuhp_remove_state_nocalls(int state) { remove_state_(state, false); }
void cpuhp_remove_multi_state(int state) { remove_state_(state, false); }

// ---------------------------------------------------------------------------------------------
// kernel/sched/core.c callbacks of the scheduler's states

// Moves every migratable task off a CPU that is going away (migrate_tasks, sched_cpu_wait_empty).
static void migrate_tasks_away(unsigned cpu) {
  auto& k = kernel();
  const unsigned dest = select_fallback_rq(cpu);
  if (dest >= k.nr_cpu_ids) return;
  rq* from = cpu_rq(cpu);
  for (auto& t : k.tasks) {
    if (t->cpu != cpu || t.get() == from->idle || t.get() == from->stop || t->state == TASK_DEAD) continue;
    if (kthread_is_per_cpu(t.get())) continue;
    if (t->on_cpu.peek()) continue;  // the running task (cpuhp/N, the stopper) stays
    migrate_task_to(from, t.get(), dest);
  }
}

static int sched_cpu_activate(unsigned cpu) {
  balance_push_set(cpu, false);
  set_cpu_active(cpu, true);
  return 0;
}

static int sched_cpu_deactivate(unsigned cpu) {
  // BUG B21 (knob b21_park_smpboot_early): the pre-2016 order parked the smpboot threads before
  // this state's RCU synchronisation, whose callback needs this CPU's ksoftirqd to run.
  if (kernel().knobs.b21_park_smpboot_early) smpboot_park_threads(cpu);
  // From here on, a task that runs on this CPU is pushed away by its stopper (balance_push).
  balance_push_set(cpu, true);
  set_cpu_active(cpu, false);
  // Every preempt-disabled section that could still see the CPU active must finish.
  synchronize_rcu();
  return 0;
}

static int sched_cpu_wait_empty(unsigned cpu) {
  migrate_tasks_away(cpu);
  return 0;
}

static int sched_cpu_starting(unsigned) { return 0; }

static int sched_cpu_dying(unsigned cpu) {
  migrate_tasks_away(cpu);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Boot

static void set_step(int state, const char* name, cpuhp_single_cb su, cpuhp_single_cb td, bool cant_stop = false) {
  cpuhp_step* sp = cpuhp_get_step(state);
  sp->name = name;
  sp->startup_single = std::move(su);
  sp->teardown_single = std::move(td);
  sp->cant_stop = cant_stop;
}

void cpuhp_register_default_states() {
  set_step(CPUHP_OFFLINE, "offline", {}, {});
  set_step(CPUHP_CREATE_THREADS, "threads:prepare", [](unsigned cpu) { return smpboot_create_threads(cpu); }, {}, true);
  set_step(CPUHP_RCUTREE_PREP, "RCU/tree:prepare", rcutree_prepare_cpu, rcutree_dead_cpu);
  set_step(CPUHP_BRINGUP_CPU, "cpu:bringup", bringup_cpu, finish_cpu, true);
  set_step(CPUHP_AP_IDLE_DEAD, "idle:dead", {}, {});
  set_step(CPUHP_AP_OFFLINE, "ap:offline", {}, {}, true);
  set_step(CPUHP_AP_SCHED_STARTING, "sched:starting", sched_cpu_starting, sched_cpu_dying);
  set_step(CPUHP_AP_RCUTREE_DYING, "RCU/tree:dying", {}, rcutree_dying_cpu);
  set_step(CPUHP_AP_ONLINE, "ap:online", {}, {});
  set_step(CPUHP_TEARDOWN_CPU, "cpu:teardown", {}, takedown_cpu, true);
  set_step(CPUHP_AP_ONLINE_IDLE, "ap:online-idle", {}, {});
  set_step(CPUHP_AP_SCHED_WAIT_EMPTY, "sched:waitempty", {}, sched_cpu_wait_empty);
  set_step(CPUHP_AP_SMPBOOT_THREADS, "smpboot/threads:online", smpboot_unpark_threads, smpboot_park_threads);
  set_step(CPUHP_AP_WATCHDOG_ONLINE, "lockup_detector:online", lockup_detector_online_cpu, lockup_detector_offline_cpu);
  set_step(CPUHP_AP_RCUTREE_ONLINE, "RCU/tree:online", rcutree_online_cpu, rcutree_offline_cpu);
  set_step(CPUHP_AP_ACTIVE, "sched:active", sched_cpu_activate, sched_cpu_deactivate);
  set_step(CPUHP_ONLINE, "online", {}, {});
}

// ---------------------------------------------------------------------------------------------
// SMT control (CONFIG_HOTPLUG_SMT)

const char* cpu_smt_control_name(int c) {
  static const char* const names[] = {"on", "off", "forceoff", "notsupported"};
  return c >= 0 && c <= CPU_SMT_NOT_SUPPORTED ? names[c] : "?";
}

int cpu_smt_control_parse(std::string_view value) {
  for (int c = CPU_SMT_ENABLED; c <= CPU_SMT_FORCE_DISABLED; ++c)
    if (value == cpu_smt_control_name(c)) return c;
  return -1;
}

bool topology_is_primary_thread(unsigned cpu) { return cpu % kernel().cfg.smt == 0; }

bool cpu_bootable(unsigned cpu) {
  const int ctl = G().cpu_smt_control;
  if (ctl == CPU_SMT_ENABLED || ctl == CPU_SMT_NOT_SUPPORTED) return true;
  if (topology_is_primary_thread(cpu)) return true;
  // x86 must run every logical CPU's init once (CR4.MCE), so a sibling that never booted may.
  return !cpuhp_state_of(cpu)->booted_once;
}

int cpuhp_smt_disable(int ctrlval) {
  auto& k = kernel();
  int ret = 0;
  cpu_maps_update_begin();
  const cpumask online = k.cpu_online_mask;  // nothing comes online under cpu_add_remove_lock
  for (unsigned cpu : for_each_cpu(&online)) {
    if (topology_is_primary_thread(cpu)) continue;
    ret = cpu_down_maps_locked(cpu, CPUHP_OFFLINE);
    if (ret) break;
  }
  if (!ret) G().cpu_smt_control = ctrlval;
  cpu_maps_update_done();
  return ret;
}

int cpuhp_smt_enable() {
  auto& k = kernel();
  int ret = 0;
  cpu_maps_update_begin();
  G().cpu_smt_control = CPU_SMT_ENABLED;
  // SIM: every present offline CPU. No NUMA nodes, so none is skipped for an offline node; nor
  // are the threads of a core with no thread online, which recent kernels leave down.
  for (unsigned cpu : for_each_cpu(&k.cpu_present_mask)) {
    if (cpu_online(cpu)) continue;
    ret = cpu_up_(cpu, CPUHP_ONLINE);
    if (ret) break;
  }
  cpu_maps_update_done();
  return ret;
}

int cpu_smt_control_store(const std::string& value) {
  const int ctrlval = cpu_smt_control_parse(value);
  if (ctrlval < 0) return -EINVAL;
  const int cur = G().cpu_smt_control;
  if (cur == CPU_SMT_FORCE_DISABLED) return -EPERM;
  if (cur == CPU_SMT_NOT_SUPPORTED) return -ENODEV;
  int ret = 0;
  if (ctrlval != cur) ret = ctrlval == CPU_SMT_ENABLED ? cpuhp_smt_enable() : cpuhp_smt_disable(ctrlval);
  trace_hp("cpuhp.smt_control", "from={} to={} ret={}", cpu_smt_control_name(cur), value, ret);
  return ret;
}

void boot_cpu_hotplug_init() {
  auto& k = kernel();
  G().cpu_smt_control = k.cfg.smt <= 1 ? CPU_SMT_NOT_SUPPORTED : k.cfg.smt_control;
  cpuhp_cpu_state* st = cpuhp_state_of(0);
  st->booted_once = true;
  st->ap_sync_state.poke(SYNC_STATE_ONLINE);  // the boot CPU is online without a hand-shake
  st->state = CPUHP_ONLINE;
  st->target = CPUHP_ONLINE;
}

void bringup_nonboot_cpus(unsigned max_cpus) {
  auto& k = kernel();
  for (unsigned cpu : for_each_cpu(&k.cpu_present_mask)) {
    if (num_online_cpus() >= max_cpus) break;
    if (!cpu_online(cpu)) cpu_up(cpu);
  }
}

}  // namespace model
