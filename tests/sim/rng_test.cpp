#include "sim/rng.hpp"

#include <doctest/doctest.h>

#include <set>
#include <vector>

using namespace sim;

TEST_CASE("rng: same seed gives the same sequence, different seeds differ") {
  Rng a(42), b(42), c(43);
  std::vector<std::uint64_t> va, vb, vc;
  for (int i = 0; i < 100; ++i) {
    va.push_back(a.next_u64());
    vb.push_back(b.next_u64());
    vc.push_back(c.next_u64());
  }
  CHECK(va == vb);
  CHECK(va != vc);
}

TEST_CASE("rng: draws from the fault stream leave the sched stream unchanged") {
  Rng root1(7), root2(7);
  Rng sched1 = root1.fork("sched");
  Rng fault1 = root1.fork("fault");
  for (int i = 0; i < 1000; ++i) fault1.next_u64();  // heavy use of another stream
  Rng sched2 = root2.fork("sched");
  for (int i = 0; i < 100; ++i) CHECK(sched1.next_u64() == sched2.next_u64());
}

TEST_CASE("rng: a fork depends on its name and the parent seed, not on draws made") {
  Rng r(9);
  const Rng before = r.fork("x");
  r.next_u64();
  const Rng after = r.fork("x");
  CHECK(before.seed() == after.seed());
  CHECK(r.fork("x").seed() != r.fork("y").seed());
}

TEST_CASE("rng: below(n) stays in range and reaches every value (n=7)") {
  Rng r(1);
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 2000; ++i) {
    const auto v = r.below(7);
    REQUIRE(v < 7);
    seen.insert(v);
  }
  CHECK(seen.size() == 7);
}

TEST_CASE("rng: below(n) is close to uniform (chi-square, n=10, 100k draws)") {
  Rng r(123);
  std::vector<int> bins(10);
  for (int i = 0; i < 100000; ++i) ++bins[r.below(10)];
  double chi = 0;
  for (int b : bins) chi += (b - 10000.0) * (b - 10000.0) / 10000.0;
  CHECK(chi < 30.0);  // 9 dof: p ~ 0.0004
}

TEST_CASE("rng: chance respects exact ratios at the ends and roughly in the middle") {
  Rng r(5);
  int yes = 0;
  for (int i = 0; i < 10000; ++i) {
    CHECK_FALSE(r.chance(Ratio{0, 5}));
    CHECK(r.chance(Ratio{5, 5}));
    yes += r.chance(Ratio{1, 4}) ? 1 : 0;
  }
  CHECK(yes > 2300);
  CHECK(yes < 2700);
}

TEST_CASE("rng: range(lo, hi) includes both ends") {
  Rng r(3);
  bool lo = false, hi = false;
  for (int i = 0; i < 1000; ++i) {
    const auto v = r.range(-2, 2);
    REQUIRE(v >= -2);
    REQUIRE(v <= 2);
    lo |= v == -2;
    hi |= v == 2;
  }
  CHECK(lo);
  CHECK(hi);
}

TEST_CASE("rng: parse_seed accepts decimal, hex and 40-hex git hashes and rejects junk") {
  CHECK(parse_seed("12345") == std::optional<std::uint64_t>(12345));
  CHECK(parse_seed("0x10") == std::optional<std::uint64_t>(16));
  CHECK(parse_seed("18446744073709551615").has_value());
  CHECK_FALSE(parse_seed("18446744073709551616").has_value());
  CHECK(parse_seed("0123456789abcdef0123456789abcdef01234567").has_value());
  CHECK_FALSE(parse_seed("").has_value());
  CHECK_FALSE(parse_seed("12a").has_value());
  CHECK_FALSE(parse_seed("-1").has_value());
}
