// app/fns.cpp — the named callback library (see fns.hpp). The callbacks only call the model's
// public kernel API (busy_loop, local_irq_save, stop_machine_from_inactive_cpu, ...); the one
// check they make (check_quiescent) reads scheduler state and reports through Sim::fail.
#include "app/fns.hpp"

#include <fmt/format.h>

#include <charconv>
#include <memory>
#include <optional>

namespace app {

namespace {

enum class Param { None, Duration, Int, StopFn };

struct Entry {
  FnInfo info;
  const char* base;
  Param param;
};

const std::vector<Entry>& stop_entries() {
  static const std::vector<Entry> e = {
      {{"nop", "returns 0"}, "nop", Param::None},
      {{"count", "returns 0; its calls are counted as fn.count and fn.count.cpu<N>"}, "count", Param::None},
      {{"ret_eio", "returns -EIO (-5)"}, "ret_eio", Param::None},
      {{"ret:N", "returns the integer N, e.g. ret:-22"}, "ret", Param::Int},
      {{"spin:DUR", "busy-loops DUR with interrupts as they are (off inside multi_cpu_stop), no watchdog touch"},
       "spin", Param::Duration},
      {{"spin_irqsoff:DUR", "disables interrupts, busy-loops DUR, restores them"}, "spin_irqsoff", Param::Duration},
      {{"spin_2ms_irqsoff", "spin_irqsoff:2ms"}, "spin_2ms_irqsoff", Param::None},
      {{"spin_touch:DUR", "busy-loops DUR touching the NMI and soft-lockup watchdogs"}, "spin_touch", Param::Duration},
      {{"check_quiescent",
        "fails the run (kind check_quiescent) unless every active CPU and this one are inside multi_cpu_stop past "
        "DISABLE_IRQ with interrupts off; returns 0"},
       "check_quiescent", Param::None},
      {{"sleep:DUR", "sleeps DUR (schedule_timeout_uninterruptible): a bug in a stop callback"}, "sleep",
       Param::Duration},
  };
  return e;
}

const std::vector<Entry>& hotplug_entries() {
  static const std::vector<Entry> e = {
      {{"nop", "returns 0"}, "nop", Param::None},
      {{"count", "returns 0 (every callback's calls are counted as <action>.startup / <action>.teardown)"}, "count",
       Param::None},
      {{"spin:DUR", "busy-loops DUR (interrupts off in STARTING/DYING states)"}, "spin", Param::Duration},
      {{"sleep:DUR", "sleeps DUR; only valid in states whose callbacks may sleep (PREPARE, ONLINE)"}, "sleep",
       Param::Duration},
      {{"stop_machine_from_inactive_cpu:FN",
        "calls stop_machine_from_inactive_cpu(FN, NULL, NULL) and returns its result; for STARTING states"},
       "stop_machine_from_inactive_cpu", Param::StopFn},
  };
  return e;
}

std::vector<FnInfo> infos(const std::vector<Entry>& es) {
  std::vector<FnInfo> out;
  for (const auto& e : es) out.push_back(e.info);
  return out;
}

struct Parsed {
  const Entry* entry = nullptr;
  sim::Duration dur;
  int value = 0;
  std::string inner;  // StopFn parameter
};

std::string parse_spec(std::string_view spec, const std::vector<Entry>& table, const char* what, Parsed& out) {
  const auto colon = spec.find(':');
  const std::string_view base = spec.substr(0, colon);
  const std::string_view param = colon == std::string_view::npos ? std::string_view{} : spec.substr(colon + 1);
  for (const auto& e : table) {
    if (base != e.base) continue;
    out.entry = &e;
    if (e.param == Param::None) {
      if (colon != std::string_view::npos) return fmt::format("{} '{}' takes no parameter", what, base);
      return {};
    }
    if (colon == std::string_view::npos || param.empty())
      return fmt::format("{} '{}' needs a parameter: {}", what, base, e.info.name);
    switch (e.param) {
      case Param::Duration:
        if (!sim::parse_duration(std::string(param), out.dur) || out.dur < sim::Duration::ns(0))
          return fmt::format("{}: '{}' is not a duration such as 2ms", e.info.name, param);
        return {};
      case Param::Int: {
        const auto* end = param.data() + param.size();
        const auto r = std::from_chars(param.data(), end, out.value);
        if (r.ec != std::errc{} || r.ptr != end) return fmt::format("{}: '{}' is not an integer", e.info.name, param);
        return {};
      }
      case Param::StopFn: {
        out.inner = std::string(param);
        Parsed inner;
        return parse_spec(param, stop_entries(), "stop callback", inner);
      }
      case Param::None: break;
    }
    return {};
  }
  std::string names;
  for (const auto& e : table) names += fmt::format("{}{}", names.empty() ? "" : ", ", e.info.name);
  return fmt::format("unknown {} '{}' (known: {})", what, base, names);
}

Parsed must_parse(std::string_view spec, const std::vector<Entry>& table, const char* what) {
  Parsed p;
  const std::string err = parse_spec(spec, table, what, p);
  SIM_ASSERT_MSG(err.empty(), "callback spec was not validated");
  return p;
}

void check_quiescent() {
  using namespace model;
  auto& k = kernel();
  const unsigned me = smp_processor_id();
  for (unsigned c = 0; c < k.nr_cpu_ids; ++c) {
    if (c != me && !cpu_active(c)) continue;
    const rq* r = cpu_rq(c);
    if (r->msm_cur >= MULTI_STOP_DISABLE_IRQ && r->irqs_disabled) continue;
    k.sim.fail("check_quiescent",
               fmt::format("check_quiescent on cpu{}: cpu{} is not quiescent (multi_cpu_stop state {}, irqs {})", me, c,
                           r->msm_cur < 0 ? "none" : multi_stop_state_name(r->msm_cur),
                           r->irqs_disabled ? "off" : "on"),
               "check_quiescent");
    return;
  }
}

}  // namespace

const std::vector<FnInfo>& stop_fn_catalog() {
  static const std::vector<FnInfo> v = infos(stop_entries());
  return v;
}

const std::vector<FnInfo>& hotplug_cb_catalog() {
  static const std::vector<FnInfo> v = infos(hotplug_entries());
  return v;
}

std::string check_stop_fn(std::string_view spec) {
  Parsed p;
  return parse_spec(spec, stop_entries(), "stop callback", p);
}

std::string check_hotplug_cb(std::string_view spec) {
  Parsed p;
  return parse_spec(spec, hotplug_entries(), "hotplug callback", p);
}

void Counters::add(std::string_view key, std::int64_t d) {
  auto it = m_.find(key);
  if (it == m_.end()) it = m_.emplace(std::string(key), 0).first;
  it->second += d;
}

std::int64_t Counters::get(std::string_view key) const {
  auto it = m_.find(key);
  return it == m_.end() ? 0 : it->second;
}

model::cpu_stop_fn_t make_stop_fn(std::string_view spec, Counters& counters, const char* name) {
  using namespace model;
  const Parsed p = must_parse(spec, stop_entries(), "stop callback");
  const std::string base = p.entry->base;
  const std::string key = fmt::format("fn.{}", spec);
  return cpu_stop_fn_t(
      [&counters, key, base, dur = p.dur, value = p.value](void*) -> int {
        const unsigned cpu = smp_processor_id();
        counters.add(key);
        counters.add(fmt::format("{}.cpu{}", key, cpu));
        if (base == "ret_eio") return -EIO;
        if (base == "ret") return value;
        if (base == "spin") busy_loop(dur);
        if (base == "spin_touch") busy_loop(dur, /*touch_watchdog=*/true);
        if (base == "spin_irqsoff" || base == "spin_2ms_irqsoff") {
          const unsigned long flags = local_irq_save();
          busy_loop(base == "spin_irqsoff" ? dur : sim::Duration::ns(2'000'000));
          local_irq_restore(flags);
        }
        if (base == "check_quiescent") check_quiescent();
        if (base == "sleep") schedule_timeout_uninterruptible(dur);
        return 0;
      },
      name);
}

model::cpuhp_single_cb make_hotplug_cb(std::string_view spec, Counters& counters, std::string counter, FailPlan fail,
                                       const char* stop_fn_name) {
  using namespace model;
  const Parsed p = must_parse(spec, hotplug_entries(), "hotplug callback");
  const std::string base = p.entry->base;
  std::optional<cpu_stop_fn_t> inner;
  if (p.entry->param == Param::StopFn) inner = make_stop_fn(p.inner, counters, stop_fn_name);
  auto failed = std::make_shared<std::uint32_t>(0);
  return [&counters, counter, base, dur = p.dur, inner, fail, failed](unsigned cpu) -> int {
    for (unsigned f : fail.cpus) {
      if (f != cpu || (fail.times != 0 && *failed >= fail.times)) continue;
      ++*failed;
      counters.add(counter + "_failed");
      return fail.ret;
    }
    counters.add(counter);
    counters.add(fmt::format("{}.cpu{}", counter, cpu));
    if (base == "spin") busy_loop(dur);
    if (base == "sleep") schedule_timeout_uninterruptible(dur);
    if (inner) return stop_machine_from_inactive_cpu(*inner, nullptr, nullptr);
    return 0;
  };
}

}  // namespace app
