#include "sim/trace.hpp"

#include "sim/assert.hpp"
#include "sim/rng.hpp"
#include "sim/time.hpp"

#include <spdlog/formatter.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>
#include <iterator>
#include <mutex>

namespace sim {

const char* to_string(Level l) {
  switch (l) {
    case Level::Trace: return "trace";
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warn: return "warn";
    case Level::Error: return "error";
    case Level::Off: return "off";
  }
  return "?";
}

bool level_from_string(std::string_view s, Level& out) {
  static constexpr std::pair<std::string_view, Level> table[] = {
      {"trace", Level::Trace}, {"debug", Level::Debug}, {"info", Level::Info},
      {"warn", Level::Warn},   {"error", Level::Error}, {"off", Level::Off}};
  for (const auto& [name, lvl] : table)
    if (s == name) { out = lvl; return true; }
  return false;
}

static spdlog::level::level_enum to_spd(Level l) { return static_cast<spdlog::level::level_enum>(static_cast<int>(l)); }

namespace {

// "[    1.000200] cpu3 task " — the prefix of every text line (format_dmesg's layout).
void append_line_head(fmt::memory_buffer& out, const TraceContext& ctx) {
  const std::int64_t ns = ctx.time_ns;
  fmt::format_to(std::back_inserter(out), "[{:5}.{:06}] ", ns / 1000000000, (ns / 1000) % 1000000);
  if (ctx.cpu >= 0) fmt::format_to(std::back_inserter(out), "cpu{} ", ctx.cpu);
  else out.append(std::string_view("cpu- "));
  out.append(ctx.task);
  out.push_back(' ');
}

}  // namespace

std::string format_trace_line(const TraceContext& ctx, std::string_view payload) {
  fmt::memory_buffer buf;
  append_line_head(buf, ctx);
  buf.append(payload);
  return fmt::to_string(buf);
}

bool parse_event_payload(std::string_view p, std::string& name,
                         std::vector<std::pair<std::string, std::string>>& fields) {
  fields.clear();
  std::size_t i = p.find(' ');
  name = std::string(p.substr(0, i));
  if (name.empty()) return false;
  while (i != std::string_view::npos && i < p.size()) {
    while (i < p.size() && p[i] == ' ') ++i;
    if (i >= p.size()) break;
    const std::size_t eq = p.find('=', i);
    if (eq == std::string_view::npos) return false;
    std::string key(p.substr(i, eq - i));
    if (key.empty() || key.find(' ') != std::string::npos) return false;
    std::string value;
    std::size_t j = eq + 1;
    if (j < p.size() && p[j] == '"') {
      ++j;
      while (j < p.size() && p[j] != '"') {
        if (p[j] == '\\' && j + 1 < p.size()) ++j;
        value += p[j++];
      }
      if (j >= p.size()) return false;
      ++j;
    } else {
      while (j < p.size() && p[j] != ' ') value += p[j++];
    }
    fields.emplace_back(std::move(key), std::move(value));
    i = j;
  }
  return true;
}

namespace {

// spdlog formatter: the simulation prefix, then the payload. Reads no wall clock.
class SimFormatter final : public spdlog::formatter {
 public:
  explicit SimFormatter(Trace::ContextFn ctx) : ctx_(std::move(ctx)) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string line = format_trace_line(ctx_(), std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(line.data(), line.data() + line.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<SimFormatter>(ctx_); }

 private:
  Trace::ContextFn ctx_;
};

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", static_cast<int>(c));
        else out += c;
    }
  }
  return out;
}

// JSON Lines: one object per event, fields parsed back out of the structured payload.
class JsonlSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  JsonlSink(std::ostream& os, Trace::ContextFn ctx) : os_(os), ctx_(std::move(ctx)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const TraceContext c = ctx_();
    std::string name;
    std::vector<std::pair<std::string, std::string>> fields;
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    if (!parse_event_payload(payload, name, fields)) {
      name = "text";
      fields = {{"msg", std::string(payload)}};
    }
    std::string line = fmt::format(R"({{"t":{},"cpu":{},"task":"{}","subsys":"{}","level":"{}","event":"{}")",
                                   c.time_ns, c.cpu, json_escape(c.task),
                                   json_escape(std::string_view(msg.logger_name.data(), msg.logger_name.size())),
                                   to_string(static_cast<Level>(msg.level)), json_escape(name));
    // An event field named like a reserved key ("cpu" of cpuhp.invoke) gets a "_" suffix, so each
    // object has unique keys and "cpu" is always the emitting CPU.
    static constexpr std::string_view reserved[] = {"t", "cpu", "task", "subsys", "level", "event"};
    for (const auto& [k, v] : fields) {
      const bool clash = std::find(std::begin(reserved), std::end(reserved), k) != std::end(reserved);
      line += fmt::format(R"(,"{}{}":"{}")", json_escape(k), clash ? "_" : "", json_escape(v));
    }
    line += "}\n";
    os_ << line;
  }
  void flush_() override { os_.flush(); }

 private:
  std::ostream& os_;
  Trace::ContextFn ctx_;
};

// Per-logger level gate in front of a shared sink, so each subsystem has its own output level
// while the logger itself stays open down to Info for the hash.
class GateSink final : public spdlog::sinks::sink {
 public:
  explicit GateSink(std::shared_ptr<spdlog::sinks::sink> inner) : inner_(std::move(inner)) {}
  void log(const spdlog::details::log_msg& msg) override {
    if (should_log(msg.level)) inner_->log(msg);
  }
  void flush() override { inner_->flush(); }
  void set_pattern(const std::string&) override {}
  void set_formatter(std::unique_ptr<spdlog::formatter>) override {}

 private:
  std::shared_ptr<spdlog::sinks::sink> inner_;
};

}  // namespace

struct Trace::Sink {
  std::string name;
  std::shared_ptr<spdlog::logger> logger;
  std::vector<std::shared_ptr<GateSink>> gates;
  Level level = Level::Info;
  /// An event at `l` reaches a sink (the gates pass exactly these).
  bool prints(Level l) const { return !gates.empty() && l >= level && l != Level::Off; }
};

struct Trace::Impl {
  using Subsys = Trace::Sink;
  ContextFn context;
  // Few subsystems (about a dozen), looked up at every event: a flat list in creation order
  // beats a map of strings. unique_ptr keeps records in place as the list grows.
  std::vector<std::unique_ptr<Subsys>> subsystems;
  std::vector<std::shared_ptr<spdlog::sinks::sink>> sinks;
  std::vector<std::function<void(const TraceContext&, std::string_view)>> observers;
  Level default_level = Level::Info;
  std::map<std::string, Level, std::less<>> explicit_levels;

  Subsys& get(std::string_view name) {
    for (auto& s : subsystems)
      if (s->name == name) return *s;
    auto s = std::make_unique<Subsys>();
    s->name = std::string(name);
    s->logger = std::make_shared<spdlog::logger>(std::string(name));
    auto lv = explicit_levels.find(name);
    s->level = lv != explicit_levels.end() ? lv->second : default_level;
    for (const auto& sink : sinks) attach(*s, sink);
    s->logger->set_level(to_spd(std::min(s->level, Level::Info)));
    subsystems.push_back(std::move(s));
    return *subsystems.back();
  }
  void attach(Subsys& s, const std::shared_ptr<spdlog::sinks::sink>& sink) {
    auto gate = std::make_shared<GateSink>(sink);
    gate->set_level(to_spd(s.level));
    s.gates.push_back(gate);
    s.logger->sinks().push_back(gate);
  }
  void apply(Subsys& s, Level l) {
    s.level = l;
    for (auto& g : s.gates) g->set_level(to_spd(l));
    s.logger->set_level(to_spd(std::min(l, Level::Info)));
  }
};

Trace::Trace(ContextFn context) : impl_(std::make_unique<Impl>()) { impl_->context = std::move(context); }
Trace::~Trace() { flush(); }

void Trace::set_level(std::string_view subsys, Level level) {
  if (subsys == "*") {
    impl_->default_level = level;
    for (auto& s : impl_->subsystems)
      if (!impl_->explicit_levels.count(s->name)) impl_->apply(*s, level);
    return;
  }
  impl_->explicit_levels[std::string(subsys)] = level;
  impl_->apply(impl_->get(subsys), level);
}

Level Trace::level(std::string_view subsys) { return impl_->get(subsys).level; }

// Info and above feed the hash and the observers (Off is a level for set_level only).
static bool hashable(Level l) { return l >= Level::Info && l != Level::Off; }

Trace::Sink* Trace::consumer_of(std::string_view subsys, Level level) {
  Sink& s = impl_->get(subsys);
  const bool hashed = hashable(level) && (hashing_ || !impl_->observers.empty());
  return hashed || s.prints(level) ? &s : nullptr;
}

bool Trace::enabled(std::string_view subsys, Level level) { return consumer(subsys, level) != nullptr; }

void Trace::add_sink(std::shared_ptr<spdlog::sinks::sink> sink) {
  sink->set_formatter(std::make_unique<SimFormatter>(impl_->context));
  impl_->sinks.push_back(sink);
  attached_ = true;
  for (auto& s : impl_->subsystems) impl_->attach(*s, sink);
}

void Trace::add_text_sink(std::ostream& os) {
  add_sink(std::make_shared<spdlog::sinks::ostream_sink_st>(os, false));
}

void Trace::add_jsonl_sink(std::ostream& os) { add_sink(std::make_shared<JsonlSink>(os, impl_->context)); }

void Trace::add_observer(std::function<void(const TraceContext&, std::string_view)> fn) {
  impl_->observers.push_back(std::move(fn));
  attached_ = true;
}

void Trace::emit(std::string_view subsys, Level level, std::string_view name, std::string_view fields) {
  if (Sink* s = consumer(subsys, level)) emit_to(*s, level, name, fields);
}

void Trace::emit_to(Sink& s, Level level, std::string_view name, std::string_view fields) {
  if (hashable(level) && (hashing_ || !impl_->observers.empty())) {
    // The hashed bytes are the text line exactly as a text sink prints it (plus "\n"), built
    // in a stack buffer.
    const TraceContext ctx = impl_->context();
    fmt::memory_buffer line;
    append_line_head(line, ctx);
    line.append(name);
    if (!fields.empty()) {
      line.push_back(' ');
      line.append(fields);
    }
    const std::string_view text(line.data(), line.size());
    if (hashing_) hash_ = fnv1a64("\n", fnv1a64(text, hash_));
    for (auto& obs : impl_->observers) obs(ctx, text);
  }
  if (!s.prints(level)) return;  // spdlog is not even asked: its log_msg reads the wall clock
  std::string payload(name);
  if (!fields.empty()) {
    payload += ' ';
    payload += fields;
  }
  s.logger->log(to_spd(level), payload);
}

void Trace::flush() {
  for (auto& sink : impl_->sinks) sink->flush();
}

}  // namespace sim
