#include "sim/sim.hpp"

#include <doctest/doctest.h>

#include <sstream>

using namespace sim;
using namespace sim::literals;

TEST_CASE("trace: text lines carry virtual time, cpu and task like dmesg") {
  std::ostringstream os;
  Sim s(Config{});
  s.trace().add_text_sink(os);
  const FiberId f = s.spawn("migration/0", [&] {
    s.yield_point(1234_us);
    s.trace().event("stop_machine", Level::Info, "msm.state", "from={} to={}", "PREPARE", "DISABLE_IRQ");
  });
  s.set_current(0, f);
  s.run();
  CHECK(os.str() == "[    0.001234] cpu0 migration/0 msm.state from=PREPARE to=DISABLE_IRQ\n");
}

TEST_CASE("trace: JSON Lines sink writes one object per event with parsed fields") {
  std::ostringstream os;
  Sim s(Config{});
  s.trace().add_jsonl_sink(os);
  s.at(Time::zero() + 5_ns, [&] { s.trace().event("cpuhp", Level::Info, "cpuhp.invoke", "cpu=2 state=X msg=\"a b\""); });
  s.run();
  CHECK(os.str() ==
        "{\"t\":5,\"cpu\":-1,\"task\":\"-\",\"subsys\":\"cpuhp\",\"level\":\"info\",\"event\":\"cpuhp.invoke\","
        "\"cpu_\":\"2\",\"state\":\"X\",\"msg\":\"a b\"}\n");
}

TEST_CASE("trace: output levels are per subsystem and do not change the trace hash") {
  auto run = [](Level lvl, std::string& out) {
    std::ostringstream os;
    Sim s(Config{});
    s.trace().add_text_sink(os);
    s.trace().set_level("noisy", lvl);
    s.at(Time::zero(), [&] {
      s.trace().event("noisy", Level::Info, "a.b", "x=1");
      s.trace().event("quiet", Level::Info, "c.d", "y=2");
      s.trace().event("noisy", Level::Debug, "e.f", "z=3");
    });
    const auto r = s.run();
    out = os.str();
    return r.trace_hash;
  };
  std::string a, b, c;
  const auto h1 = run(Level::Info, a);
  const auto h2 = run(Level::Warn, b);
  const auto h3 = run(Level::Debug, c);
  CHECK(h1 == h2);
  CHECK(h1 == h3);
  CHECK(a.find("a.b") != std::string::npos);
  CHECK(b.find("a.b") == std::string::npos);
  CHECK(b.find("c.d") != std::string::npos);
  CHECK(c.find("e.f") != std::string::npos);
  CHECK(a.find("e.f") == std::string::npos);
}

TEST_CASE("trace: payloads parse back into name and fields") {
  std::string name;
  std::vector<std::pair<std::string, std::string>> fields;
  CHECK(parse_event_payload("msm.ack cpu=3 state=RUN note=\"x y\"", name, fields));
  CHECK(name == "msm.ack");
  REQUIRE(fields.size() == 3);
  CHECK(fields[2].second == "x y");
  CHECK_FALSE(parse_event_payload("bad field", name, fields));
}
