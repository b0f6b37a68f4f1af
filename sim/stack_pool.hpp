// sim/stack_pool.hpp
// Recycling pool of fiber stacks. Each stack is an mmap'd region with a PROT_NONE guard page
// below it (when SMPSIM_STACK_GUARDS is on; off under ASan, which has its own redzones), so an
// overflow faults instead of corrupting a neighbour. Freed stacks go back on a LIFO free list:
// churning fibers (kthreads created per hotplug cycle) never pay mmap again. A destroyed pool
// hands its free stacks to a bounded per-thread cache that the next pool of the same stack size
// on the thread draws from, so a campaign's back-to-back simulations do not map them again.
// Invariant: outstanding() == 0 once every fiber has ended.
#pragma once

#include <cstddef>
#include <vector>

namespace sim {

struct StackBlock {
  void* base = nullptr;   ///< lowest usable address (above the guard page)
  std::size_t bytes = 0;  ///< usable size
  void* top() const { return static_cast<char*>(base) + bytes; }
};

class StackPool {
 public:
  explicit StackPool(std::size_t stack_bytes);
  ~StackPool();
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;

  StackBlock acquire();
  void release(StackBlock b);
  std::size_t stack_bytes() const { return stack_bytes_; }
  std::size_t outstanding() const { return outstanding_; }
  std::size_t mapped() const { return mapped_; }
  static bool guards_enabled();

 private:
  std::size_t stack_bytes_;
  std::size_t page_bytes_;
  std::vector<StackBlock> free_;
  std::size_t outstanding_ = 0;
  std::size_t mapped_ = 0;
};

}  // namespace sim
