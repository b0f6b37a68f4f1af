#include "app/interrupt.hpp"

#include <atomic>
#include <csignal>

namespace app {

namespace {

// Lock-free, so the handler may set it (a signal handler may touch nothing else).
std::atomic<bool> g_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free);

struct sigaction g_old_int {}, g_old_term {};

extern "C" void on_stop_signal(int) { g_requested.store(true, std::memory_order_relaxed); }

}  // namespace

InterruptScope::InterruptScope() {
  g_requested.store(false, std::memory_order_relaxed);
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  // SA_RESETHAND: the next signal is not caught, so a command that does not stop soon enough can
  // still be killed. SA_RESTART: a worker blocked in a write finishes it.
  sa.sa_flags = SA_RESTART | SA_RESETHAND;
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
}

InterruptScope::~InterruptScope() {
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
}

bool interrupt_requested() { return g_requested.load(std::memory_order_relaxed); }

void request_interrupt() { g_requested.store(true, std::memory_order_relaxed); }

}  // namespace app
