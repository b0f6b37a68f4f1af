// app/cli.hpp
// The smpsim command line (CLI11): run, replay, trace show|diff, list, check. Kept in the
// smpsim_app library so tests drive the real command with their own streams.
// Exit statuses: 0 the run met its expectations, 1 a failure was found (or an expectation was
// not met; for `trace diff`: the traces differ), 2 bad input or usage, 3 a replay did not
// reproduce.
#pragma once

#include <ostream>

namespace app {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitNotReproduced = 3;

int smpsim_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace app
