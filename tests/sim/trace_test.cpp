#include "sim/sim.hpp"

#include <doctest/doctest.h>

#include <sstream>

using namespace sim;
using namespace sim::literals;

namespace {
// A field whose formatting is counted: proves which events were formatted at all.
struct Counted {
  int* formats;
};
}  // namespace

template <>
struct fmt::formatter<Counted> : fmt::formatter<int> {
  auto format(const Counted& c, fmt::format_context& ctx) const {
    return fmt::formatter<int>::format(++*c.formats, ctx);
  }
};

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

TEST_CASE("trace: with the hash off, an event nobody consumes is never formatted, a sink or observer still gets it") {
  auto run = [](bool hashing, bool sink, bool observer, int& formats, std::uint64_t& hash, std::string& out) {
    std::ostringstream os;
    Sim s(Config{});
    s.trace().set_hashing(hashing);
    if (sink) s.trace().add_text_sink(os);
    if (observer) s.trace().add_observer([](const TraceContext&, std::string_view) {});
    s.at(Time::zero() + 7_ns, [&] {
      s.trace().event("stop_machine", Level::Info, "msm.ack", "n={}", Counted{&formats});
      s.trace().event("stop_machine", Level::Debug, "msm.spin", "n={}", Counted{&formats});
    });
    const RunResult r = s.run();
    hash = r.trace_hash;
    out = os.str();
  };
  int formats = 0;
  std::uint64_t hash_on = 0, hash_off = 0;
  std::string out;
  run(true, false, false, formats, hash_on, out);
  CHECK(formats == 1);  // the info event feeds the hash; the debug one is neither hashed nor printed
  formats = 0;
  run(false, false, false, formats, hash_off, out);
  CHECK(formats == 0);
  CHECK(hash_off != hash_on);  // nothing was hashed: the hash is FNV's empty value
  formats = 0;
  run(false, true, false, formats, hash_off, out);
  CHECK(formats == 1);
  CHECK(out == "[    0.000000] cpu- - msm.ack n=1\n");
  formats = 0;
  run(false, false, true, formats, hash_off, out);
  CHECK(formats == 1);
}
