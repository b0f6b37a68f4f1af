// app/scenario.hpp
// A scenario file (TOML, docs/scenario-format.md) parsed into plain values. Parsing validates
// everything a run needs: types, ranges, CPU ids against the machine, names of stop callbacks,
// hotplug callbacks, bug knobs, counters and hotplug states. Unknown keys are errors. Every error
// is a ScenarioError whose text names the file, line, column and key and says what was expected:
//   scenarios/x.toml:12:7: error: action[2].cpu: expected a CPU id below machine.cpus (4), got 7
// Nothing here touches model/ state: a Scenario is a value the runner binds to a kernel.
#pragma once

#include "sim/choice.hpp"
#include "sim/sim.hpp"
#include "sim/time.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace app {

/// A bad scenario (or artifact) file. what() is the complete, user-facing message: one line, with
/// any control byte echoed from the input shown escaped (see printable()).
class ScenarioError : public std::runtime_error {
 public:
  explicit ScenarioError(const std::string& message);
};

/// `text` with its control bytes (below 0x20, and 0x7f) written as \n, \t, \r or \xNN, so that it
/// prints on one line and shows what the input held. Other bytes (UTF-8) are kept.
std::string printable(std::string_view text);

enum class ActionKind {
  StopMachine,
  StopMachineCpuslocked,
  StopOneCpu,
  StopOneCpuNowait,
  StopTwoCpus,
  StopMachineFromInactiveCpu,
  CpuUp,
  CpuDown,
  Migrate,
  CpuhpSetupState,
  SmpbootRegisterPercpuThread,
  SynchronizeRcu,
  IrqOff,
  PreemptOff,
  Busy,
  VcpuStall,
  SmtControl,
};

/// The `do = "..."` spelling of each kind, and a one-line description (for `smpsim list actions`).
struct ActionKindInfo {
  ActionKind kind;
  const char* name;
  const char* summary;
};
const std::vector<ActionKindInfo>& action_kinds();
/// Bring-up states the hotplug `fail` attribute accepts for an offline CPU (they have a callback
/// and are not atomic): what a fault-injected cpu_up fails at.
const std::vector<int>& failable_bringup_states();
/// "N/D" (exact; "0" for never).
std::string format_ratio(sim::Ratio r);
const char* to_string(ActionKind k);

/// Fires an action when a trace event (info level) matches: its name and every listed field.
struct Trigger {
  std::string text;                                         ///< as written: "msm.state to=RUN"
  std::string event;                                        ///< event name, e.g. "msm.state"
  std::vector<std::pair<std::string, std::string>> fields;  ///< required key=value pairs
  int cpu = -1;                                             ///< CPU that emitted it (-1 = any)
  std::uint32_t nth = 1;                                    ///< fire at the nth match
  sim::Duration delay;                                      ///< start the action this long after
};

struct Action {
  std::string name;  ///< unique; default "a<index>"
  ActionKind kind = ActionKind::StopMachine;
  unsigned cpu = 0;  ///< CPU the action's task is created on
  std::string task;  ///< task name; "%u" expands to the CPU; default "<name>/%u"
  bool unbound = false;  ///< the task may run on any CPU (select_task_rq, idle balance); else it stays on `cpu`
  sim::Duration at;  ///< start time (virtual, since boot); ignored when `on` is set
  std::optional<Trigger> on;
  std::uint32_t count = 1;  ///< calls made by the task
  sim::Duration every;      ///< spacing of call starts (0 = back to back)
  // stop_* family
  std::string fn = "count";
  std::optional<std::vector<unsigned>> cpus;  ///< cpumask argument; nullopt = NULL
  /// Target CPU(s): stop_one_cpu*, inactive: one; stop_two_cpus: two; cpu_up/cpu_down: call i
  /// targets targets[i % size] (sorted ascending when given as a list).
  std::vector<unsigned> targets;
  // irq_off / preempt_off / busy
  sim::Duration duration;
  bool touch = false;
  // cpuhp_setup_state
  int state = -1;          ///< cpuhp_state value
  std::string state_text;  ///< as written
  std::string state_name;  ///< the name given to the state (default "scn:<name>")
  std::string startup, teardown;  ///< hotplug callbacks ("" = NULL)
  bool invoke = true;             ///< cpuhp_setup_state (true) or cpuhp_setup_state_nocalls
  std::vector<unsigned> startup_fails_on, teardown_fails_on;
  int fail_ret = -5;               ///< -EIO
  std::optional<int> disable_fails;  ///< cpu_down: __cpu_disable refuses with this errno (once per call)
  std::optional<int> fail_state;     ///< cpu_up: the hotplug state whose callback fails (sysfs `fail`)
  std::uint32_t fail_times = 0;    ///< 0 = every time
  std::optional<sim::Duration> remove_after;
  // smpboot_register_percpu_thread
  std::string thread_comm;  ///< default "<name>_t/%u"
  std::uint32_t runs = 1;   ///< thread_fn runs requested per online CPU after registering
  bool selfparking = false;
  std::optional<sim::Duration> unregister_after;
  // smt_control
  std::string smt_value;  ///< "on", "off" or "forceoff"
  // end-state check
  std::optional<int> expect_ret;
  int line = 0;  ///< of the [[action]] header, for messages
};

struct Expect {
  bool pass = true;                      ///< result = "pass"
  std::vector<std::string> failure_kinds;  ///< any of these (empty with pass = false: any failure)
  std::optional<std::vector<unsigned>> online, active;
  std::map<std::string, std::int64_t> counts;
};

struct Scenario {
  std::string path;  ///< as given (for messages)
  std::string text;  ///< the file's bytes (embedded in repro artifacts)
  std::string name, description;
  // [machine]
  unsigned cpus = 4, present = 0, online_at_boot = 0, smt = 1, hz = 250;
  // [kernel]
  sim::Duration watchdog_thresh = sim::Duration::ns(10LL * 1'000'000'000);
  sim::Duration rcu_cpu_stall_timeout = sim::Duration::ns(21LL * 1'000'000'000);
  sim::Duration liveness_bound = sim::Duration::ns(60LL * 1'000'000'000);
  bool detectors_stop_run = true;
  bool ksoftirqd = false;  ///< ksoftirqd/N threads run RCU callbacks (model/softirq.hpp)
  bool idle_balance = false;  ///< a CPU about to idle asks a busy CPU's stopper for a task
  sim::Duration hung_task_timeout{};  ///< 0: off (model/hung_task.hpp)
  int smt_control = 0;  ///< boot-time SMT control: 0 on, 1 off (nosmt), 2 forceoff (nosmt=force)
  bool hardlockup_buddy = false;  ///< hard-lockup detector "buddy" (else "perf", the NMI)
  std::vector<std::string> bugs;
  /// Chance that a cpu_up or cpu_down call of an action is made to fail by fault injection.
  sim::Ratio hotplug_fault_ratio{0, 1};
  // [sim]
  sim::Granularity granularity = sim::Granularity::Locks;
  sim::Duration step_cost = sim::Duration::ns(10);
  sim::Duration skew = sim::Duration::ns(1000);
  /// PCT runs: the longest stall of the lane hit by a change point (0 = no stall); see sim::PctPolicy.
  sim::Duration pct_stall = sim::Duration::ns(1'000'000);
  /// Longest delay before a spinning CPU sees a write to the word it polls (0: at once).
  sim::Duration propagation_delay = sim::Duration::ns(0);
  /// Chance, at each step, that the host stalls the CPU about to run, for up to vcpu_stall_max.
  sim::Ratio vcpu_stall_ratio{0, 1};
  sim::Duration vcpu_stall_max = sim::Duration::ns(1'000'000);
  std::uint64_t max_steps = 100'000'000;
  sim::Duration max_time = sim::Duration::ns(3600LL * 1'000'000'000);
  // [run]
  std::uint64_t seed = 1;
  sim::PolicyKind strategy = sim::PolicyKind::Fifo;
  std::uint32_t pct_depth = 3;
  std::uint64_t pct_steps = 10'000;

  std::vector<Action> actions;
  Expect expect;

  unsigned present_cpus() const { return present == 0 ? cpus : present; }
  unsigned boot_cpus() const { return online_at_boot == 0 ? present_cpus() : online_at_boot; }
  const Action* find_action(std::string_view name) const;
};

/// Parses scenario text; `path` names the source in messages. Throws ScenarioError.
Scenario parse_scenario(std::string text, const std::string& path);
/// Reads and parses a file. Throws ScenarioError (also for an unreadable file).
Scenario load_scenario(const std::string& path);

/// "0-3,5" -> {0,1,2,3,5}; false on bad syntax.
bool parse_cpulist(std::string_view text, std::vector<unsigned>& out);
std::string format_cpulist(const std::vector<unsigned>& cpus);
const char* strategy_name(sim::PolicyKind k);

}  // namespace app
