// app/trace_events.hpp
// Every trace event smpsim can emit: its subsystem, name and level. Scenario triggers (`on`) and
// `--log SUBSYS=LEVEL` are checked against it, so a misspelt name is an error instead of an
// action that never fires or a level that changes nothing. Kept by hand next to the model's trace
// calls; tests/app/trace_events_test.cpp fails when a call site or a run emits an event it lacks.
#pragma once

#include "sim/trace.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace app {

struct TraceEventInfo {
  const char* subsys;
  const char* name;
  sim::Level level;
};

/// Sorted by subsystem, then name.
const std::vector<TraceEventInfo>& trace_events();
/// The subsystems of trace_events(), sorted, without duplicates.
const std::vector<std::string>& trace_subsystems();
/// The entry of an event name, or nullptr.
const TraceEventInfo* find_trace_event(std::string_view name);
/// The event names close to `name` (misspelt, or else of the same family), for messages.
std::vector<std::string> close_trace_events(std::string_view name);

}  // namespace app
