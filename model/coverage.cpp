// model/coverage.cpp — see coverage.hpp.
#include "model/coverage.hpp"

#include "model/cpu.hpp"
#include "model/stop_machine.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace model {

std::vector<std::string> model_probe_names() {
  std::vector<std::string> names = {
      "cpuhp: rollback",
      "cpuhp: takedown_cpu refused",
      "cpuhp: AP failed to report alive",
      "cpuhp: AP failed to report dead",
      "cpuhp: bring-up refused, AP in limbo",
      "cpuhp: SMT sibling booted once, sent back offline",
      "stop: work rejected by a disabled stopper",
      "stop: two works back off for stop_cpus_in_progress",
      "sched: balance_push hands a task on the outgoing cpu to its stopper",
      "sched: idle balance queues an active balance on a busy cpu",
  };
  for (int s = MULTI_STOP_PREPARE; s <= MULTI_STOP_EXIT; ++s) {
    names.push_back(fmt::format("msm {} observed", multi_stop_state_name(s)));
    names.push_back(fmt::format("msm {} observed (active)", multi_stop_state_name(s)));
    if (s > MULTI_STOP_PREPARE && s < MULTI_STOP_EXIT) names.push_back(fmt::format("msm {} waited", multi_stop_state_name(s)));
  }
  // The default states that have a callback in each direction, plus the dynamic ranges.
  static const std::pair<int, const char*> steps[] = {
      {CPUHP_CREATE_THREADS, "up"}, {CPUHP_RCUTREE_PREP, "up"}, {CPUHP_RCUTREE_PREP, "down"},
      {CPUHP_BRINGUP_CPU, "up"}, {CPUHP_BRINGUP_CPU, "down"}, {CPUHP_AP_SCHED_STARTING, "up"},
      {CPUHP_AP_SCHED_STARTING, "down"}, {CPUHP_AP_RCUTREE_DYING, "down"}, {CPUHP_TEARDOWN_CPU, "down"},
      {CPUHP_AP_SCHED_WAIT_EMPTY, "down"}, {CPUHP_AP_SMPBOOT_THREADS, "up"}, {CPUHP_AP_SMPBOOT_THREADS, "down"},
      {CPUHP_AP_WATCHDOG_ONLINE, "up"}, {CPUHP_AP_WATCHDOG_ONLINE, "down"}, {CPUHP_AP_RCUTREE_ONLINE, "up"},
      {CPUHP_AP_RCUTREE_ONLINE, "down"}, {CPUHP_AP_ACTIVE, "up"}, {CPUHP_AP_ACTIVE, "down"}};
  for (const auto& [s, dir] : steps) names.push_back(fmt::format("cpuhp {} {}", cpuhp_state_name(s), dir));
  for (const char* dyn : {"CPUHP_BP_PREPARE_DYN*", "CPUHP_AP_ONLINE_DYN*"})
    for (const char* dir : {"up", "down"}) names.push_back(fmt::format("cpuhp {} {}", dyn, dir));
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace model
