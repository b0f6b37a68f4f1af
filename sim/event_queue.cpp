#include "sim/event_queue.hpp"

#include "sim/assert.hpp"

#include <algorithm>

namespace sim {

namespace {
constexpr std::size_t kMaxLiveEvents = std::size_t{1} << 26;
constexpr std::size_t kSweepMin = 64;
}

EventId EventQueue::push(Time when, Callback fn, bool background) {
  SIM_ASSERT_MSG(live_ < kMaxLiveEvents, "event queue capacity exceeded");
  std::uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& s = slots_[slot];
  s.fn = std::move(fn);
  s.live = true;
  s.background = background;
  ++live_;
  if (!background) ++foreground_;
  heap_.push_back(Entry{when, seq_next_++, slot, s.gen});
  std::push_heap(heap_.begin(), heap_.end(), later);
  return EventId{slot, s.gen};
}

bool EventQueue::pending(EventId id) const {
  return id.valid() && id.slot < slots_.size() && slots_[id.slot].live && slots_[id.slot].gen == id.gen;
}

void EventQueue::release(std::uint32_t slot) {
  Slot& s = slots_[slot];
  s.live = false;
  s.fn = nullptr;
  ++s.gen;
  --live_;
  if (!s.background) --foreground_;
  free_slots_.push_back(slot);
}

void EventQueue::cancel(EventId id) {
  if (!pending(id)) return;
  release(id.slot);
  // Cancelled entries stay in the heap until they surface; when they are most of it (parked
  // spinners cancel a timeout at every wake-up), they are swept at once. Pop order depends only
  // on (when, seq), a total order, so rebuilding the heap changes nothing that runs.
  if (heap_.size() >= kSweepMin && heap_.size() > 2 * live_) {
    std::erase_if(heap_, [this](const Entry& e) { return dead(e); });
    std::make_heap(heap_.begin(), heap_.end(), later);
  }
}

void EventQueue::drop_dead_top() {
  while (!heap_.empty() && dead(heap_.front())) {
    std::pop_heap(heap_.begin(), heap_.end(), later);
    heap_.pop_back();
  }
}

Time EventQueue::next_time() {
  drop_dead_top();
  return heap_.empty() ? Time::max() : heap_.front().when;
}

bool EventQueue::pop_next(Time& when, Callback& fn) {
  drop_dead_top();
  if (heap_.empty()) return false;
  std::pop_heap(heap_.begin(), heap_.end(), later);
  const Entry e = heap_.back();
  heap_.pop_back();
  when = e.when;
  fn = std::move(slots_[e.slot].fn);
  release(e.slot);
  return true;
}

}  // namespace sim
