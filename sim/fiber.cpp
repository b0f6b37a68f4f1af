// The single Boost.Context user (G2/G9). Switches are annotated for AddressSanitizer so that
// it tracks which stack is live; without the annotations ASan reports false stack overflows.
#include "sim/fiber.hpp"

#include "sim/assert.hpp"

#include <boost/context/fiber.hpp>
#include <boost/context/stack_context.hpp>

#include <exception>
#include <utility>

#if defined(SMPSIM_ASAN)
#include <sanitizer/common_interface_defs.h>
#endif

namespace ctx = boost::context;

namespace sim {

namespace {
// The fiber that made the last switch on this thread, or null for the scheduler. Whoever arrives
// reads it to learn whose continuation it was handed: the scheduler's (kept as `caller`) or a
// peer's after a handoff (kept as that peer's `self`). Set just before every switch and read
// just after it, so nested simulations on one thread do not disturb it.
thread_local Fiber::Impl* tl_switcher = nullptr;
}  // namespace

struct Fiber::Impl {
  Fiber* owner = nullptr;
  Body body;
  ctx::fiber self;    // the fiber's continuation while it is suspended
  ctx::fiber caller;  // the scheduler's continuation while the fiber runs
  const void* stack_bottom = nullptr;
  std::size_t stack_size = 0;
#if defined(SMPSIM_ASAN)
  const void* caller_bottom = nullptr;  // the scheduler's stack, learnt when it resumes the fiber
  std::size_t caller_size = 0;
  void* sched_fake_stack = nullptr;  // the scheduler's fake stack, saved while fibers run
  void* fiber_fake_stack = nullptr;  // the fiber's fake stack, saved while it is suspended
#endif

  void before_switch_to_fiber() {
#if defined(SMPSIM_ASAN)
    __sanitizer_start_switch_fiber(&sched_fake_stack, stack_bottom, stack_size);
#endif
  }
  void after_switch_back_from_fiber(Impl& yielder) {
#if defined(SMPSIM_ASAN)
    __sanitizer_finish_switch_fiber(yielder.sched_fake_stack, nullptr, nullptr);
#else
    (void)yielder;
#endif
  }
  void before_switch_to_caller(bool dying) {
#if defined(SMPSIM_ASAN)
    __sanitizer_start_switch_fiber(dying ? nullptr : &fiber_fake_stack, caller_bottom, caller_size);
#else
    (void)dying;
#endif
  }
  void before_switch_to_peer(Impl& to) {
#if defined(SMPSIM_ASAN)
    __sanitizer_start_switch_fiber(&fiber_fake_stack, to.stack_bottom, to.stack_size);
#else
    (void)to;
#endif
  }

  // This fiber runs again, handed `from`: the continuation of whoever switched to it.
  void arrive(ctx::fiber&& from) {
    Impl* peer = std::exchange(tl_switcher, nullptr);
    if (peer == nullptr) {
      caller = std::move(from);
#if defined(SMPSIM_ASAN)
      __sanitizer_finish_switch_fiber(fiber_fake_stack, &caller_bottom, &caller_size);
#endif
    } else {
      // The peer moved the scheduler's continuation (and, under ASan, its stack) here first.
      peer->self = std::move(from);
#if defined(SMPSIM_ASAN)
      __sanitizer_finish_switch_fiber(fiber_fake_stack, nullptr, nullptr);
#endif
    }
  }

  ctx::fiber entry(ctx::fiber&& from) {
    arrive(std::move(from));
    try {
      if (!owner->kill_requested_) body();
    } catch (const FiberKilled&) {
      owner->unwound_ = true;  // normal end of a killed fiber
    } catch (const std::exception& e) {
      owner->failed_ = true;
      owner->error_ = e.what();
    } catch (...) {
      owner->failed_ = true;
      owner->error_ = "non-standard exception";
    }
    body = nullptr;  // release captures while the stack is still ours
    owner->finished_ = true;
    before_switch_to_caller(true);
    tl_switcher = this;
    return std::move(caller);
  }
};

namespace {

// Adapts the pool to Boost's StackAllocator concept and records the block for ASan.
struct PoolAllocator {
  StackPool* pool;
  Fiber::Impl* impl;
  ctx::stack_context allocate() {
    const StackBlock b = pool->acquire();
    impl->stack_bottom = b.base;
    impl->stack_size = b.bytes;
    ctx::stack_context sc;
    sc.size = b.bytes;
    sc.sp = b.top();
    return sc;
  }
  void deallocate(ctx::stack_context& sc) {
    pool->release(StackBlock{static_cast<char*>(sc.sp) - sc.size, sc.size});
  }
};

}  // namespace

Fiber::Fiber(StackPool& pool, Body body) : impl_(std::make_unique<Impl>()) {
  impl_->owner = this;
  impl_->body = std::move(body);
  Impl* impl = impl_.get();
  impl_->self = ctx::fiber(std::allocator_arg, PoolAllocator{&pool, impl},
                           [impl](ctx::fiber&& from) { return impl->entry(std::move(from)); });
}

Fiber::~Fiber() {
  SIM_ASSERT_MSG(!running_, "a fiber cannot destroy itself");
  if (!finished_) kill();
}

void Fiber::resume() {
  SIM_ASSERT(!finished_ && !running_);
  running_ = true;
  impl_->before_switch_to_fiber();
  tl_switcher = nullptr;
  ctx::fiber back = std::move(impl_->self).resume();
  // Whoever yielded: this fiber, or the last of a chain of handoffs that began with it.
  Impl* yielder = std::exchange(tl_switcher, nullptr);
  SIM_ASSERT(yielder != nullptr);
  yielder->self = std::move(back);
  impl_->after_switch_back_from_fiber(*yielder);
  yielder->owner->running_ = false;
}

void Fiber::yield(bool return_on_kill) {
  SIM_ASSERT(running_);
  // After a return on kill, the fiber was to run to its end: a further yield would hand control
  // back to kill() with the fiber unfinished.
  if (kill_requested_ && std::uncaught_exceptions() == 0) throw FiberKilled{};
  impl_->before_switch_to_caller(false);
  tl_switcher = impl_.get();
  impl_->arrive(std::move(impl_->caller).resume());
  if (kill_requested_ && !return_on_kill) throw FiberKilled{};
}

void Fiber::handoff(Fiber& to, bool return_on_kill) {
  SIM_ASSERT(running_ && !to.running_ && !to.finished_ && &to != this);
  if (kill_requested_ && std::uncaught_exceptions() == 0) throw FiberKilled{};
  Impl& next = *to.impl_;
  next.caller = std::move(impl_->caller);
#if defined(SMPSIM_ASAN)
  next.caller_bottom = impl_->caller_bottom;
  next.caller_size = impl_->caller_size;
  next.sched_fake_stack = impl_->sched_fake_stack;
#endif
  running_ = false;
  to.running_ = true;
  impl_->before_switch_to_peer(next);
  tl_switcher = impl_.get();
  impl_->arrive(std::move(next.self).resume());
  if (kill_requested_ && !return_on_kill) throw FiberKilled{};
}

void Fiber::kill() {
  if (finished_) return;
  kill_requested_ = true;
  resume();
  SIM_ASSERT_MSG(finished_, "a killed fiber yielded instead of unwinding (catch (...) in fiber code?)");
}

void raw_context_switch_loop(std::uint64_t n) {
  ctx::fiber f([n](ctx::fiber&& caller) {
    for (std::uint64_t i = 0; i < n; ++i) caller = std::move(caller).resume();
    return std::move(caller);
  });
  for (std::uint64_t i = 0; i <= n && f; ++i) f = std::move(f).resume();
}

}  // namespace sim
