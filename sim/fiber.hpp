// sim/fiber.hpp
// A cooperative fiber: the engine's only execution primitive besides its own loop, and the only
// place that touches Boost.Context (the implementation hides it). Control always goes
// scheduler -> fiber -> scheduler, except that a running fiber may hand control straight to a
// suspended one (handoff), which then yields to the scheduler in its place: one switch instead of
// two through the scheduler's loop. An exception escaping the body is captured (not propagated through
// the context switch) and reported by the engine as a simulation failure.
// A suspended fiber is ended with kill(): its pending yield() throws FiberKilled, so the stack
// unwinds through ordinary C++ (RAII runs, sanitizer annotations stay paired). Body code must
// therefore never swallow exceptions with catch (...). A yield made with return_on_kill is
// instead ended by returning: the fiber's code then returns to the body's end by itself, which
// costs a few hundred instructions where an unwind walks every frame (~25k).
#pragma once

#include "sim/stack_pool.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace sim {

/// Thrown inside a fiber that is being killed; only Fiber itself catches it.
struct FiberKilled {};

class Fiber {
 public:
  using Body = std::function<void()>;
  Fiber(StackPool& pool, Body body);
  ~Fiber();
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;

  /// Scheduler side: run the fiber until it yields or ends.
  void resume();
  /// Fiber side: return control to the scheduler. After kill() it throws FiberKilled, or, if
  /// `return_on_kill`, returns; any yield() after that throws before switching.
  void yield(bool return_on_kill = false);
  /// Fiber side: suspend this fiber and run `to` (suspended or not yet started) as if this one had
  /// yielded and the scheduler had then resumed `to`: the scheduler's pending resume() returns
  /// when `to`, or a fiber it hands on to, yields. Returns, or throws on kill, as yield() does.
  void handoff(Fiber& to, bool return_on_kill = false);
  /// Scheduler side: unwind a suspended (or never started) fiber to its end.
  void kill();

  bool finished() const { return finished_; }
  bool running() const { return running_; }
  /// Set once the body ended by throwing; the text of the exception.
  const std::string& error() const { return error_; }
  bool failed() const { return failed_; }
  /// Set once a kill() ended the fiber by unwinding (FiberKilled), not by a quiet return.
  bool unwound() const { return unwound_; }

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  bool finished_ = false;
  bool running_ = false;
  bool failed_ = false;
  bool kill_requested_ = false;
  bool unwound_ = false;
  std::string error_;
  friend struct Impl;
};

/// Baseline for benchmarks: `n` round trips (resume + yield) of a bare Boost.Context fiber with a
/// trivial body, bypassing this wrapper's bookkeeping. Lives here to keep Boost.Context in one file.
void raw_context_switch_loop(std::uint64_t n);

}  // namespace sim
