// Ctrl-C during the search commands (app/interrupt.hpp): a real SIGINT sent to a child process
// that runs the command, once the command is visibly under way.
#include "app_fixture.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <functional>
#include <set>
#include <thread>

using namespace apptest;

namespace {

struct Interrupted {
  bool ready = false;  ///< the command got under way (and was sent SIGINT) before it ended
  ChildSmpsim::Result result;
};

/// Runs `smpsim args` in a child and sends it `sig` once `ready()` holds (polled for up to 60 s).
Interrupted run_and_interrupt(const std::vector<std::string>& args, const std::function<bool()>& ready,
                              int sig = SIGINT) {
  ChildSmpsim child(args);
  Interrupted res;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline && !child.ended()) {
    if (ready()) {
      res.ready = true;
      ::kill(child.pid(), sig);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // A command that never got under way is not waited for again.
  res.result = child.wait(std::chrono::seconds(res.ready ? 60 : 1));
  if (res.ready) CHECK_FALSE(res.result.timed_out);
  return res;
}

std::size_t line_count(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return 0;
  const std::string text = read_file(path);
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

/// The seed of each line of a campaign's results.jsonl, in order.
std::vector<std::uint64_t> recorded_seeds(const std::string& path) {
  std::vector<std::uint64_t> seeds;
  std::stringstream ss(read_file(path));
  for (std::string l; std::getline(ss, l);) seeds.push_back(nlohmann::json::parse(l).at("seed").get<std::uint64_t>());
  return seeds;
}

}  // namespace

TEST_CASE("fuzz: SIGINT stops a --time campaign, prints its table, exits 130, and --resume repeats no seed (--jobs 2)") {
  TempDir d;
  const std::string results = d.file("out/results.jsonl");
  const std::vector<std::string> cmd = {"fuzz", scenario_path("default"), "--time", "600s", "--jobs", "2", "--out", d.file("out")};
  const Interrupted r = run_and_interrupt(cmd, [&] { return line_count(results) >= 20; });
  REQUIRE(r.ready);
  CHECK_FALSE(r.result.signaled);
  CHECK(r.result.cli.status == 130);
  CHECK(r.result.cli.out.find("fuzz: ") == 0);
  CHECK(r.result.cli.out.find("interrupted: the runs above are recorded") != std::string::npos);
  // Every recorded run is a whole line; the resumed campaign runs other seeds only.
  const std::vector<std::uint64_t> first = recorded_seeds(results);
  const std::size_t before = std::set<std::uint64_t>(first.begin(), first.end()).size();
  CHECK(before == line_count(results));
  std::vector<std::string> again = cmd;
  again[3] = "1s";
  again.push_back("--resume");
  const CliResult r2 = smpsim(again);
  CHECK(r2.status == 0);
  CHECK(r2.out.find(fmt::format("({} resumed", before)) != std::string::npos);
  const std::vector<std::uint64_t> all = recorded_seeds(results);
  const std::size_t lines = all.size();
  CHECK(lines > before);
  CHECK(std::set<std::uint64_t>(all.begin(), all.end()).size() == lines);
}

TEST_CASE("explore: SIGINT (or SIGTERM) stops the search, the counts so far are printed as interrupted, exit 130 (143)") {
  for (const int sig : {SIGINT, SIGTERM}) {
    CAPTURE(sig);
    TempDir d;
    const Interrupted r = run_and_interrupt(
        {"explore", scenario_path("stop_two_cpus"), "--preemption-bound", "6", "--max-schedules", "100000000", "--out",
         d.file("ex")},
        [&] { return std::filesystem::exists(d.file("ex/artifacts")); }, sig);
    REQUIRE(r.ready);
    CHECK_FALSE(r.result.signaled);
    CHECK(r.result.cli.status == 128 + sig);
    CHECK(r.result.cli.out.find("(interrupted: not every schedule was run)") != std::string::npos);
  }
}
