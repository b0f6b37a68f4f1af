// app/trace_tools.cpp — see trace_tools.hpp.
#include "app/trace_tools.hpp"

#include "app/words.hpp"
#include "sim/time.hpp"
#include "sim/trace.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fnmatch.h>
#include <fstream>
#include <vector>

namespace app {

namespace {

bool read_lines(const std::string& path, std::vector<std::string>& out, std::ostream& err) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    print_error(err, fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
    return false;
  }
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return true;
}

/// "S.UUUUUU" or "S" seconds -> ns (up to nine decimals).
bool parse_seconds(std::string_view s, std::int64_t& ns) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  const auto dot = s.find('.');
  const std::string_view ip = s.substr(0, dot);
  std::string_view fp = dot == std::string_view::npos ? std::string_view{} : s.substr(dot + 1);
  if (ip.empty() || fp.size() > 9) return false;
  std::int64_t sec = 0;
  auto r = std::from_chars(ip.data(), ip.data() + ip.size(), sec);
  if (r.ec != std::errc{} || r.ptr != ip.data() + ip.size() || sec < 0) return false;
  std::int64_t frac = 0;
  if (!fp.empty()) {
    r = std::from_chars(fp.data(), fp.data() + fp.size(), frac);
    if (r.ec != std::errc{} || r.ptr != fp.data() + fp.size()) return false;
    for (std::size_t i = fp.size(); i < 9; ++i) frac *= 10;
  }
  ns = sec * 1'000'000'000 + frac;
  return true;
}

bool parse_text_line(std::string_view line, TraceLine& out) {
  if (line.size() < 3 || line.front() != '[') return false;
  const auto close = line.find("] ");
  if (close == std::string_view::npos || !parse_seconds(line.substr(1, close - 1), out.t_ns)) return false;
  std::string_view rest = line.substr(close + 2);
  auto token = [&rest](std::string_view& tok) {
    const auto sp = rest.find(' ');
    tok = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
    return !tok.empty();
  };
  std::string_view cpu, task, ev;
  if (!token(cpu) || !token(task) || !token(ev) || cpu.substr(0, 3) != "cpu") return false;
  if (cpu == "cpu-") {
    out.cpu = -1;
  } else {
    const auto r = std::from_chars(cpu.data() + 3, cpu.data() + cpu.size(), out.cpu);
    if (r.ec != std::errc{} || r.ptr != cpu.data() + cpu.size()) return false;
  }
  out.task = std::string(task);
  out.event = std::string(ev);
  out.micros = true;
  const std::string_view payload = line.substr(static_cast<std::size_t>(ev.data() - line.data()));
  std::string name;
  out.raw = !sim::parse_event_payload(payload, name, out.fields);
  if (out.raw) out.fields = {{"msg", std::string(payload)}};
  return true;
}

// The keys every JSON Lines object has; an event field of one of these names is written with "_".
constexpr std::string_view kFixedKeys[] = {"t", "cpu", "task", "subsys", "level", "event"};

bool parse_json_line(std::string_view line, TraceLine& out) {
  // Ordered: the fields keep the order they were written in, as in the text line.
  const auto j = nlohmann::ordered_json::parse(std::string(line), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("t") || !j.contains("cpu") || !j.contains("event")) return false;
  if (!j["t"].is_number_integer() || !j["event"].is_string()) return false;
  out.t_ns = j["t"].get<std::int64_t>();
  if (!j["cpu"].is_number_integer()) return false;
  out.cpu = j["cpu"].get<int>();
  out.task = j.contains("task") && j["task"].is_string() ? j["task"].get<std::string>() : "-";
  out.event = j["event"].get<std::string>();
  out.fields.clear();
  for (const auto& [key, value] : j.items()) {
    const auto fixed = [](std::string_view k) {
      return std::find(std::begin(kFixedKeys), std::end(kFixedKeys), k) != std::end(kFixedKeys);
    };
    if (fixed(key)) continue;
    std::string name = key;
    if (name.size() > 1 && name.back() == '_' && fixed(std::string_view(name).substr(0, name.size() - 1))) name.pop_back();
    out.fields.emplace_back(std::move(name), value.is_string() ? value.get<std::string>() : value.dump());
  }
  return true;
}

/// A trace file's lines, each parsed; false (reported) if unreadable or not a trace.
struct ParsedTrace {
  std::vector<std::string> lines;  ///< as read (blank lines dropped)
  std::vector<std::size_t> line_no;
  std::vector<TraceLine> events;
};

bool read_trace(const std::string& path, ParsedTrace& t, std::ostream& err) {
  std::vector<std::string> lines;
  if (!read_lines(path, lines, err)) return false;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    TraceLine tl;
    if (!parse_trace_line(lines[i], tl)) {
      print_error(err, fmt::format("{}:{}: not a trace line (text or JSON Lines, docs/trace-format.md): {}", path, i + 1,
                                   lines[i].substr(0, 80)));
      return false;
    }
    t.lines.push_back(std::move(lines[i]));
    t.line_no.push_back(i + 1);
    t.events.push_back(std::move(tl));
  }
  return true;
}

/// The same event, whichever format each side was read from.
bool same_event(const TraceLine& a, const TraceLine& b) {
  const bool micros = a.micros || b.micros;
  const auto t = [micros](const TraceLine& l) { return micros ? l.t_ns / 1000 : l.t_ns; };
  const auto name = [](const TraceLine& l) -> const std::string& {
    static const std::string text = "text";
    return l.raw ? text : l.event;
  };
  return t(a) == t(b) && a.cpu == b.cpu && a.task == b.task && name(a) == name(b) && a.fields == b.fields;
}

}  // namespace

bool parse_trace_line(std::string_view line, TraceLine& out) {
  if (!line.empty() && line.front() == '{') return parse_json_line(line, out);
  return parse_text_line(line, out);
}

bool parse_time_arg(const std::string& text, std::int64_t& ns) {
  if (text.find('.') != std::string::npos || (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos))
    return parse_seconds(text, ns);
  sim::Duration d;
  if (!sim::parse_duration(text, d) || d < sim::Duration::ns(0)) return false;
  ns = d.count_ns();
  return true;
}

int trace_show(const std::string& path, const TraceFilter& f, std::ostream& out, std::ostream& err) {
  ParsedTrace t;
  if (!read_trace(path, t, err)) return 2;
  for (std::size_t i = 0; i < t.events.size(); ++i) {
    const TraceLine& tl = t.events[i];
    if (f.cpu && tl.cpu != *f.cpu) continue;
    if (f.from_ns && tl.t_ns < *f.from_ns) continue;
    if (f.to_ns && tl.t_ns > *f.to_ns) continue;
    if (!f.event.empty() && ::fnmatch(f.event.c_str(), tl.event.c_str(), 0) != 0) continue;
    out << t.lines[i] << '\n';
  }
  return 0;
}

int trace_diff(const std::string& a, const std::string& b, std::ostream& out, std::ostream& err, std::size_t context) {
  ParsedTrace ta, tb;
  if (!read_trace(a, ta, err) || !read_trace(b, tb, err)) return 2;
  const auto& ea = ta.events;
  const auto& eb = tb.events;
  std::size_t i = 0;
  while (i < ea.size() && i < eb.size() && same_event(ea[i], eb[i])) ++i;
  if (i == ea.size() && i == eb.size()) {
    out << fmt::format("traces are identical ({} events)\n", ea.size());
    return 0;
  }
  // Where the divergence is, in each file's own line numbers (they differ only with blank lines).
  const auto where = [](const ParsedTrace& t, std::size_t k) {
    return k < t.line_no.size() ? t.line_no[k] : (t.line_no.empty() ? 1 : t.line_no.back() + 1);
  };
  if (where(ta, i) == where(tb, i)) out << fmt::format("first divergence at line {}", where(ta, i));
  else out << fmt::format("first divergence at event {} ({} line {}, {} line {})", i + 1, a, where(ta, i), b, where(tb, i));
  if (i < ea.size() && i < eb.size())
    out << fmt::format(" ({}: {} on cpu{}; {}: {} on cpu{})", a, ea[i].event, ea[i].cpu, b, eb[i].event, eb[i].cpu);
  else if (i >= ea.size())
    out << fmt::format(" ({} ends after {} events)", a, ea.size());
  else
    out << fmt::format(" ({} ends after {} events)", b, eb.size());
  out << "\n";
  const std::size_t from = i > context ? i - context : 0;
  for (std::size_t k = from; k < i; ++k) out << fmt::format("  {:>6}  {}\n", ta.line_no[k], ta.lines[k]);
  out << fmt::format("--- {}\n", a);
  for (std::size_t k = i; k < std::min(ea.size(), i + context + 1); ++k)
    out << fmt::format("- {:>6}  {}\n", ta.line_no[k], ta.lines[k]);
  out << fmt::format("+++ {}\n", b);
  for (std::size_t k = i; k < std::min(eb.size(), i + context + 1); ++k)
    out << fmt::format("+ {:>6}  {}\n", tb.line_no[k], tb.lines[k]);
  return 1;
}

}  // namespace app
