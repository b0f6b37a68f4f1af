// app/interrupt.hpp
// Ctrl-C (SIGINT) and SIGTERM during the long search commands (fuzz, explore, shrink): the first
// signal asks the command to stop at the end of the runs under way and to report what it has (the
// campaign table, the exploration counts, the smallest artifact so far), with exit status 128 + the
// signal's number (130 for SIGINT, 143 for SIGTERM); a second signal of either kind kills the
// process as usual. Nothing here touches a simulation: runs in progress end as they would have, so
// what was recorded is exactly what a resumed command expects.
#pragma once

#include <memory>

namespace app {

/// For its lifetime the two signals are blocked in the calling thread (and so in every thread it
/// starts after) and taken by a watcher thread: no handler ever runs on a fiber's small stack.
/// Construct it before starting worker threads. Clears any earlier request.
class InterruptScope {
 public:
  InterruptScope();
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

 private:
  struct Watcher;
  std::unique_ptr<Watcher> watcher_;
};

/// A stop was asked for, by a signal, since the scope began.
bool interrupt_requested();
/// The exit status of a command that stopped on request: 128 + the signal's number.
int interrupted_exit_status();

}  // namespace app
