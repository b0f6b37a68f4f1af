// app/chrome_trace.hpp
// Chrome Trace Event JSON (opens in Perfetto UI and chrome://tracing) built from a run's trace
// events. One process per simulated machine; per CPU a group of adjacent tracks:
//   cpuN            the running task, as slices (from sched.switch / sched.exit; idle not drawn)
//   cpuN irqs off   windows with interrupts disabled      (polled after every step)
//   cpuN preempt off windows with preemption disabled     (polled after every step)
//   cpuN stopper    stopper works (stop.start..stop.done) and multi_cpu_stop states (msm.ack)
//   cpuN hotplug    cpu_up/cpu_down operations (cpuhp.op..cpuhp.done), callbacks as instants,
//                   and a counter track of the CPU's hotplug state
// plus an "RCU" track (grace periods), one track per scenario action (its calls), and failures
// and detector reports as instant events. Timestamps are virtual time in microseconds.
#pragma once

#include "sim/sim.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace app {

class ChromeTrace {
 public:
  explicit ChromeTrace(std::string process_name);
  ~ChromeTrace();
  ChromeTrace(const ChromeTrace&) = delete;
  ChromeTrace& operator=(const ChromeTrace&) = delete;

  /// Adds a sink to `trace` that feeds this collector (call before the run starts).
  void attach(sim::Trace& trace, unsigned nr_cpus);
  /// Polled per-CPU state, reported after each step with the CPU's clock.
  void cpu_state(unsigned cpu, sim::Time t, bool irqs_off, bool preempt_off);
  /// One trace event (what the sink calls).
  void on_event(const sim::TraceContext& ctx, std::string_view subsys, std::string_view level,
                std::string_view payload);
  /// Closes every open slice at `end`.
  void finish(sim::Time end);
  void write(std::ostream& os) const;
  std::size_t size() const { return events_.size(); }

 private:
  struct Ev {
    char ph;
    std::int64_t ts_ns;
    std::int64_t dur_ns;
    std::int64_t tid;
    std::string name;
    std::vector<std::pair<std::string, std::string>> args;
    char scope = 0;  ///< instant events: 'g' global, 't' thread
  };
  struct Open {
    bool open = false;
    std::int64_t since = 0;
    std::string name;
    std::vector<std::pair<std::string, std::string>> args;
  };
  struct CpuTracks {
    Open task, irq, preempt, work, op;
    std::int64_t last_ack = 0;
  };
  enum Track { kTask = 0, kIrq = 1, kPreempt = 2, kStopper = 3, kHotplug = 4 };
  static std::int64_t tid(unsigned cpu, Track k) { return static_cast<std::int64_t>(cpu) * 8 + k + 1; }
  static constexpr std::int64_t kRcuTid = 1'000'000;
  static constexpr std::int64_t kActionTid = 1'000'001;

  using Fields = std::vector<std::pair<std::string, std::string>>;
  /// Per-CPU events (scheduling, stopper, multi_cpu_stop, hotplug); false if `name` is not one.
  bool cpu_event(const sim::TraceContext& ctx, const std::string& name, const Fields& f);
  /// RCU, scenario actions, reports and failures.
  void global_event(const sim::TraceContext& ctx, std::string_view level, const std::string& name, const Fields& f);
  CpuTracks& cpu(int c);
  void open(Open& o, std::int64_t t, std::string name, std::vector<std::pair<std::string, std::string>> args = {});
  void close(Open& o, std::int64_t t, std::int64_t tid);
  void push(Ev e);
  std::int64_t action_tid(const std::string& name);

  std::string process_name_;
  std::vector<CpuTracks> cpus_;
  std::map<std::string, std::int64_t> action_tids_;
  std::map<std::string, Open> action_open_;
  std::map<std::string, std::int64_t> msdata_prepare_;  ///< msdata id -> time of its PREPARE
  Open gp_;
  std::vector<Ev> events_;
  bool truncated_ = false;
};

}  // namespace app
