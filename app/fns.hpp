// app/fns.hpp
// The library of named callbacks a scenario can pass to the kernel: stop callbacks
// (int fn(void *arg), for the stop_machine family) and CPU-hotplug callbacks
// (int cb(unsigned cpu), for cpuhp_setup_state). A name may carry one parameter after a colon:
// "spin_irqsoff:2ms", "ret:-22". Every call is counted (Counters) so scenarios can check how
// often and where a callback ran. `smpsim list fns` prints the catalogue.
#pragma once

#include "model/cpu.hpp"
#include "model/stop_machine.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace app {

struct FnInfo {
  const char* name;     ///< as written in a scenario ("spin_irqsoff:DUR")
  const char* summary;  ///< one line
};

const std::vector<FnInfo>& stop_fn_catalog();
const std::vector<FnInfo>& hotplug_cb_catalog();

/// Empty if `spec` names a library stop callback, else what is wrong with it.
std::string check_stop_fn(std::string_view spec);
/// Empty if `spec` names a library hotplug callback, else what is wrong with it.
std::string check_hotplug_cb(std::string_view spec);

/// Named event counters of one run, ordered by name (output never depends on hash order).
class Counters {
 public:
  void add(std::string_view key, std::int64_t d = 1);
  std::int64_t get(std::string_view key) const;
  const std::map<std::string, std::int64_t, std::less<>>& all() const { return m_; }

 private:
  std::map<std::string, std::int64_t, std::less<>> m_;
};

/// A stop callback for `spec` (validated). Each call adds to "fn.<spec>" and "fn.<spec>.cpu<N>".
/// `name` must outlive the kernel (it is printed in traces and stop info).
model::cpu_stop_fn_t make_stop_fn(std::string_view spec, Counters& counters, const char* name);

/// When an installed hotplug callback returns an error instead of running.
struct FailPlan {
  std::vector<unsigned> cpus;  ///< fail on these CPUs
  int ret = -5;
  std::uint32_t times = 0;     ///< 0 = every time
};

/// A hotplug callback for `spec` (validated). Calls add to "<counter>" and "<counter>.cpu<N>";
/// injected failures add to "<counter>_failed". `stop_fn_name` outlives the kernel.
model::cpuhp_single_cb make_hotplug_cb(std::string_view spec, Counters& counters, std::string counter, FailPlan fail,
                                       const char* stop_fn_name);

}  // namespace app
