// app/trace_events.cpp — see trace_events.hpp.
#include "app/trace_events.hpp"

#include <algorithm>

namespace app {

const std::vector<TraceEventInfo>& trace_events() {
  using L = sim::Level;
  static const std::vector<TraceEventInfo> v = {
      {"cpu", "cpu.active", L::Info},
      {"cpu", "cpu.online", L::Info},
      {"cpu", "smp.booted", L::Info},
      {"cpuhp", "cpuhp.alive_timeout", L::Warn},
      {"cpuhp", "cpuhp.ap_alive", L::Info},
      {"cpuhp", "cpuhp.ap_kick", L::Info},
      {"cpuhp", "cpuhp.dead_timeout", L::Warn},
      {"cpuhp", "cpuhp.done", L::Info},
      {"cpuhp", "cpuhp.fail", L::Info},
      {"cpuhp", "cpuhp.idle_dead", L::Info},
      {"cpuhp", "cpuhp.invoke", L::Info},
      {"cpuhp", "cpuhp.nofail", L::Warn},
      {"cpuhp", "cpuhp.op", L::Info},
      {"cpuhp", "cpuhp.remove_state", L::Info},
      {"cpuhp", "cpuhp.rollback", L::Info},
      {"cpuhp", "cpuhp.setup_state", L::Info},
      {"cpuhp", "cpuhp.smt_control", L::Info},
      {"cpuhp", "cpuhp.sync", L::Info},
      {"cpuhp", "cpuhp.warn", L::Warn},
      {"cpuhp", "sched.migrate", L::Info},
      {"irq", "irq.entry", L::Debug},
      {"irq", "irq.off", L::Debug},
      {"irq", "irq.on", L::Debug},
      {"irq", "nmi.entry", L::Debug},
      {"kernel", "kernel.report", L::Warn},
      {"kthread", "kthread.park", L::Info},
      {"kthread", "kthread.park_warn", L::Warn},
      {"kthread", "kthread.unpark", L::Info},
      {"kthread", "kthread.unpark_warn", L::Warn},
      {"kthread", "kthread.warn", L::Warn},
      {"rcu", "rcu.eqs", L::Debug},
      {"rcu", "rcu.gp.end", L::Info},
      {"rcu", "rcu.gp.start", L::Info},
      {"rcu", "rcu.qs", L::Debug},
      {"scenario", "scn.begin", L::Info},
      {"scenario", "scn.call", L::Info},
      {"scenario", "scn.end", L::Info},
      {"scenario", "scn.fault", L::Info},
      {"scenario", "scn.ret", L::Info},
      {"scenario", "scn.skip", L::Info},
      {"scenario", "scn.start", L::Info},
      {"scenario", "scn.trigger", L::Info},
      {"sched", "sched.exit", L::Info},
      {"sched", "sched.fallback", L::Info},
      {"sched", "sched.switch", L::Info},
      {"sched", "sched.wakelist", L::Debug},
      {"sched", "sched.wakeup", L::Debug},
      {"sim", "sim.failure", L::Error},
      {"smpboot", "smpboot.create_warn", L::Warn},
      {"smpboot", "smpboot.park", L::Info},
      {"smpboot", "smpboot.setup", L::Info},
      {"smpboot", "smpboot.unpark", L::Info},
      {"stop_machine", "msm.ack", L::Info},
      {"stop_machine", "msm.fn", L::Info},
      {"stop_machine", "msm.state", L::Info},
      {"stop_machine", "stop.disable", L::Info},
      {"stop_machine", "stop.done", L::Info},
      {"stop_machine", "stop.enable", L::Info},
      {"stop_machine", "stop.park", L::Info},
      {"stop_machine", "stop.queue", L::Info},
      {"stop_machine", "stop.reject", L::Info},
      {"stop_machine", "stop.start", L::Info},
      {"stop_machine", "stop.warn", L::Warn},
      {"watchdog", "wd.disable", L::Info},
      {"watchdog", "wd.enable", L::Info},
      {"watchdog", "wd.touch", L::Debug},
  };
  return v;
}

const std::vector<std::string>& trace_subsystems() {
  static const std::vector<std::string> v = [] {
    std::vector<std::string> out;
    for (const auto& e : trace_events())
      if (out.empty() || out.back() != e.subsys) out.emplace_back(e.subsys);
    return out;
  }();
  return v;
}

const TraceEventInfo* find_trace_event(std::string_view name) {
  for (const auto& e : trace_events())
    if (e.name == name) return &e;
  return nullptr;
}

namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

std::vector<std::string> close_trace_events(std::string_view name) {
  std::vector<std::string> out;
  for (const auto& e : trace_events())
    if (edit_distance(name, e.name) <= 2) out.emplace_back(e.name);
  if (!out.empty()) return out;
  // Nothing near: the events of the same family ("cpuhp." for "cpuhp.whatever").
  const std::string_view family = name.substr(0, name.find('.') + 1);
  for (const auto& e : trace_events())
    if (!family.empty() && std::string_view(e.name).substr(0, family.size()) == family) out.emplace_back(e.name);
  return out;
}

}  // namespace app
