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

namespace {

void unmap(const StackBlock& b, std::size_t guard) { munmap(static_cast<char*>(b.base) - guard, b.bytes + guard); }

// Stacks outlive their pool in a per-thread cache: a campaign builds one simulation per run,
// and mapping (then faulting in) a fresh set of stacks each time cost more than the run itself.
// Bounded, so a 4096-CPU run does not keep gigabytes mapped afterwards.
struct StackCache {
  static constexpr std::size_t kMaxStacks = 256;
  std::vector<StackBlock> blocks;
  std::size_t bytes = 0;  ///< one stack size is cached (the first pool's): runs share a config
  std::size_t guard = 0;
  ~StackCache();
};
thread_local StackCache t_cache;
// Set once the thread's cache is destroyed: a pool that outlives it (a simulation in static
// storage) unmaps its stacks itself.
thread_local bool t_cache_gone = false;

StackCache::~StackCache() {
  for (const auto& b : blocks) unmap(b, guard);
  t_cache_gone = true;
}

}  // namespace

StackPool::~StackPool() {
  const std::size_t guard = guards_enabled() ? page_bytes_ : 0;
  if (t_cache_gone) {
    for (const auto& b : free_) unmap(b, guard);
    return;
  }
  if (t_cache.bytes == 0) {
    t_cache.bytes = stack_bytes_;
    t_cache.guard = guard;
  }
  for (const auto& b : free_) {
    if (t_cache.blocks.size() < StackCache::kMaxStacks && b.bytes == t_cache.bytes) t_cache.blocks.push_back(b);
    else unmap(b, guard);
  }
}

StackBlock StackPool::acquire() {
  ++outstanding_;
  if (free_.empty() && !t_cache_gone && stack_bytes_ == t_cache.bytes && !t_cache.blocks.empty()) {
    free_.push_back(t_cache.blocks.back());
    t_cache.blocks.pop_back();
  }
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
