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
  // Cancelled entries stay in the heap until they surface; when they are most of it, they are
  // swept at once (the armed timers count in live_ but live apart). Pop order depends only on
  // (when, seq), a total order, so rebuilding the heap changes nothing that runs.
  if (heap_.size() >= kSweepMin && heap_.size() > 2 * (live_ - timers_.size())) {
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

void EventQueue::timer_place(std::size_t i) {
  const Timer t = timers_[i];
  while (i > 0) {  // up
    const std::size_t p = (i - 1) / 2;
    if (!timer_before(t, timers_[p])) break;
    timers_[i] = timers_[p];
    timer_pos_[timers_[i].key] = static_cast<std::uint32_t>(i);
    i = p;
  }
  for (;;) {  // down
    const std::size_t a = 2 * i + 1;
    if (a >= timers_.size()) break;
    std::size_t m = a;
    if (a + 1 < timers_.size() && timer_before(timers_[a + 1], timers_[a])) m = a + 1;
    if (!timer_before(timers_[m], t)) break;
    timers_[i] = timers_[m];
    timer_pos_[timers_[i].key] = static_cast<std::uint32_t>(i);
    i = m;
  }
  timers_[i] = t;
  timer_pos_[t.key] = static_cast<std::uint32_t>(i);
}

void EventQueue::timer_remove(std::size_t i) {
  timer_pos_[timers_[i].key] = kNoTimer;
  --live_;
  --foreground_;
  const Timer last = timers_.back();
  timers_.pop_back();
  if (i < timers_.size()) {
    timers_[i] = last;
    timer_place(i);
  }
}

void EventQueue::arm(std::uint32_t key, Time when) {
  SIM_ASSERT(key != kNoTimer);
  if (key >= timer_pos_.size()) timer_pos_.resize(key + 1, kNoTimer);
  const Timer t{when, seq_next_++, key};
  if (const std::uint32_t at = timer_pos_[key]; at != kNoTimer) {
    timers_[at] = t;
    timer_place(at);
    return;
  }
  SIM_ASSERT_MSG(live_ < kMaxLiveEvents, "event queue capacity exceeded");
  ++live_;
  ++foreground_;
  timers_.push_back(t);
  timer_place(timers_.size() - 1);
}

void EventQueue::disarm(std::uint32_t key) {
  if (key < timer_pos_.size() && timer_pos_[key] != kNoTimer) timer_remove(timer_pos_[key]);
}

Time EventQueue::next_time() {
  drop_dead_top();
  const Time ev = heap_.empty() ? Time::max() : heap_.front().when;
  return timers_.empty() ? ev : min(ev, timers_.front().when);
}

bool EventQueue::pop_next(Time& when, Callback& fn, std::uint32_t* timer) {
  drop_dead_top();
  if (timer != nullptr) *timer = kNoTimer;
  const bool timer_first =
      !timers_.empty() && (heap_.empty() || timer_before(timers_.front(), Timer{heap_.front().when, heap_.front().seq, 0}));
  if (timer_first) {
    SIM_ASSERT_MSG(timer != nullptr, "a timer is due but the caller takes callback events only");
    when = timers_.front().when;
    fn = nullptr;
    *timer = timers_.front().key;
    timer_remove(0);
    return true;
  }
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
