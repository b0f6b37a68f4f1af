#include "sim/choice.hpp"

#include <doctest/doctest.h>

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

TEST_CASE("pct policy: depth d gives d-1 change points that demote the running lane") {
  PctPolicy p(Rng(5), 2, 3, 1000);
  REQUIRE(p.change_points().size() == 2);
  REQUIRE(p.change_points()[0] != p.change_points()[1]);
  const std::vector<std::uint32_t> both{0, 1};
  std::vector<std::size_t> picks;
  for (int i = 0; i < 1000; ++i) picks.push_back(p.pick_next(both));
  int switches = 0;
  for (std::size_t i = 1; i < picks.size(); ++i) switches += picks[i] != picks[i - 1];
  CHECK(switches == 2);  // one per change point: demoted below every initial priority
}
