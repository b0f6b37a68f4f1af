#include "sim/stack_pool.hpp"

#include "sim/assert.hpp"

#include <sys/mman.h>
#if defined(SMPSIM_ASAN)
#include <sanitizer/asan_interface.h>
#endif
#include <unistd.h>

#include <new>

namespace sim {

bool StackPool::guards_enabled() {
#if defined(SMPSIM_STACK_GUARDS) && !defined(SMPSIM_ASAN)
  return true;
#else
  return false;
#endif
}

StackPool::StackPool(std::size_t stack_bytes) : page_bytes_(static_cast<std::size_t>(sysconf(_SC_PAGESIZE))) {
  stack_bytes_ = (stack_bytes + page_bytes_ - 1) / page_bytes_ * page_bytes_;
  SIM_ASSERT(stack_bytes_ >= 4 * page_bytes_);
}

StackPool::~StackPool() {
  const std::size_t guard = guards_enabled() ? page_bytes_ : 0;
  for (const auto& b : free_) munmap(static_cast<char*>(b.base) - guard, b.bytes + guard);
}

StackBlock StackPool::acquire() {
  ++outstanding_;
  if (!free_.empty()) {
    StackBlock b = free_.back();
    free_.pop_back();
#if defined(SMPSIM_ASAN)
    // A fiber unwound by kill() may leave stack redzones poisoned: a reused stack starts clean.
    ASAN_UNPOISON_MEMORY_REGION(b.base, b.bytes);
#endif
    return b;
  }
  const std::size_t guard = guards_enabled() ? page_bytes_ : 0;
  void* p = mmap(nullptr, stack_bytes_ + guard, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  if (guard != 0) SIM_ASSERT(mprotect(p, guard, PROT_NONE) == 0);
  ++mapped_;
  return StackBlock{static_cast<char*>(p) + guard, stack_bytes_};
}

void StackPool::release(StackBlock b) {
  SIM_ASSERT(outstanding_ > 0);
  --outstanding_;
  free_.push_back(b);
}

}  // namespace sim
