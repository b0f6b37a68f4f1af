// app/trace_tools.hpp
// `smpsim trace show` and `smpsim trace diff`: reading trace files written by --trace (text, as
// docs/trace-format.md describes, or JSON Lines), filtering them by CPU, time and event name, and
// locating the first divergence of two traces with context on each side.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace app {

/// One trace line's header fields.
struct TraceLine {
  std::int64_t t_ns = 0;
  int cpu = -1;
  std::string task;
  std::string event;
};

/// Parses a text line ("[    0.001234] cpu2 task event k=v") or a JSON Lines object.
bool parse_trace_line(std::string_view line, TraceLine& out);

/// "1500us", "2ms", "21s", "0.001234" (seconds, as the trace prints them). False if malformed.
bool parse_time_arg(const std::string& text, std::int64_t& ns);

struct TraceFilter {
  std::optional<int> cpu;             ///< -1 selects engine-level lines ("cpu-")
  std::optional<std::int64_t> from_ns, to_ns;  ///< inclusive
  std::string event;                  ///< exact name, or a glob with '*' ("msm.*")
};

/// Prints the lines of `path` that pass the filter. Returns 0, or 2 if the file is unreadable or
/// holds a line that is not a trace line (reported with its line number).
int trace_show(const std::string& path, const TraceFilter& f, std::ostream& out, std::ostream& err);

/// Prints the first divergence of two traces with `context` lines on each side. Returns 0 if the
/// traces are identical, 1 if they differ, 2 if a file is unreadable.
int trace_diff(const std::string& a, const std::string& b, std::ostream& out, std::ostream& err,
               std::size_t context = 3);

}  // namespace app
