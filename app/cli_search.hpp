// app/cli_search.hpp
// The search subcommands of smpsim: fuzz, explore and shrink (see app/fuzz.hpp).
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace app {

struct SearchCommands {
  CLI::App* fuzz = nullptr;
  CLI::App* explore = nullptr;
  CLI::App* shrink = nullptr;
  std::string fuzz_file, explore_file, shrink_in, shrink_out;
  std::string runs;  ///< --runs N, parsed strictly (CLI11 would wrap "-1" to 2^64 - 1)
  std::string seeds, time, strategy = "portfolio", shard = "0/1", out_dir = "fuzz-out", coverage;
  std::string explore_out = "explore-out";
  unsigned jobs = 1, explore_jobs = 1;
  std::optional<std::uint32_t> pct_depth;
  std::vector<std::string> bugs, explore_bugs;
  bool stop_on_first = false, resume = false;
  unsigned preemption_bound = 1;
  std::uint64_t max_schedules = 100'000;
  std::uint64_t shrink_max_runs = 5000;
  std::string argv0 = "smpsim";  ///< how printed replay commands name the program
};

void add_search_commands(CLI::App& app, SearchCommands& s);
/// Runs the search subcommand that was parsed, if any; returns its exit status.
std::optional<int> run_search_command(const SearchCommands& s, std::ostream& out, std::ostream& err);

}  // namespace app
