// sim/event_queue.hpp
// The future-event set. Events run in (when, seq) order: seq is a global insertion counter,
// so same-time events run FIFO and nothing depends on pointer or hash order.
// Cancel is lazy (the slot is freed, the heap entry becomes a tombstone that pop skips).
// Background events (periodic housekeeping such as ticks) do not keep a run alive: the
// engine ends a run when only background events remain. O(log n) push and pop.
// Timers are the other kind of event: at most one per key (a lane's park timeout), with no
// callback (the caller acts on the key), armed and disarmed in place in a heap of their own, and
// ordered with the callback events by the same (when, seq) as if each arming were a push. Spinners
// park and wake at nearly every step of a big stop_machine; a pushed and cancelled callback event
// each time cost a closure, a slot and a tombstone.
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
  /// Arms key's timer at `when` (a foreground event), replacing one already armed for key.
  void arm(std::uint32_t key, Time when);
  /// Disarms key's timer if armed.
  void disarm(std::uint32_t key);
  static constexpr std::uint32_t kNoTimer = UINT32_MAX;

  /// Time of the earliest live event, or Time::max() when none is left.
  Time next_time();
  /// Pops the earliest live event into when/fn; false iff none is left. When it is a timer, fn is
  /// empty and *timer is its key (which must then be non-null); otherwise *timer is kNoTimer.
  bool pop_next(Time& when, Callback& fn, std::uint32_t* timer = nullptr);
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

  struct Timer {
    Time when;
    std::uint64_t seq;
    std::uint32_t key;
  };
  static bool timer_before(const Timer& a, const Timer& b) {
    return a.when != b.when ? a.when < b.when : a.seq < b.seq;
  }
  void timer_place(std::size_t i);  ///< sifts timers_[i] up or down, keeping timer_pos_ exact
  void timer_remove(std::size_t i);
  std::vector<Timer> timers_;             // min-heap by (when, seq)
  std::vector<std::uint32_t> timer_pos_;  // key -> index in timers_, or kNoTimer

  std::vector<Entry> heap_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;  // LIFO reuse: deterministic
  std::uint64_t seq_next_ = 0;
  std::size_t live_ = 0;
  std::size_t foreground_ = 0;
};

}  // namespace sim
