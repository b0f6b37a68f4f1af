#include "sim/event_queue.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace sim;
using namespace sim::literals;

TEST_CASE("event queue: same-time events run in insertion order (FIFO)") {
  EventQueue q;
  std::vector<int> order;
  for (int i = 0; i < 10; ++i) q.push(Time::zero() + 5_us, [&order, i] { order.push_back(i); });
  Time when;
  EventQueue::Callback fn;
  while (q.pop_next(when, fn)) {
    CHECK(when == Time::zero() + 5_us);
    fn();
  }
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
}

TEST_CASE("event queue: events run in time order regardless of insertion order") {
  EventQueue q;
  std::vector<int> order;
  q.push(Time::zero() + 30_ns, [&] { order.push_back(3); });
  q.push(Time::zero() + 10_ns, [&] { order.push_back(1); });
  q.push(Time::zero() + 20_ns, [&] { order.push_back(2); });
  Time when;
  EventQueue::Callback fn;
  while (q.pop_next(when, fn)) fn();
  CHECK(order == std::vector<int>{1, 2, 3});
}

TEST_CASE("event queue: a cancelled event never runs and cancel is idempotent") {
  EventQueue q;
  int ran = 0;
  const EventId a = q.push(Time::zero() + 1_ns, [&] { ran += 1; });
  q.push(Time::zero() + 2_ns, [&] { ran += 10; });
  CHECK(q.pending(a));
  q.cancel(a);
  q.cancel(a);
  CHECK_FALSE(q.pending(a));
  CHECK(q.live_count() == 1);
  CHECK(q.next_time() == Time::zero() + 2_ns);
  Time when;
  EventQueue::Callback fn;
  while (q.pop_next(when, fn)) fn();
  CHECK(ran == 10);
}

TEST_CASE("event queue: a stale id does not cancel the event that reused its slot") {
  EventQueue q;
  int ran = 0;
  const EventId a = q.push(Time::zero(), [] {});
  q.cancel(a);
  q.push(Time::zero(), [&] { ++ran; });  // reuses a's slot
  q.cancel(a);
  Time when;
  EventQueue::Callback fn;
  while (q.pop_next(when, fn)) fn();
  CHECK(ran == 1);
}

TEST_CASE("event queue: background events are not counted as foreground work") {
  EventQueue q;
  q.push(Time::zero(), [] {}, true);
  CHECK(q.live_count() == 1);
  CHECK(q.foreground_count() == 0);
  q.push(Time::zero(), [] {});
  CHECK(q.foreground_count() == 1);
}

TEST_CASE("event queue: cancelling most events sweeps them out, and the others still run in (time, insertion) order") {
  EventQueue q;
  std::vector<EventId> ids;
  std::vector<std::pair<std::int64_t, int>> expected;  // (time, insertion index) of the survivors
  std::vector<int> order;
  for (int i = 0; i < 400; ++i) {
    const std::int64_t t = (i * 7919) % 97;  // many equal times, out of insertion order
    ids.push_back(q.push(Time::from_ns(t), [&order, i] { order.push_back(i); }));
    if (i % 5 == 0) expected.emplace_back(t, i);
  }
  for (int i = 0; i < 400; ++i)
    if (i % 5 != 0) q.cancel(ids[static_cast<std::size_t>(i)]);
  CHECK(q.live_count() == 80);
  CHECK(q.heap_entries() <= 2 * 80);  // swept: not 400 entries waiting to surface
  std::sort(expected.begin(), expected.end());
  Time when;
  EventQueue::Callback fn;
  while (q.pop_next(when, fn)) fn();
  std::vector<int> want;
  for (const auto& e : expected) want.push_back(e.second);
  CHECK(order == want);
  CHECK(q.heap_entries() == 0);
}

TEST_CASE("event queue: keyed timers run with callback events in (time, arming order), re-arming moves one, disarm removes it") {
  EventQueue q;
  std::vector<std::string> order;
  const Time t0 = Time::zero();
  q.push(t0 + 10_ns, [&] { order.push_back("e10a"); });
  q.arm(3, t0 + 10_ns);   // same time, armed after e10a: runs after it
  q.push(t0 + 10_ns, [&] { order.push_back("e10b"); });
  q.arm(5, t0 + 5_ns);
  q.arm(7, t0 + 40_ns);
  q.arm(5, t0 + 30_ns);   // re-armed: one timer for key 5, now at 30
  q.push(t0 + 20_ns, [&] { order.push_back("e20"); });
  q.arm(9, t0 + 25_ns);
  q.disarm(9);
  q.disarm(9);            // idempotent
  q.disarm(42);           // never armed
  CHECK(q.live_count() == 6);
  CHECK(q.foreground_count() == 6);
  Time when;
  EventQueue::Callback fn;
  std::uint32_t timer = 0;
  std::vector<Time> times;
  while (q.pop_next(when, fn, &timer)) {
    times.push_back(when);
    if (timer != EventQueue::kNoTimer) order.push_back("t" + std::to_string(timer));
    else fn();
  }
  CHECK(order == std::vector<std::string>{"e10a", "t3", "e10b", "e20", "t5", "t7"});
  CHECK(std::is_sorted(times.begin(), times.end()));
  CHECK(q.live_count() == 0);
  CHECK(q.foreground_count() == 0);
  CHECK(q.next_time() == Time::max());
}

TEST_CASE("event queue: timers re-armed and disarmed at random among callback events pop as pushed and cancelled events would") {
  EventQueue q;
  // A reference: what pushing a fresh event per arming (and cancelling the old one) would run.
  EventQueue ref;
  std::vector<EventId> ref_id(64);
  std::uint32_t ran_key = 0;
  std::uint64_t x = 7;
  for (int i = 0; i < 2000; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    const auto key = static_cast<std::uint32_t>((x >> 33) % 64);
    const Time when = Time::zero() + Duration::ns(static_cast<std::int64_t>((x >> 20) % 50));
    if ((x >> 60) % 4 == 0) {
      q.disarm(key);
      ref.cancel(ref_id[key]);
    } else if ((x >> 60) % 4 == 1) {  // a callback event in both, reported as key 1000 + its number
      const auto tag = static_cast<std::uint32_t>(1000 + i);
      q.push(when, [&ran_key, tag] { ran_key = tag; });
      ref.push(when, [&ran_key, tag] { ran_key = tag; });
    } else {
      q.arm(key, when);
      ref.cancel(ref_id[key]);
      ref_id[key] = ref.push(when, [&ran_key, key] { ran_key = key; });
    }
  }
  CHECK(q.live_count() == ref.live_count());
  std::vector<std::pair<Time, std::uint32_t>> got, want;
  Time when;
  EventQueue::Callback fn;
  std::uint32_t timer = 0;
  while (q.pop_next(when, fn, &timer)) {
    if (timer == EventQueue::kNoTimer) fn();
    got.emplace_back(when, timer == EventQueue::kNoTimer ? ran_key : timer);
  }
  while (ref.pop_next(when, fn)) {
    fn();
    want.emplace_back(when, ran_key);
  }
  CHECK(got.size() > 20);
  CHECK(got == want);
}
