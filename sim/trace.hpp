// sim/trace.hpp
// Structured trace events through spdlog. Every event has a subsystem (one spdlog logger each:
// "sim", "sched", "stop_machine", ...), a level, a stable event name and key=value fields:
//   [    0.001234] cpu2 migration/2 msm.state from=PREPARE to=DISABLE_IRQ
// The prefix comes from a custom spdlog formatter that reads the simulation context (virtual
// time, CPU, task), never wall time, thread ids or pointers. Events at Info and above always
// feed the trace hash, whatever the output levels, so `--log x=warn` does not change a run's
// hash. Sinks: text (file or stream), JSON Lines, and any spdlog sink a caller adds.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace spdlog {
class logger;
namespace sinks {
class sink;
}
}  // namespace spdlog

namespace sim {

enum class Level { Trace = 0, Debug = 1, Info = 2, Warn = 3, Error = 4, Off = 6 };
const char* to_string(Level l);
bool level_from_string(std::string_view s, Level& out);

/// What the formatter prints before the event: virtual time, CPU (or -1) and task name.
struct TraceContext {
  std::int64_t time_ns = 0;
  int cpu = -1;
  std::string_view task = "-";
};

/// One parsed event (for JSON and Chrome writers and tests).
struct TraceRecord {
  std::int64_t time_ns = 0;
  int cpu = -1;
  std::string task;
  std::string subsys;
  std::string level;
  std::string name;
  std::vector<std::pair<std::string, std::string>> fields;
};
/// Splits "name k=v k=\"v w\"" into name and fields. Returns false if malformed.
bool parse_event_payload(std::string_view payload, std::string& name,
                         std::vector<std::pair<std::string, std::string>>& fields);

class Trace {
 public:
  using ContextFn = std::function<TraceContext()>;
  explicit Trace(ContextFn context);
  ~Trace();
  Trace(const Trace&) = delete;
  Trace& operator=(const Trace&) = delete;

  /// Output level for one subsystem (or "*" for all, including ones created later).
  void set_level(std::string_view subsys, Level level);
  Level level(std::string_view subsys);
  /// True if an event at `level` in `subsys` would be hashed, observed or printed. Callers with
  /// costly fields test this first; event() does it for them.
  bool enabled(std::string_view subsys, Level level);

  /// Whether Info+ events feed the trace hash (default on). A campaign run whose hash nobody
  /// reads turns it off: with no sink, observer or hash wanting an event, it is never formatted.
  /// The run itself is the same either way; only hash() differs.
  void set_hashing(bool on) { hashing_ = on; }
  bool hashing() const { return hashing_; }

  void add_text_sink(std::ostream& os);
  void add_jsonl_sink(std::ostream& os);
  void add_sink(std::shared_ptr<spdlog::sinks::sink> sink);
  /// Called for every hashed (Info+) event, with its formatted line (for ring buffers, tests).
  void add_observer(std::function<void(const TraceContext&, std::string_view line)> fn);

  /// Emits "name fields" at `level`; `fields` is already formatted as k=v pairs.
  void emit(std::string_view subsys, Level level, std::string_view name, std::string_view fields);
  /// Formats the fields only if somebody consumes the event (into a stack buffer: no allocation
  /// for ordinary events).
  /// The test for "nobody wants it" is inlined at every call site; the formatting is not (a
  /// campaign run makes hundreds of thousands of these calls, nearly all wanted by nobody).
  template <class... Args>
  [[gnu::always_inline]] void event(std::string_view subsys, Level level, std::string_view name,
                                    fmt::format_string<Args...> f, Args&&... args) {
    if (Sink* to = consumer(subsys, level)) format_event(*to, level, name, f, std::forward<Args>(args)...);
  }

  std::uint64_t hash() const { return hash_; }
  void flush();

  struct Impl;
  struct Sink;  ///< one subsystem's logger and output level

 private:
  /// The subsystem's record if an event at `level` would be hashed, observed or printed. With no
  /// hash and nothing attached (the campaign case) that is decided inline, without a call.
  Sink* consumer(std::string_view subsys, Level level) {
    return hashing_ || attached_ ? consumer_of(subsys, level) : nullptr;
  }
  Sink* consumer_of(std::string_view subsys, Level level);
  template <class... Args>
  [[gnu::noinline]] void format_event(Sink& to, Level level, std::string_view name, fmt::format_string<Args...> f,
                                      Args&&... args) {
    fmt::memory_buffer buf;
    fmt::format_to(std::back_inserter(buf), f, std::forward<Args>(args)...);
    emit_to(to, level, name, std::string_view(buf.data(), buf.size()));
  }
  void emit_to(Sink& s, Level level, std::string_view name, std::string_view fields);

  std::unique_ptr<Impl> impl_;
  bool hashing_ = true;
  bool attached_ = false;  ///< a sink or an observer was added
  std::uint64_t hash_ = 0xcbf29ce484222325ULL;
};

/// Formats a complete text line (without newline) as the text sink prints it.
std::string format_trace_line(const TraceContext& ctx, std::string_view payload);

}  // namespace sim
