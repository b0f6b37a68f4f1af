#include "sim/time.hpp"

#include <doctest/doctest.h>

using namespace sim;
using namespace sim::literals;

TEST_CASE("time: literals are exact integer nanoseconds") {
  CHECK((10_us).count_ns() == 10000);
  CHECK((2_ms).count_ns() == 2000000);
  CHECK((21_s).count_ns() == 21000000000LL);
  CHECK(Time::zero() + 1_s - Time::zero() == 1_s);
}

TEST_CASE("time: Time::max() saturates instead of overflowing") {
  CHECK(Time::max() + 1_s == Time::max());
}

TEST_CASE("time: dmesg formatting prints seconds with six decimals") {
  CHECK(format_dmesg(Time::zero() + 1234_us) == "    0.001234");
  CHECK(format_dmesg(Time::zero() + 21_s) == "   21.000000");
}

TEST_CASE("time: parse_duration accepts unit suffixes and rejects junk") {
  Duration d;
  CHECK(parse_duration("2ms", d));
  CHECK(d == 2_ms);
  CHECK(parse_duration("10", d));
  CHECK(d == 10_ns);
  CHECK(parse_duration("21s", d));
  CHECK(d == 21_s);
  CHECK_FALSE(parse_duration("2.5ms", d));
  CHECK_FALSE(parse_duration("ms", d));
  CHECK_FALSE(parse_duration("5h", d));
  CHECK_FALSE(parse_duration("99999999999999999999s", d));
  CHECK(format_duration(1500_us) == "1500us");
  CHECK(format_duration(21_s) == "21s");
}
