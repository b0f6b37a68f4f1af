#include "sim/time.hpp"

#include <fmt/format.h>

#include <cctype>

namespace sim {

std::string format_dmesg(Time t) {
  const std::int64_t ns = t.ns_since_boot();
  return fmt::format("{:5}.{:06}", ns / 1000000000, (ns / 1000) % 1000000);
}

std::string format_duration(Duration d) {
  const std::int64_t ns = d.count_ns();
  struct Unit { std::int64_t scale; const char* name; };
  static constexpr Unit units[] = {{1000000000, "s"}, {1000000, "ms"}, {1000, "us"}};
  for (const auto& u : units) {
    if (ns != 0 && ns % u.scale == 0) return fmt::format("{}{}", ns / u.scale, u.name);
  }
  return fmt::format("{}ns", ns);
}

bool parse_duration(const std::string& text, Duration& out) {
  std::size_t i = 0;
  std::int64_t value = 0;
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) return false;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    if (value > (std::int64_t{1} << 50)) return false;
    value = value * 10 + (text[i] - '0');
    ++i;
  }
  const std::string unit = text.substr(i);
  std::int64_t scale = 0;
  if (unit.empty() || unit == "ns") scale = 1;
  else if (unit == "us") scale = 1000;
  else if (unit == "ms") scale = 1000000;
  else if (unit == "s") scale = 1000000000;
  else return false;
  if (value > std::numeric_limits<std::int64_t>::max() / scale) return false;
  out = Duration::ns(value * scale);
  return true;
}

}  // namespace sim
