// app/cli.hpp
// The smpsim command line (CLI11): run, replay, trace show|diff, list, check. Kept in the
// smpsim_app library so tests drive the real command with their own streams.
// Exit statuses (the top-level --help and README.md say the same): 2 bad input or usage, for
// every command; run: 0 the run met its expectations, 1 it did not; replay: 0 the artifact
// reproduced, 3 it did not; fuzz, explore: 0 no run failed, 1 some did; trace diff: 0 the same
// events, 1 different; fuzz, explore and shrink stopped by SIGINT/SIGTERM: 130/143 (app/interrupt.hpp).
// Every error is one line, "smpsim: error: <file>:<line>:<col>: <what>".
#pragma once

#include <ostream>

namespace app {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitNotReproduced = 3;

int smpsim_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace app
