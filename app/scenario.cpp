// app/scenario.cpp — TOML scenario parsing and validation (docs/scenario-format.md).
// Every table lists its keys; a key not listed is an error at the key's own position. Values
// are checked where they are read, and the error points at the value.
#include "app/scenario.hpp"

#include "app/fns.hpp"
#include "app/output.hpp"
#include "app/trace_events.hpp"
#include "model/bugs.hpp"
#include "model/cpu.hpp"

#include <fmt/format.h>

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

namespace app {

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f) out += c;
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else out += fmt::format("\\x{:02x}", u);
  }
  return out;
}

ScenarioError::ScenarioError(const std::string& message) : std::runtime_error(printable(message)) {}

const std::vector<int>& failable_bringup_states() {
  static const std::vector<int> states = {model::CPUHP_CREATE_THREADS,     model::CPUHP_RCUTREE_PREP,
                                          model::CPUHP_BRINGUP_CPU,        model::CPUHP_AP_SMPBOOT_THREADS,
                                          model::CPUHP_AP_WATCHDOG_ONLINE, model::CPUHP_AP_RCUTREE_ONLINE,
                                          model::CPUHP_AP_ACTIVE};
  return states;
}

std::string format_ratio(sim::Ratio r) { return r.num == 0 ? "0" : fmt::format("{}/{}", r.num, r.den); }

const std::vector<ActionKindInfo>& action_kinds() {
  static const std::vector<ActionKindInfo> v = {
      {ActionKind::StopMachine, "stop_machine", "stop_machine(fn, NULL, cpus): fn on the listed CPUs, all others held"},
      {ActionKind::StopMachineCpuslocked, "stop_machine_cpuslocked",
       "cpus_read_lock(); stop_machine_cpuslocked(fn, NULL, cpus); cpus_read_unlock()"},
      {ActionKind::StopOneCpu, "stop_one_cpu", "stop_one_cpu(target, fn, NULL): waits for fn on target"},
      {ActionKind::StopOneCpuNowait, "stop_one_cpu_nowait",
       "stop_one_cpu_nowait(target, fn, NULL, work): queues fn, returns 1 if queued"},
      {ActionKind::StopTwoCpus, "stop_two_cpus", "stop_two_cpus(targets[0], targets[1], fn, NULL)"},
      {ActionKind::StopMachineFromInactiveCpu, "stop_machine_from_inactive_cpu",
       "brings target up (down first if online) with a CPUHP_AP_CACHECTRL_STARTING callback that calls "
       "stop_machine_from_inactive_cpu(fn, NULL, cpus) on it"},
      {ActionKind::CpuUp, "cpu_up", "cpu_up(target)"},
      {ActionKind::CpuDown, "cpu_down", "cpu_down(target); disable_fails makes __cpu_disable refuse"},
      {ActionKind::Migrate, "migrate",
       "move work to target through its stopper (affine_move_task: stop_one_cpu_nowait + wait)"},
      {ActionKind::CpuhpSetupState, "cpuhp_setup_state",
       "cpuhp_setup_state(state, state_name, startup, teardown) (or _nocalls), optionally removed later"},
      {ActionKind::SmpbootRegisterPercpuThread, "smpboot_register_percpu_thread",
       "registers a per-CPU hotplug thread, asks each online CPU's thread to run, optionally unregisters"},
      {ActionKind::SynchronizeRcu, "synchronize_rcu", "synchronize_rcu()"},
      {ActionKind::IrqOff, "irq_off", "local_irq_save(); busy loop for duration; local_irq_restore()"},
      {ActionKind::PreemptOff, "preempt_off", "preempt_disable(); busy loop for duration; preempt_enable()"},
      {ActionKind::Busy, "busy", "busy loop for duration (interrupts and preemption on)"},
      {ActionKind::VcpuStall, "vcpu_stall", "the host deschedules CPU target for duration: nothing runs on it, its interrupts wait"},
      {ActionKind::SmtControl, "smt_control",
       "write value (on, off, forceoff) to /sys/devices/system/cpu/smt/control: SMT siblings go offline or come back"},
  };
  return v;
}

const char* to_string(ActionKind k) {
  for (const auto& i : action_kinds())
    if (i.kind == k) return i.name;
  return "?";
}

const char* strategy_name(sim::PolicyKind k) { return sim::to_string(k); }

const Action* Scenario::find_action(std::string_view n) const {
  for (const auto& a : actions)
    if (a.name == n) return &a;
  return nullptr;
}

bool parse_cpulist(std::string_view text, std::vector<unsigned>& out) {
  out.clear();
  if (text.empty()) return true;
  // The ranges are merged before they are expanded, so a list that repeats a long range
  // ("0-1000000,0-1000000,...") costs one expansion, not one per repetition.
  std::vector<std::pair<unsigned, unsigned>> ranges;
  std::size_t i = 0;
  auto number = [&](unsigned& v) {
    const std::size_t start = i;
    std::uint64_t acc = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      acc = acc * 10 + static_cast<unsigned>(text[i] - '0');
      if (acc > 1'000'000) return false;
      ++i;
    }
    v = static_cast<unsigned>(acc);
    return i > start;
  };
  for (;;) {
    unsigned lo = 0, hi = 0;
    if (!number(lo)) return false;
    hi = lo;
    if (i < text.size() && text[i] == '-') {
      ++i;
      if (!number(hi) || hi < lo) return false;
    }
    ranges.emplace_back(lo, hi);
    if (i == text.size()) break;
    if (text[i] != ',') return false;
    ++i;
  }
  std::sort(ranges.begin(), ranges.end());
  for (const auto& [lo, hi] : ranges)
    for (unsigned c = out.empty() ? lo : std::max(lo, out.back() + 1); c <= hi; ++c) out.push_back(c);
  return true;
}

std::string format_cpulist(const std::vector<unsigned>& cpus) {
  std::string out;
  for (std::size_t i = 0; i < cpus.size();) {
    std::size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += j == i ? fmt::format("{}", cpus[i]) : fmt::format("{}-{}", cpus[i], cpus[j]);
    i = j + 1;
  }
  return out;
}

namespace {

const char* type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += fmt::format("{}{}", out.empty() ? "" : ", ", s);
  return out;
}

/// One TOML table being read: remembers the allowed keys and names values by their full path.
class Reader {
 public:
  Reader(const std::string& file, const toml::table& t, std::string prefix)
      : file_(file), t_(t), prefix_(std::move(prefix)) {}

  const toml::table& table() const { return t_; }
  std::string path(std::string_view key) const {
    return prefix_.empty() ? std::string(key) : fmt::format("{}.{}", prefix_, key);
  }

  [[noreturn]] void fail_at(const toml::source_region& where, std::string_view key, const std::string& msg) const {
    throw ScenarioError(
        fmt::format("{}:{}:{}: error: {}: {}", file_, where.begin.line, where.begin.column, path(key), msg));
  }
  [[noreturn]] void fail(std::string_view key, const std::string& msg) const {
    const toml::node* n = t_.get(key);
    fail_at(n ? n->source() : t_.source(), key, msg);
  }

  /// Every key must be in `allowed`; the first unknown one (in file order) is an error.
  void only(const std::vector<std::string>& allowed, const std::string& where) const {
    std::vector<const toml::key*> bad;
    for (auto&& [k, v] : t_)
      if (std::find(allowed.begin(), allowed.end(), k.str()) == allowed.end()) bad.push_back(&k);
    if (bad.empty()) return;
    const auto* first = *std::min_element(bad.begin(), bad.end(), [](const toml::key* a, const toml::key* b) {
      return std::pair(a->source().begin.line, a->source().begin.column) <
             std::pair(b->source().begin.line, b->source().begin.column);
    });
    fail_at(first->source(), first->str(),
            fmt::format("unknown key in {}; expected one of: {}", where, join(allowed)));
  }

  const toml::node* get(std::string_view key) const { return t_.get(key); }
  bool has(std::string_view key) const { return t_.contains(key); }

  std::int64_t integer(std::string_view key, std::int64_t lo, std::int64_t hi, std::int64_t def) const {
    const toml::node* n = get(key);
    if (!n) return def;
    const auto v = n->value_exact<std::int64_t>();
    if (!v) fail(key, fmt::format("expected an integer in {}..{}, got {}", lo, hi, type_name(*n)));
    if (*v < lo || *v > hi) fail(key, fmt::format("expected an integer in {}..{}, got {}", lo, hi, *v));
    return *v;
  }

  bool boolean(std::string_view key, bool def) const {
    const toml::node* n = get(key);
    if (!n) return def;
    const auto v = n->value_exact<bool>();
    if (!v) fail(key, fmt::format("expected true or false, got {}", type_name(*n)));
    return *v;
  }

  std::string string(std::string_view key, const std::string& def, const char* expected = "a string") const {
    const toml::node* n = get(key);
    if (!n) return def;
    const auto v = n->value_exact<std::string>();
    if (!v) fail(key, fmt::format("expected {}, got {}", expected, type_name(*n)));
    return *v;
  }

  std::string choice(std::string_view key, const std::vector<std::string>& options, const std::string& def) const {
    const std::string expected = fmt::format("one of \"{}\"", fmt::join(options, "\", \""));
    const std::string v = string(key, def, expected.c_str());
    if (std::find(options.begin(), options.end(), v) == options.end())
      fail(key, fmt::format("expected {}, got \"{}\"", expected, v));
    return v;
  }

  sim::Duration duration(std::string_view key, sim::Duration def, sim::Duration min = sim::Duration::ns(0)) const {
    const toml::node* n = get(key);
    if (!n) return def;
    const auto v = n->value_exact<std::string>();
    const char* expected = "a duration string such as \"10ms\" (an integer with unit ns, us, ms or s)";
    if (!v) fail(key, fmt::format("expected {}, got {}", expected, type_name(*n)));
    sim::Duration d;
    if (!sim::parse_duration(*v, d)) fail(key, fmt::format("expected {}, got \"{}\"", expected, *v));
    if (d < min) fail(key, fmt::format("expected a duration of at least {}, got \"{}\"", sim::format_duration(min), *v));
    return d;
  }

  /// A chance: "N/D" with 0 <= N <= D and D > 0 (exact, no floating point), or 0.
  sim::Ratio ratio(std::string_view key, sim::Ratio def) const {
    const toml::node* n = get(key);
    if (!n) return def;
    const char* expected = "a chance written \"N/D\" such as \"1/200\" (0 <= N <= D, D > 0), or 0";
    if (const auto i = n->value_exact<std::int64_t>(); i && *i == 0) return sim::Ratio{0, 1};
    const auto v = n->value_exact<std::string>();
    if (!v) fail(key, fmt::format("expected {}, got {}", expected, type_name(*n)));
    const auto slash = v->find('/');
    auto number = [](std::string_view t, std::uint64_t& out) {
      if (t.empty() || t.size() > 12 || t.find_first_not_of("0123456789") != std::string_view::npos) return false;
      out = std::stoull(std::string(t));
      return true;
    };
    sim::Ratio r;
    if (*v == "0") return sim::Ratio{0, 1};
    if (slash == std::string::npos || !number(std::string_view(*v).substr(0, slash), r.num) ||
        !number(std::string_view(*v).substr(slash + 1), r.den) || r.den == 0 || r.num > r.den)
      fail(key, fmt::format("expected {}, got \"{}\"", expected, *v));
    return r;
  }

  std::optional<sim::Duration> opt_duration(std::string_view key) const {
    if (!has(key)) return std::nullopt;
    return duration(key, sim::Duration{});
  }

  /// An array of CPU ids or a cpulist string ("0-3,5"); every id below `nr`.
  std::vector<unsigned> cpus(std::string_view key, unsigned nr) const {
    const toml::node* n = get(key);
    SIM_ASSERT(n != nullptr);
    const std::string expected =
        fmt::format("an array of CPU ids or a cpulist string such as \"0-2,5\", every CPU below {}", nr);
    std::vector<unsigned> out;
    if (const auto s = n->value_exact<std::string>()) {
      if (!parse_cpulist(*s, out)) fail(key, fmt::format("expected {}, got \"{}\"", expected, *s));
    } else if (const toml::array* a = n->as_array()) {
      for (const toml::node& e : *a) {
        const auto v = e.value_exact<std::int64_t>();
        if (!v || *v < 0 || *v >= nr)
          fail_at(e.source(), key, fmt::format("expected {}, got {}", expected, v ? fmt::format("{}", *v) : type_name(e)));
        out.push_back(static_cast<unsigned>(*v));
      }
      std::sort(out.begin(), out.end());
      out.erase(std::unique(out.begin(), out.end()), out.end());
    } else {
      fail(key, fmt::format("expected {}, got {}", expected, type_name(*n)));
    }
    for (unsigned c : out)
      if (c >= nr) fail(key, fmt::format("expected {}, got CPU {}", expected, c));
    return out;
  }

  const toml::table* subtable(std::string_view key) const {
    const toml::node* n = get(key);
    if (!n) return nullptr;
    if (!n->is_table()) fail(key, fmt::format("expected a table, got {}", type_name(*n)));
    return n->as_table();
  }

 private:
  const std::string& file_;
  const toml::table& t_;
  std::string prefix_;
};

constexpr std::int64_t kMaxCpus = 4096;
constexpr std::int64_t kI64Max = std::numeric_limits<std::int64_t>::max();

bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
  });
}

bool valid_task(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c > ' ' && c != '"' && c != '=' && c < 127; });
}

std::string file_stem(const std::string& path) {
  std::string base = path.substr(path.find_last_of('/') + 1);
  const auto dot = base.rfind('.');
  if (dot != std::string::npos && dot > 0) base = base.substr(0, dot);
  return base;
}

void parse_machine(const std::string& file, const toml::table& root, Scenario& s) {
  const toml::node* n = root.get("machine");
  if (!n) return;
  Reader top(file, root, "");
  if (!n->is_table()) top.fail("machine", fmt::format("expected a table, got {}", type_name(*n)));
  Reader r(file, *n->as_table(), "machine");
  r.only({"cpus", "present", "online_at_boot", "smt", "hz"}, "[machine]");
  s.cpus = static_cast<unsigned>(r.integer("cpus", 1, kMaxCpus, 4));
  s.present = static_cast<unsigned>(r.integer("present", 1, s.cpus, s.cpus));
  s.online_at_boot = static_cast<unsigned>(r.integer("online_at_boot", 1, s.present, s.present));
  s.smt = static_cast<unsigned>(r.integer("smt", 1, 8, 1));
  if (s.cpus % s.smt != 0) r.fail("smt", fmt::format("expected a divisor of machine.cpus ({}), got {}", s.cpus, s.smt));
  s.hz = static_cast<unsigned>(r.integer("hz", 1, 10000, 250));
}

/// What /sys/devices/system/cpu/smt/control accepts (model::cpu_smt_control_parse).
const std::vector<std::string> kSmtControlValues = {"on", "off", "forceoff"};

void parse_kernel(const std::string& file, const Reader& r, Scenario& s) {
  r.only({"watchdog_thresh", "rcu_cpu_stall_timeout", "liveness_bound", "detectors_stop_run", "bugs",
          "hotplug_fault_ratio", "ksoftirqd", "idle_balance", "hung_task_timeout", "smt_control",
          "hardlockup_detector"},
         "[kernel]");
  s.hotplug_fault_ratio = r.ratio("hotplug_fault_ratio", s.hotplug_fault_ratio);
  s.watchdog_thresh = r.duration("watchdog_thresh", s.watchdog_thresh);
  s.rcu_cpu_stall_timeout = r.duration("rcu_cpu_stall_timeout", s.rcu_cpu_stall_timeout, sim::Duration::ns(1));
  s.liveness_bound = r.duration("liveness_bound", s.liveness_bound, sim::Duration::ns(1));
  s.detectors_stop_run = r.boolean("detectors_stop_run", true);
  s.ksoftirqd = r.boolean("ksoftirqd", false);
  s.idle_balance = r.boolean("idle_balance", false);
  s.hung_task_timeout = r.duration("hung_task_timeout", s.hung_task_timeout);
  s.smt_control = model::cpu_smt_control_parse(r.choice("smt_control", kSmtControlValues, "on"));
  s.hardlockup_buddy = r.choice("hardlockup_detector", {"perf", "buddy"}, "perf") == "buddy";
  if (const toml::node* b = r.get("bugs")) {
    std::vector<std::string> known;
    for (const auto& k : model::bug_registry()) known.push_back(k.name);
    const std::string expected = fmt::format("an array of bug knob names ({})", join(known));
    const toml::array* a = b->as_array();
    if (!a) r.fail("bugs", fmt::format("expected {}, got {}", expected, type_name(*b)));
    for (const toml::node& e : *a) {
      const auto v = e.value_exact<std::string>();
      if (!v || !model::find_bug(*v))
        r.fail_at(e.source(), "bugs", fmt::format("expected {}, got {}", expected, v ? "\"" + *v + "\"" : type_name(e)));
      s.bugs.push_back(*v);
    }
  }
  (void)file;
}

void parse_sim(const Reader& r, Scenario& s) {
  r.only({"granularity", "step_cost", "skew", "pct_stall", "propagation_delay", "vcpu_stall_ratio", "vcpu_stall_max",
          "max_steps", "max_time"},
         "[sim]");
  s.vcpu_stall_ratio = r.ratio("vcpu_stall_ratio", s.vcpu_stall_ratio);
  s.vcpu_stall_max = r.duration("vcpu_stall_max", s.vcpu_stall_max, sim::Duration::ns(1));
  s.granularity = *sim::granularity_from_string(r.choice("granularity", {"none", "locks", "shared"}, "locks"));
  s.step_cost = r.duration("step_cost", s.step_cost, sim::Duration::ns(1));
  s.skew = r.duration("skew", s.skew);
  s.pct_stall = r.duration("pct_stall", s.pct_stall);
  s.propagation_delay = r.duration("propagation_delay", s.propagation_delay);
  s.max_steps = static_cast<std::uint64_t>(r.integer("max_steps", 1, kI64Max, static_cast<std::int64_t>(s.max_steps)));
  s.max_time = r.duration("max_time", s.max_time, sim::Duration::ns(1));
}

void parse_run(const Reader& r, Scenario& s) {
  r.only({"seed", "strategy", "pct_depth", "pct_steps"}, "[run]");
  if (const toml::node* n = r.get("seed")) {
    const char* expected = "a seed: a non-negative integer, or a string holding a decimal, 0x-hex or 40-hex number";
    if (const auto i = n->value_exact<std::int64_t>()) {
      if (*i < 0) r.fail("seed", fmt::format("expected {}, got {}", expected, *i));
      s.seed = static_cast<std::uint64_t>(*i);
    } else if (const auto str = n->value_exact<std::string>()) {
      const auto seed = sim::parse_seed(*str);
      if (!seed) r.fail("seed", fmt::format("expected {}, got \"{}\"", expected, *str));
      s.seed = *seed;
    } else {
      r.fail("seed", fmt::format("expected {}, got {}", expected, type_name(*n)));
    }
  }
  s.strategy = *sim::policy_from_string(r.choice("strategy", {"fifo", "random", "pct"}, "fifo"));
  s.pct_depth = static_cast<std::uint32_t>(r.integer("pct_depth", 1, 1000, 3));
  s.pct_steps = static_cast<std::uint64_t>(r.integer("pct_steps", 1, kI64Max, 10'000));
}

const std::vector<std::string> kCommonActionKeys = {"name",  "do",  "cpu",   "task",  "unbound",   "at",  "on",
                                                    "on_cpu", "nth", "delay", "count", "every", "expect_ret"};

std::vector<std::string> kind_keys(ActionKind k) {
  switch (k) {
    case ActionKind::StopMachine:
    case ActionKind::StopMachineCpuslocked: return {"fn", "cpus"};
    case ActionKind::StopOneCpu:
    case ActionKind::StopOneCpuNowait: return {"fn", "target"};
    case ActionKind::StopTwoCpus: return {"fn", "targets"};
    case ActionKind::StopMachineFromInactiveCpu: return {"fn", "target", "cpus"};
    case ActionKind::CpuUp: return {"target", "targets", "fail_state"};
    case ActionKind::CpuDown: return {"target", "targets", "disable_fails"};
    case ActionKind::Migrate: return {"target", "targets"};
    case ActionKind::CpuhpSetupState:
      return {"state",         "state_name",        "startup",  "teardown",   "invoke",
              "startup_fails_on", "teardown_fails_on", "fail_ret", "fail_times", "remove_after"};
    case ActionKind::SmpbootRegisterPercpuThread: return {"thread_comm", "runs", "selfparking", "unregister_after"};
    case ActionKind::SynchronizeRcu: return {};
    case ActionKind::IrqOff:
    case ActionKind::PreemptOff:
    case ActionKind::Busy: return {"duration", "touch"};
    case ActionKind::VcpuStall: return {"target", "duration"};
    case ActionKind::SmtControl: return {"value"};
  }
  return {};
}

unsigned target_cpu(const Reader& r, const Scenario& s, const char* key = "target") {
  if (!r.has(key)) r.fail_at(r.table().source(), key, "missing: expected the target CPU id");
  return static_cast<unsigned>(r.integer(key, 0, s.cpus - 1, 0));
}

/// A trigger on an event the model never emits, or never shows to triggers, would never fire.
void check_trigger_event(const Reader& r, const std::string& event) {
  const TraceEventInfo* e = find_trace_event(event);
  if (e == nullptr) {
    const std::vector<std::string> close = close_trace_events(event);
    r.fail("on", fmt::format("no trace event is named \"{}\"{}; `smpsim list events` lists them", event,
                             close.empty() ? std::string() : fmt::format(" (did you mean {}?)", join(close))));
  }
  if (e->level < sim::Level::Info)
    r.fail("on", fmt::format("\"{}\" is a {}-level event; triggers see only events at info level and above", event,
                             sim::to_string(e->level)));
}

void parse_trigger(const Reader& r, const Scenario& s, Action& a) {
  if (!r.has("on")) {
    for (const char* k : {"on_cpu", "nth", "delay"})
      if (r.has(k)) r.fail(k, "only valid together with 'on' (a trigger)");
    return;
  }
  if (r.has("at")) r.fail("on", "an action starts either at a time ('at') or on a trace event ('on'), not both");
  Trigger t;
  const char* expected = "an event name followed by key=value fields, e.g. \"msm.state to=RUN\"";
  t.text = r.string("on", "", expected);
  if (!sim::parse_event_payload(t.text, t.event, t.fields) || t.event.find('=') != std::string::npos)
    r.fail("on", fmt::format("expected {}, got \"{}\"", expected, t.text));
  check_trigger_event(r, t.event);
  t.cpu = static_cast<int>(r.integer("on_cpu", 0, s.cpus - 1, -1));
  t.nth = static_cast<std::uint32_t>(r.integer("nth", 1, 1'000'000'000, 1));
  t.delay = r.duration("delay", sim::Duration{});
  a.on = std::move(t);
}

void parse_stop_fn(const Reader& r, Action& a) {
  a.fn = r.string("fn", "count");
  if (const std::string err = check_stop_fn(a.fn); !err.empty())
    r.fail("fn", fmt::format("expected a stop callback from `smpsim list fns`: {}", err));
}

void parse_cpuhp(const Reader& r, const Scenario& s, Action& a) {
  a.state_text = r.string("state", "CPUHP_AP_ONLINE_DYN");
  a.state = model::cpuhp_state_from_name(a.state_text);
  if (a.state == model::CPUHP_INVALID)
    r.fail("state", fmt::format("expected a hotplug state name such as \"CPUHP_AP_ONLINE_DYN\", "
                                "\"CPUHP_BP_PREPARE_DYN\" or \"CPUHP_AP_CACHECTRL_STARTING\", got \"{}\"",
                                a.state_text));
  a.state_name = r.string("state_name", "scn:" + a.name);
  if (a.state_name.empty()) r.fail("state_name", "expected a non-empty name");
  for (const char* key : {"startup", "teardown"}) {
    std::string& cb = std::string_view(key) == "startup" ? a.startup : a.teardown;
    cb = r.string(key, std::string_view(key) == "startup" ? "count" : "");
    if (cb.empty() || cb == "NULL") {
      cb.clear();
      continue;
    }
    if (const std::string err = check_hotplug_cb(cb); !err.empty())
      r.fail(key, fmt::format("expected a hotplug callback from `smpsim list fns` or \"NULL\": {}", err));
  }
  a.invoke = r.boolean("invoke", true);
  if (r.has("startup_fails_on")) a.startup_fails_on = r.cpus("startup_fails_on", s.cpus);
  if (r.has("teardown_fails_on")) a.teardown_fails_on = r.cpus("teardown_fails_on", s.cpus);
  a.fail_ret = static_cast<int>(r.integer("fail_ret", -4095, -1, -5));
  a.fail_times = static_cast<std::uint32_t>(r.integer("fail_times", 0, 1'000'000, 0));
  a.remove_after = r.opt_duration("remove_after");
}

sim::Duration required_duration(const Reader& r, const toml::table& t) {
  if (!r.has("duration")) r.fail_at(t.source(), "duration", "missing: expected a duration such as \"2ms\"");
  return r.duration("duration", sim::Duration{});
}

/// The keys of one action kind (the common keys are read by parse_action).
void parse_kind_keys(const Reader& r, const toml::table& t, const Scenario& s, Action& a) {
  switch (a.kind) {
    case ActionKind::StopMachine:
    case ActionKind::StopMachineCpuslocked:
      parse_stop_fn(r, a);
      if (r.has("cpus")) a.cpus = r.cpus("cpus", s.cpus);
      break;
    case ActionKind::StopOneCpu:
    case ActionKind::StopOneCpuNowait:
      parse_stop_fn(r, a);
      a.targets = {target_cpu(r, s)};
      break;
    case ActionKind::StopTwoCpus: {
      parse_stop_fn(r, a);
      if (!r.has("targets")) r.fail_at(t.source(), "targets", "missing: expected two distinct CPU ids, e.g. [1, 3]");
      const toml::node* n = r.get("targets");
      const toml::array* arr = n->as_array();
      const std::string expected = fmt::format("an array of two distinct CPU ids below {}", s.cpus);
      if (!arr || arr->size() != 2) r.fail("targets", fmt::format("expected {}, got {}", expected, type_name(*n)));
      for (const toml::node& e : *arr) {
        const auto v = e.value_exact<std::int64_t>();
        if (!v || *v < 0 || *v >= s.cpus)
          r.fail_at(e.source(), "targets",
                    fmt::format("expected {}, got {}", expected, v ? fmt::format("{}", *v) : type_name(e)));
        a.targets.push_back(static_cast<unsigned>(*v));
      }
      if (a.targets[0] == a.targets[1]) r.fail("targets", fmt::format("expected {}, got the same CPU twice", expected));
      break;
    }
    case ActionKind::StopMachineFromInactiveCpu:
      parse_stop_fn(r, a);
      a.targets = {target_cpu(r, s)};
      if (a.targets[0] >= s.present_cpus())
        r.fail("target", fmt::format("expected a present CPU (below {}), got {}", s.present_cpus(), a.targets[0]));
      if (r.has("cpus")) a.cpus = r.cpus("cpus", s.cpus);
      break;
    case ActionKind::CpuUp:
    case ActionKind::CpuDown:
    case ActionKind::Migrate:
      if (a.kind == ActionKind::CpuDown && r.has("disable_fails"))
        a.disable_fails = static_cast<int>(r.integer("disable_fails", -4095, -1, -28));
      if (a.kind == ActionKind::CpuUp && r.has("fail_state")) {
        const std::string text = r.string("fail_state", "");
        a.fail_state = model::cpuhp_state_from_name(text);
        if (*a.fail_state == model::CPUHP_INVALID)
          r.fail("fail_state", fmt::format("expected a hotplug state name such as \"CPUHP_AP_ACTIVE\" or "
                                           "\"CPUHP_CREATE_THREADS\", got \"{}\"", text));
      }
      if (r.has("target") && r.has("targets")) r.fail("targets", "give either 'target' or 'targets', not both");
      if (r.has("targets")) {
        a.targets = r.cpus("targets", s.cpus);
        if (a.targets.empty()) r.fail("targets", "expected at least one CPU id");
      } else {
        a.targets = {target_cpu(r, s)};
      }
      break;
    case ActionKind::CpuhpSetupState: parse_cpuhp(r, s, a); break;
    case ActionKind::SmpbootRegisterPercpuThread:
      a.thread_comm = r.string("thread_comm", a.name + "_t/%u");
      if (!valid_task(a.thread_comm))
        r.fail("thread_comm", fmt::format("expected a task name without blanks, got \"{}\"", a.thread_comm));
      a.runs = static_cast<std::uint32_t>(r.integer("runs", 0, 1'000'000, 1));
      a.selfparking = r.boolean("selfparking", false);
      a.unregister_after = r.opt_duration("unregister_after");
      break;
    case ActionKind::SynchronizeRcu: break;
    case ActionKind::IrqOff:
    case ActionKind::PreemptOff:
    case ActionKind::Busy:
      a.duration = required_duration(r, t);
      a.touch = r.boolean("touch", false);
      break;
    case ActionKind::VcpuStall:
      a.targets = {target_cpu(r, s)};
      a.duration = required_duration(r, t);
      break;
    case ActionKind::SmtControl:
      if (!r.has("value")) r.fail_at(t.source(), "value", "missing: expected one of: on, off, forceoff");
      a.smt_value = r.choice("value", kSmtControlValues, "on");
      break;
  }
}

Action parse_action(const std::string& file, const toml::table& t, std::size_t index, const Scenario& s) {
  Reader r(file, t, fmt::format("action[{}]", index));
  Action a;
  a.line = static_cast<int>(t.source().begin.line);
  std::vector<std::string> kinds;
  for (const auto& k : action_kinds()) kinds.push_back(k.name);
  if (!r.has("do")) r.fail_at(t.source(), "do", fmt::format("missing: expected one of: {}", join(kinds)));
  const std::string kind = r.choice("do", kinds, "");
  for (const auto& k : action_kinds())
    if (kind == k.name) a.kind = k.kind;
  std::vector<std::string> allowed = kCommonActionKeys;
  for (auto& k : kind_keys(a.kind)) allowed.push_back(k);
  r.only(allowed, fmt::format("an action with do = \"{}\"", kind));

  a.name = r.string("name", fmt::format("a{}", index));
  if (!valid_name(a.name)) r.fail("name", fmt::format("expected letters, digits, '_', '-' or '.', got \"{}\"", a.name));
  a.cpu = static_cast<unsigned>(r.integer("cpu", 0, s.cpus - 1, 0));
  a.task = r.string("task", a.name + "/%u");
  if (!valid_task(a.task)) r.fail("task", fmt::format("expected a task name without blanks, '\"' or '=', got \"{}\"", a.task));
  a.unbound = r.boolean("unbound", false);
  a.at = r.duration("at", sim::Duration{});
  parse_trigger(r, s, a);
  a.count = static_cast<std::uint32_t>(r.integer("count", 1, 1'000'000, 1));
  a.every = r.duration("every", sim::Duration{});
  if (r.has("expect_ret")) a.expect_ret = static_cast<int>(r.integer("expect_ret", -4095, 1'000'000, 0));

  parse_kind_keys(r, t, s, a);
  return a;
}

/// A counter name must be one the run can produce (so a typo is an error, not a silent 0).
std::string check_counter(const std::string& key, const Scenario& s) {
  if (key.rfind("fn.", 0) == 0) {
    std::string spec = key.substr(3);
    const auto dot = spec.rfind(".cpu");
    if (dot != std::string::npos && dot + 4 < spec.size() &&
        spec.find_first_not_of("0123456789", dot + 4) == std::string::npos)
      spec = spec.substr(0, dot);
    const std::string err = check_stop_fn(spec);
    return err.empty() ? std::string{} : fmt::format("'{}' names no stop callback: {}", key, err);
  }
  if (key.rfind("report.", 0) == 0) {
    if (model::Kernel::is_detector(key.substr(7))) return {};
    std::vector<std::string> names;
    for (std::string_view d : model::Kernel::detector_kinds) names.push_back(fmt::format("report.{}", d));
    return fmt::format("'{}': detector reports are {}", key, join(names));
  }
  const auto dot = key.find('.');
  if (dot != std::string::npos && s.find_action(key.substr(0, dot))) return {};
  return fmt::format(
      "'{}' is not a counter: expected fn.<callback>[.cpu<N>], report.<kind> or <action name>.<counter>", key);
}

void parse_expect(const std::string& file, const Reader& r, Scenario& s) {
  (void)file;
  r.only({"result", "failure", "online", "active", "counts"}, "[expect]");
  Expect& e = s.expect;
  const std::string result = r.choice("result", {"pass", "fail"}, r.has("failure") ? "fail" : "pass");
  e.pass = result == "pass";
  if (const toml::node* n = r.get("failure")) {
    if (e.pass) r.fail("failure", "expected no failure kind with result = \"pass\"");
    const char* expected = "a failure kind such as \"hard-lockup\" or \"I-SM-6\", or an array of them";
    if (const auto str = n->value_exact<std::string>()) {
      e.failure_kinds.push_back(*str);
    } else if (const toml::array* a = n->as_array()) {
      for (const toml::node& k : *a) {
        const auto v = k.value_exact<std::string>();
        if (!v) r.fail_at(k.source(), "failure", fmt::format("expected {}, got {}", expected, type_name(k)));
        e.failure_kinds.push_back(*v);
      }
    } else {
      r.fail("failure", fmt::format("expected {}, got {}", expected, type_name(*n)));
    }
    for (const auto& k : e.failure_kinds)
      if (k.empty()) r.fail("failure", fmt::format("expected {}, got an empty string", expected));
  }
  if (r.has("online")) e.online = r.cpus("online", s.cpus);
  if (r.has("active")) e.active = r.cpus("active", s.cpus);
  if (const toml::table* c = r.subtable("counts")) {
    Reader cr(file, *c, "expect.counts");
    for (auto&& [k, v] : *c) {
      const std::string key(k.str());
      if (const std::string err = check_counter(key, s); !err.empty()) cr.fail_at(k.source(), key, err);
      e.counts[key] = cr.integer(key, 0, kI64Max, 0);
    }
  }
}

const Reader* sub(const std::string& file, const toml::table& root, const char* key, std::optional<Reader>& holder) {
  const toml::node* n = root.get(key);
  if (!n) return nullptr;
  if (!n->is_table()) Reader(file, root, "").fail(key, fmt::format("expected a table [{}], got {}", key, type_name(*n)));
  holder.emplace(file, *n->as_table(), key);
  return &*holder;
}

}  // namespace

Scenario parse_scenario(std::string text, const std::string& path) {
  Scenario s;
  s.path = path;
  s.text = std::move(text);
  toml::table root;
  try {
    root = toml::parse(s.text, path);
  } catch (const toml::parse_error& e) {
    throw ScenarioError(fmt::format("{}:{}:{}: error: {}", path, e.source().begin.line, e.source().begin.column,
                                    e.description()));
  }
  Reader top(path, root, "");
  top.only({"scenario", "machine", "kernel", "sim", "run", "action", "expect"}, "the top level");

  std::optional<Reader> holder;
  s.name = file_stem(path);
  if (const Reader* r = sub(path, root, "scenario", holder)) {
    r->only({"name", "description"}, "[scenario]");
    s.name = r->string("name", s.name);
    if (!valid_name(s.name)) r->fail("name", fmt::format("expected letters, digits, '_', '-' or '.', got \"{}\"", s.name));
    s.description = r->string("description", "");
  }
  parse_machine(path, root, s);
  if (const Reader* r = sub(path, root, "kernel", holder)) parse_kernel(path, *r, s);
  if (const Reader* r = sub(path, root, "sim", holder)) parse_sim(*r, s);
  if (const Reader* r = sub(path, root, "run", holder)) parse_run(*r, s);

  if (const toml::node* n = root.get("action")) {
    const toml::array* arr = n->as_array();
    if (!arr || !arr->is_array_of_tables())
      top.fail("action", fmt::format("expected [[action]] tables, got {}", type_name(*n)));
    std::set<std::string> names;
    std::size_t index = 0;
    for (const toml::node& e : *arr) {
      ++index;
      Action a = parse_action(path, *e.as_table(), index, s);
      if (!names.insert(a.name).second)
        Reader(path, *e.as_table(), fmt::format("action[{}]", index))
            .fail("name", fmt::format("expected a unique action name, got \"{}\" a second time", a.name));
      s.actions.push_back(std::move(a));
    }
  }
  if (const Reader* r = sub(path, root, "expect", holder)) parse_expect(path, *r, s);
  return s;
}

Scenario load_scenario(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec))
    throw ScenarioError(fmt::format("{}: error: not a regular file", path));
  const std::optional<std::string> text = read_text_file(path);
  if (!text) throw ScenarioError(fmt::format("{}: error: cannot read the scenario file: {}", path, std::strerror(errno)));
  return parse_scenario(*text, path);
}

}  // namespace app
