#include "sim/choice.hpp"

#include <doctest/doctest.h>

#include <array>
#include <memory>
#include <set>
#include <vector>

using namespace sim;

TEST_CASE("choice log: text form round-trips, with run-length compression") {
  ChoiceLog log;
  for (int i = 0; i < 5; ++i) log.push({ChoiceKind::Pick, 1, 3});
  log.push({ChoiceKind::Fault, 0, 2});
  log.push({ChoiceKind::Pick, 2, 4});
  const std::string text = log.to_text();
  CHECK(text.rfind("smpsim-choices 1\n", 0) == 0);
  CHECK(text.find("p1/3*5") != std::string::npos);
  std::string err;
  auto back = ChoiceLog::parse(text, err);
  REQUIRE(back.has_value());
  CHECK(*back == log);
}

TEST_CASE("choice log: parse errors name the line and column") {
  std::string err;
  CHECK_FALSE(ChoiceLog::parse("nonsense", err).has_value());
  CHECK(err.find("line 1") != std::string::npos);
  CHECK_FALSE(ChoiceLog::parse("smpsim-choices 9\np0/2\n", err).has_value());
  CHECK(err.find("version") != std::string::npos);
  CHECK_FALSE(ChoiceLog::parse("smpsim-choices 1\np0/2 x1/2\n", err).has_value());
  CHECK(err.find("line 2, column 6") != std::string::npos);
  CHECK_FALSE(ChoiceLog::parse("smpsim-choices 1\np3/2\n", err).has_value());
  CHECK(err.find("out of range") != std::string::npos);
  CHECK_FALSE(ChoiceLog::parse("smpsim-choices 1\np1/2*0\n", err).has_value());
  CHECK_FALSE(ChoiceLog::parse("smpsim-choices 1\np1/2x\n", err).has_value());
  CHECK_FALSE(ChoiceLog::parse("smpsim-choices 1\np99999999999/2\n", err).has_value());
}

TEST_CASE("chooser: single-option decisions are not logged") {
  Chooser c(std::make_unique<FifoPolicy>());
  const std::vector<std::uint32_t> one{3};
  CHECK(c.pick(one) == 0);
  CHECK(c.log().size() == 0);
  const std::vector<std::uint32_t> two{1, 3};
  CHECK(c.pick(two) == 0);
  CHECK(c.log().size() == 1);
}

TEST_CASE("replay policy: follows the log and reports the first divergent entry") {
  ChoiceLog log;
  log.push({ChoiceKind::Pick, 1, 2});
  log.push({ChoiceKind::Pick, 0, 3});
  ReplayPolicy rp(log);
  const std::vector<std::uint32_t> two{0, 1};
  CHECK(rp.pick_next(two) == 1);
  CHECK_FALSE(rp.diverged_at().has_value());
  CHECK(rp.pick_next(two) == 0);  // log says 3 options, run has 2
  REQUIRE(rp.diverged_at().has_value());
  CHECK(*rp.diverged_at() == 1);
  CHECK(rp.divergence().find("choice 1") != std::string::npos);
}

TEST_CASE("pct policy: with depth 1 the same lane wins every time it is ready") {
  PctPolicy p(Rng(11), 4, 1, 100);
  const std::vector<std::uint32_t> all{0, 1, 2, 3};
  const std::size_t first = p.pick_next(all);
  for (int i = 0; i < 50; ++i) CHECK(p.pick_next(all) == first);
}

TEST_CASE("pct policy: depth d gives d-1 distinct change points that demote the running lane") {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    PctPolicy p(Rng(seed), 2, 3, 1000);
    REQUIRE(p.change_points().size() == 2);
    REQUIRE(p.change_points()[0] < p.change_points()[1]);
    const auto& prio = p.change_priorities();
    CHECK(std::set<std::int64_t>(prio.begin(), prio.end()) == std::set<std::int64_t>{1, 2});
    const std::vector<std::uint32_t> both{0, 1};
    std::vector<std::size_t> picks;
    for (int i = 0; i < 1000; ++i) picks.push_back(p.pick_next(both));
    int switches = 0;
    for (std::size_t i = 1; i < picks.size(); ++i) switches += picks[i] != picks[i - 1];
    if (p.change_points()[0] >= 2)  // the first point demotes the lane that led until then
      CHECK(picks[p.change_points()[0] - 1] != picks[p.change_points()[0] - 2]);
    // The second point demotes the other lane; it falls below the first one only if its priority is lower.
    CHECK(switches == (prio[1] < prio[0] ? 2 : 1));
  }
}

namespace {

/// Two threads A and B of `len` steps each, scheduled by `policy` until both have finished (a
/// step with one thread left is no choice and does not reach the policy, as with Chooser).
/// Returns the global position of each thread's i-th step: pos[t][i], i from 1.
std::array<std::vector<int>, 2> run_two(SchedPolicy& policy, int len) {
  std::array<std::vector<int>, 2> pos{std::vector<int>(1, 0), std::vector<int>(1, 0)};
  for (int step = 0; static_cast<int>(pos[0].size() + pos[1].size()) < 2 * len + 2; ++step) {
    std::vector<std::uint32_t> ready;
    for (std::uint32_t t = 0; t < 2; ++t)
      if (static_cast<int>(pos[t].size()) <= len) ready.push_back(t);
    const std::uint32_t t = ready.size() == 1 ? ready[0] : ready[policy.pick_next(ready)];
    pos[t].push_back(step);
  }
  return pos;
}

}  // namespace

// The PCT guarantee (Burckhardt et al., ASPLOS 2010, theorem 9), as a specification of PctPolicy:
// for a bug of depth d (d ordering constraints between steps) in a program of n threads that
// makes at most k scheduling choices, one run of PCT with depth d and estimate k hits the bug
// with probability at least 1/(n * k^(d-1)). The bugs below are ones uniform random scheduling
// practically never hits (thread B must run many steps inside a one-step gap of thread A), so
// this is where PCT matters. Sampling noise: each check asks for half the bound's expectation.
TEST_CASE("pct policy: depth d finds a depth-d bug with probability >= 1/(n k^(d-1))") {
  constexpr int len = 20;
  constexpr std::uint64_t n = 2, k = 2 * len;
  // Depth 2: B runs entirely between A's 5th and 6th step (a5 < b1, b20 < a6).
  auto depth2 = [](const std::array<std::vector<int>, 2>& p) { return p[0][5] < p[1][1] && p[1][len] < p[0][6]; };
  // Depth 3: B's first 10 steps run between A's 5th and 6th, and A's 15th runs before B's 11th.
  auto depth3 = [](const std::array<std::vector<int>, 2>& p) {
    return p[0][5] < p[1][1] && p[1][10] < p[0][6] && p[0][15] < p[1][11];
  };
  auto count = [&](auto bug, std::uint32_t depth, std::uint64_t runs, bool pct) {
    std::uint64_t hits = 0;
    for (std::uint64_t seed = 1; seed <= runs; ++seed) {
      std::unique_ptr<SchedPolicy> p;
      if (pct) p = std::make_unique<PctPolicy>(Rng(seed), 2, depth, k);
      else p = std::make_unique<RandomPolicy>(Rng(seed));
      hits += bug(run_two(*p, len)) ? 1 : 0;
    }
    return hits;
  };
  SUBCASE("depth 2") {
    const std::uint64_t runs = 4000;  // bound: 1/(2*40) = 1/80, so >= 50 hits expected
    const std::uint64_t pct = count(depth2, 2, runs, true);
    const std::uint64_t random = count(depth2, 2, runs, false);
    INFO("pct ", pct, " random ", random, " of ", runs);
    CHECK(pct * n * k * 2 >= runs);
    CHECK(random * 10 <= pct);
  }
  SUBCASE("depth 3") {
    const std::uint64_t runs = 64000;  // bound: 1/(2*40*40) = 1/3200, so >= 20 hits expected
    const std::uint64_t pct = count(depth3, 3, runs, true);
    const std::uint64_t random = count(depth3, 3, runs, false);
    INFO("pct ", pct, " random ", random, " of ", runs);
    CHECK(pct * n * k * k * 2 >= runs);
    CHECK(random * 10 <= pct);
  }
}
