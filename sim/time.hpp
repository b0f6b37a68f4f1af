// sim/time.hpp
// Virtual time. sim::Duration and sim::Time are strong int64 nanosecond types: no implicit
// conversion from integers or floating point, so a unit mistake does not compile.
// Time is nanoseconds since simulated boot; Time::max() means "never".
// All arithmetic is integer and exact; nothing here reads a wall clock.
#pragma once

#include <compare>
#include <cstdint>
#include <limits>
#include <string>

namespace sim {

class Duration {
 public:
  constexpr Duration() = default;
  static constexpr Duration ns(std::int64_t v) { return Duration{v}; }
  static constexpr Duration max() { return Duration{std::numeric_limits<std::int64_t>::max()}; }
  constexpr std::int64_t count_ns() const { return ns_; }

  constexpr auto operator<=>(const Duration&) const = default;
  constexpr Duration operator+(Duration o) const { return Duration{ns_ + o.ns_}; }
  constexpr Duration operator-(Duration o) const { return Duration{ns_ - o.ns_}; }
  constexpr Duration operator*(std::int64_t k) const { return Duration{ns_ * k}; }
  constexpr Duration operator/(std::int64_t k) const { return Duration{ns_ / k}; }
  constexpr std::int64_t operator/(Duration o) const { return ns_ / o.ns_; }
  constexpr Duration operator%(Duration o) const { return Duration{ns_ % o.ns_}; }
  constexpr Duration& operator+=(Duration o) { ns_ += o.ns_; return *this; }
  constexpr Duration& operator-=(Duration o) { ns_ -= o.ns_; return *this; }

 private:
  constexpr explicit Duration(std::int64_t v) : ns_(v) {}
  std::int64_t ns_ = 0;
};

class Time {
 public:
  constexpr Time() = default;
  static constexpr Time from_ns(std::int64_t v) { return Time{v}; }
  static constexpr Time zero() { return Time{0}; }
  static constexpr Time max() { return Time{std::numeric_limits<std::int64_t>::max()}; }
  constexpr std::int64_t ns_since_boot() const { return ns_; }

  constexpr auto operator<=>(const Time&) const = default;
  /// Saturates at Time::max() so "never + d" stays "never".
  constexpr Time operator+(Duration d) const {
    if (ns_ > std::numeric_limits<std::int64_t>::max() - d.count_ns()) return max();
    return Time{ns_ + d.count_ns()};
  }
  constexpr Time operator-(Duration d) const { return Time{ns_ - d.count_ns()}; }
  constexpr Duration operator-(Time o) const { return Duration::ns(ns_ - o.ns_); }
  constexpr Time& operator+=(Duration d) { *this = *this + d; return *this; }

 private:
  constexpr explicit Time(std::int64_t v) : ns_(v) {}
  std::int64_t ns_ = 0;
};

constexpr Time max(Time a, Time b) { return a < b ? b : a; }
constexpr Time min(Time a, Time b) { return a < b ? a : b; }

/// Formats like printk's timestamp: seconds with six decimals, e.g. "    0.001234".
std::string format_dmesg(Time t);
/// Human-readable duration: "1.5ms", "21s", "350ns".
std::string format_duration(Duration d);
/// Parses "10", "10ns", "10us", "2ms", "21s" (integers only). Returns false on bad input.
bool parse_duration(const std::string& text, Duration& out);

namespace literals {
constexpr Duration operator""_ns(unsigned long long v) { return Duration::ns(static_cast<std::int64_t>(v)); }
constexpr Duration operator""_us(unsigned long long v) { return Duration::ns(static_cast<std::int64_t>(v) * 1000); }
constexpr Duration operator""_ms(unsigned long long v) { return Duration::ns(static_cast<std::int64_t>(v) * 1000000); }
constexpr Duration operator""_s(unsigned long long v) { return Duration::ns(static_cast<std::int64_t>(v) * 1000000000); }
}  // namespace literals

}  // namespace sim
