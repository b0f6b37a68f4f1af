#include "app/interrupt.hpp"

#include <atomic>
#include <csignal>
#include <ctime>
#include <thread>

#include <pthread.h>

namespace app {

namespace {

std::atomic<int> g_signal{0};  // the first stop signal taken in the current scope, or 0

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

struct InterruptScope::Watcher {
  sigset_t old_mask{};
  std::atomic<bool> done{false};
  std::thread thread;

  void run() {
    const sigset_t set = stop_signals();
    const timespec tick{1, 0};  // a fallback: the scope's end wakes the watcher with a signal
    for (;;) {
      const int sig = sigtimedwait(&set, nullptr, &tick);
      if (done.load()) return;  // the scope is ending (its wake-up, or a signal as it ends)
      if (sig <= 0) continue;   // EAGAIN (the tick) or EINTR
      int none = 0;
      if (g_signal.compare_exchange_strong(none, sig)) continue;
      // The second signal: the default action, now (it was blocked: unblock it here and raise it).
      std::signal(sig, SIG_DFL);
      sigset_t one;
      sigemptyset(&one);
      sigaddset(&one, sig);
      pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
      raise(sig);
    }
  }
};

InterruptScope::InterruptScope() : watcher_(std::make_unique<Watcher>()) {
  g_signal.store(0);
  const sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, &watcher_->old_mask);
  watcher_->thread = std::thread([w = watcher_.get()] { w->run(); });
}

InterruptScope::~InterruptScope() {
  watcher_->done.store(true);
  pthread_kill(watcher_->thread.native_handle(), SIGTERM);  // blocked there: sigtimedwait takes it
  watcher_->thread.join();
  // A signal that came after the watcher stopped is still pending: it acts (by default, kills)
  // once unblocked, as a signal to a command that is finishing.
  pthread_sigmask(SIG_SETMASK, &watcher_->old_mask, nullptr);
}

bool interrupt_requested() { return g_signal.load(std::memory_order_relaxed) != 0; }

int interrupted_exit_status() { return 128 + g_signal.load(); }

}  // namespace app
