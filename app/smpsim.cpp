// The smpsim command line. Until scenario files exist (issue 5) it offers a built-in demo:
// CPUs passing a token through a watched word, each spinning with cpu_relax() until its turn.
#include "sim/sim.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <iostream>
#include <string>

namespace {

int usage() {
  std::cerr << "usage: smpsim demo [--seed N] [--cpus N] [--rounds N] [--strategy fifo|random|pct]\n";
  return 2;
}

int run_demo(int argc, char** argv) {
  sim::Config cfg;
  cfg.lanes = 4;
  std::uint32_t rounds = 3;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    const std::string v = argv[++i];
    if (a == "--seed") {
      auto s = sim::parse_seed(v);
      if (!s) { std::cerr << "smpsim: --seed: '" << v << "' is not a seed\n"; return 2; }
      cfg.seed = *s;
    } else if (a == "--cpus") {
      cfg.lanes = static_cast<std::uint32_t>(std::strtoul(v.c_str(), nullptr, 10));
      if (cfg.lanes < 1 || cfg.lanes > 4096) { std::cerr << "smpsim: --cpus must be 1..4096\n"; return 2; }
    } else if (a == "--rounds") {
      rounds = static_cast<std::uint32_t>(std::strtoul(v.c_str(), nullptr, 10));
    } else if (a == "--strategy") {
      auto p = sim::policy_from_string(v);
      if (!p || *p == sim::PolicyKind::Replay) { std::cerr << "smpsim: --strategy: unknown '" << v << "'\n"; return 2; }
      cfg.policy = *p;
    } else {
      return usage();
    }
  }
  sim::Sim s(cfg);
  s.trace().add_text_sink(std::cout);
  sim::Watched<std::uint32_t> token(0, "token");
  const std::uint32_t n = cfg.lanes;
  for (std::uint32_t c = 0; c < n; ++c) {
    const auto f = s.spawn(fmt::format("demo/{}", c), [&s, &token, c, n, rounds] {
      for (std::uint32_t r = 0; r < rounds; ++r) {
        while (token.load() != r * n + c) s.relax();
        s.trace().event("demo", sim::Level::Info, "demo.token", "round={} holder={}", r, c);
        s.yield_point(sim::Duration::ns(1000));
        token.store(r * n + c + 1);
      }
    }, {.essential = true});
    s.set_current(c, f);
  }
  const auto r = s.run();
  fmt::print("outcome={} steps={} virtual_time={} trace_hash={:016x} choices={}\n", sim::to_string(r.outcome),
             r.steps, sim::format_duration(r.end_time - sim::Time::zero()), r.trace_hash, s.chooser().log().size());
  if (r.failure) fmt::print("failure: {} {}\n", r.failure->kind, r.failure->message);
  return r.outcome == sim::Outcome::Completed ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string cmd = argv[1];
  if (cmd == "demo") return run_demo(argc, argv);
  if (cmd == "--help" || cmd == "-h") { usage(); return 0; }
  return usage();
}
