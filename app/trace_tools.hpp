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
#include <utility>
#include <vector>

namespace app {

/// One trace line: its header and its event.
struct TraceLine {
  std::int64_t t_ns = 0;
  int cpu = -1;
  std::string task;
  std::string event;
  std::vector<std::pair<std::string, std::string>> fields;  ///< in the order written
  bool micros = false;  ///< a text line: t_ns was printed to the microsecond only
  /// A text line whose payload is not "event k=v...": fields is {msg: payload}, as the JSON Lines
  /// writer records such an event (under the name "text").
  bool raw = false;
};

/// Parses a text line ("[    0.001234] cpu2 task event k=v") or a JSON Lines object. Fields that
/// JSON Lines writes with a "_" suffix (a name clashing with a fixed key) get their own name back.
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

/// Prints the first divergence of two traces with `context` lines on each side. Both files are
/// read as trace_show reads them, in either format, and compared event by event (time, CPU, task,
/// name, fields), so the text and the JSON Lines trace of one run are the same; a time is compared
/// to the microsecond when either side is text. Returns 0 if the traces hold the same events, 1 if
/// they differ, 2 if a file is unreadable or holds a line that is not a trace line (as diff(1)).
int trace_diff(const std::string& a, const std::string& b, std::ostream& out, std::ostream& err,
               std::size_t context = 3);

}  // namespace app
