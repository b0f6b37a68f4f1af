// app/trace_tools.cpp — see trace_tools.hpp.
#include "app/trace_tools.hpp"

#include "sim/time.hpp"

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
    err << fmt::format("smpsim: {}: cannot read: {}\n", path, std::strerror(errno));
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
  return true;
}

bool parse_json_line(std::string_view line, TraceLine& out) {
  const auto j = nlohmann::json::parse(std::string(line), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("t") || !j.contains("cpu") || !j.contains("event")) return false;
  if (!j["t"].is_number_integer() || !j["event"].is_string()) return false;
  out.t_ns = j["t"].get<std::int64_t>();
  if (!j["cpu"].is_number_integer()) return false;
  out.cpu = j["cpu"].get<int>();
  out.task = j.contains("task") && j["task"].is_string() ? j["task"].get<std::string>() : "-";
  out.event = j["event"].get<std::string>();
  return true;
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
  std::vector<std::string> lines;
  if (!read_lines(path, lines, err)) return 2;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    if (l.empty()) continue;
    TraceLine tl;
    if (!parse_trace_line(l, tl)) {
      err << fmt::format("smpsim: {}:{}: not a trace line: {}\n", path, i + 1, l.substr(0, 80));
      return 2;
    }
    if (f.cpu && tl.cpu != *f.cpu) continue;
    if (f.from_ns && tl.t_ns < *f.from_ns) continue;
    if (f.to_ns && tl.t_ns > *f.to_ns) continue;
    if (!f.event.empty() && ::fnmatch(f.event.c_str(), tl.event.c_str(), 0) != 0) continue;
    out << l << '\n';
  }
  return 0;
}

int trace_diff(const std::string& a, const std::string& b, std::ostream& out, std::ostream& err, std::size_t context) {
  std::vector<std::string> la, lb;
  if (!read_lines(a, la, err) || !read_lines(b, lb, err)) return 2;
  std::size_t i = 0;
  while (i < la.size() && i < lb.size() && la[i] == lb[i]) ++i;
  if (i == la.size() && i == lb.size()) {
    out << fmt::format("traces are identical ({} lines)\n", la.size());
    return 0;
  }
  out << fmt::format("first divergence at line {}", i + 1);
  TraceLine ta, tb;
  if (i < la.size() && i < lb.size() && parse_trace_line(la[i], ta) && parse_trace_line(lb[i], tb))
    out << fmt::format(" ({}: {} on cpu{}; {}: {} on cpu{})", a, ta.event, ta.cpu, b, tb.event, tb.cpu);
  else if (i >= la.size())
    out << fmt::format(" ({} ends after {} lines)", a, la.size());
  else if (i >= lb.size())
    out << fmt::format(" ({} ends after {} lines)", b, lb.size());
  out << "\n";
  const std::size_t from = i > context ? i - context : 0;
  for (std::size_t k = from; k < i; ++k) out << fmt::format("  {:>6}  {}\n", k + 1, la[k]);
  out << fmt::format("--- {}\n", a);
  for (std::size_t k = i; k < std::min(la.size(), i + context + 1); ++k) out << fmt::format("- {:>6}  {}\n", k + 1, la[k]);
  out << fmt::format("+++ {}\n", b);
  for (std::size_t k = i; k < std::min(lb.size(), i + context + 1); ++k) out << fmt::format("+ {:>6}  {}\n", k + 1, lb[k]);
  return 1;
}

}  // namespace app
