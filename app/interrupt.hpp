// app/interrupt.hpp
// Ctrl-C (SIGINT) and SIGTERM during the long search commands (fuzz, explore, shrink): the first
// signal asks the command to stop at the end of the runs under way and to report what it has (the
// campaign table, the exploration counts, the smallest artifact so far) with exit status 130; a
// second signal kills the process as usual. Nothing here touches a simulation: runs in progress end
// as they would have, so what was recorded is exactly what a resumed command expects.
#pragma once

namespace app {

/// Installs the handlers for its lifetime (restoring the previous ones after) and clears any
/// earlier request.
class InterruptScope {
 public:
  InterruptScope();
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;
};

/// A stop was asked for (by a signal, or by request_interrupt()).
bool interrupt_requested();
/// What the handler does; also for tests.
void request_interrupt();

/// The exit status of a command that stopped on request (128 + SIGINT, as a shell reports it).
constexpr int kInterrupted = 130;

}  // namespace app
