// sim/event_queue.hpp
// The future-event set. Events run in (when, seq) order: seq is a global insertion counter,
// so same-time events run FIFO and nothing depends on pointer or hash order.
// Cancel is lazy (the slot is freed, the heap entry becomes a tombstone that pop skips).
// Background events (periodic housekeeping such as ticks) do not keep a run alive: the
// engine ends a run when only background events remain. O(log n) push and pop.
#pragma once

#include "sim/time.hpp"

#include <cstdint>
#include <functional>
#include <vector>

namespace sim {

/// Cancel handle. A default-constructed id refers to nothing; stale ids are harmless.
struct EventId {
  std::uint32_t slot = UINT32_MAX;
  std::uint32_t gen = 0;
  bool valid() const { return slot != UINT32_MAX; }
};

class EventQueue {
 public:
  using Callback = std::function<void()>;

  EventId push(Time when, Callback fn, bool background = false);  ///< O(log n)
  void cancel(EventId id);                                         ///< idempotent
  bool pending(EventId id) const;                                  ///< scheduled and not yet run
  /// Time of the earliest live event, or Time::max() when none is left.
  Time next_time();
  /// Pops the earliest live event into when/fn; false iff none is left.
  bool pop_next(Time& when, Callback& fn);
  std::size_t live_count() const { return live_; }
  std::size_t foreground_count() const { return foreground_; }
  std::uint64_t pushed_total() const { return seq_next_; }
  /// Heap entries, cancelled ones not yet swept included.
  std::size_t heap_entries() const { return heap_.size(); }

 private:
  struct Entry {
    Time when;
    std::uint64_t seq;
    std::uint32_t slot;
    std::uint32_t gen;
  };
  struct Slot {
    Callback fn;
    std::uint32_t gen = 0;
    bool live = false;
    bool background = false;
  };
  static bool later(const Entry& a, const Entry& b) {
    return a.when != b.when ? a.when > b.when : a.seq > b.seq;
  }
  /// A cancelled (or already run) event's entry, left in the heap until it surfaces or is swept.
  bool dead(const Entry& e) const { return !slots_[e.slot].live || slots_[e.slot].gen != e.gen; }
  void drop_dead_top();
  void release(std::uint32_t slot);

  std::vector<Entry> heap_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;  // LIFO reuse: deterministic
  std::uint64_t seq_next_ = 0;
  std::size_t live_ = 0;
  std::size_t foreground_ = 0;
};

}  // namespace sim
