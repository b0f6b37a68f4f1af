#include "sim/sim.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <utility>

namespace sim {

namespace {
thread_local Sim* tl_current = nullptr;
constexpr std::size_t kDefaultStackBytes =
#if defined(SMPSIM_ASAN)
    1024 * 1024;  // ASan frames are several times larger; mapped lazily, so cheap
#else
    64 * 1024;
#endif
constexpr std::size_t kMaxReadSet = 64;
constexpr std::uint32_t kBlindRelaxes = 64;  // consecutive relaxes with nothing watched before parking
}  // namespace

void assert_fail(const char* expr, const char* file, int line, const std::string& msg) {
  throw InternalError(fmt::format("internal error: {}:{}: assertion '{}' failed{}{}", file, line, expr,
                                  msg.empty() ? "" : ": ", msg));
}

const char* to_string(Granularity g) {
  switch (g) {
    case Granularity::None: return "none";
    case Granularity::Locks: return "locks";
    case Granularity::Shared: return "shared";
  }
  return "?";
}

std::optional<Granularity> granularity_from_string(const std::string& s) {
  if (s == "none") return Granularity::None;
  if (s == "locks") return Granularity::Locks;
  if (s == "shared") return Granularity::Shared;
  return std::nullopt;
}

const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::Completed: return "completed";
    case Outcome::Failed: return "failed";
    case Outcome::StepLimit: return "step-limit";
    case Outcome::TimeLimit: return "time-limit";
    case Outcome::Deadlock: return "deadlock";
    case Outcome::Livelock: return "livelock";
    case Outcome::InternalError: return "internal-error";
  }
  return "?";
}

static std::unique_ptr<SchedPolicy> make_policy(const Config& cfg, const Rng& root) {
  switch (cfg.policy) {
    case PolicyKind::Fifo: return std::make_unique<FifoPolicy>();
    case PolicyKind::Random: return std::make_unique<RandomPolicy>(root.fork("sched.policy"));
    case PolicyKind::Pct:
      return std::make_unique<PctPolicy>(root.fork("sched.policy"), cfg.lanes, cfg.pct_depth, cfg.pct_steps,
                                         cfg.pct_stall > Duration{});
    case PolicyKind::Replay: return std::make_unique<ReplayPolicy>(cfg.replay);
  }
  return std::make_unique<FifoPolicy>();
}

Sim::Sim(Config cfg)
    : cfg_(std::move(cfg)),
      prev_current_(tl_current),
      pool_(cfg_.stack_bytes != 0 ? cfg_.stack_bytes : kDefaultStackBytes),
      root_(cfg_.seed),
      chooser_(make_policy(cfg_, root_), cfg_.record_choices) {
  SIM_ASSERT(cfg_.lanes >= 1);
  tl_current = this;
  lanes_.resize(cfg_.lanes);
  // The ready heap never holds more than every lane: the step loop's scratch is sized once.
  ready_scratch_.resize(cfg_.lanes);
  bfs_scratch_.resize(cfg_.lanes);
  for (auto& l : lanes_) l.state = LaneState::Halted;
  trace_ = std::make_unique<Trace>([this] { return trace_context(); });
}

Sim::~Sim() {
  end_fibers();
  fibers_.clear();
  trace_.reset();
  tl_current = prev_current_;
}

std::size_t Sim::end_fibers() {
  SIM_ASSERT_MSG(!in_fiber(), "end_fibers() from inside a fiber");
  tearing_down_ = true;
  std::size_t unwound = 0;
  for (auto& f : fibers_) {
    if (!f->fiber->finished()) {
      running_ = static_cast<FiberId>(&f - fibers_.data());
      running_lane_ = f->lane;
      f->fiber->kill();
      if (f->fiber->unwound()) ++unwound;
    }
  }
  running_ = kNoFiber;
  running_lane_ = kNoLane;
  return unwound;
}

bool Sim::ending() { return tl_current != nullptr && tl_current->tearing_down_; }

Sim::QuietExit::QuietExit() {
  Sim& s = current();
  if (!s.in_fiber()) return;
  flag_ = &s.fibers_[s.running_]->quiet_exit;
  prev_ = std::exchange(*flag_, true);
}

Sim::QuietExit::~QuietExit() {
  if (flag_ != nullptr) *flag_ = prev_;
}

Sim* Sim::current_or_null() { return tl_current; }
Sim& Sim::current() {
  SIM_ASSERT_MSG(tl_current != nullptr, "no simulation on this thread");
  return *tl_current;
}

// ---------------------------------------------------------------------------------------------
// Fibers and lanes

FiberId Sim::spawn(std::string name, Fiber::Body body, SpawnOptions opts) {
  auto rec = std::make_unique<FiberRec>();
  rec->name = std::move(name);
  rec->essential = opts.essential;
  rec->user = opts.user;
  rec->fiber = std::make_unique<Fiber>(pool_, std::move(body));
  fibers_.push_back(std::move(rec));
  return static_cast<FiberId>(fibers_.size() - 1);
}

void Sim::set_current(LaneId l, FiberId f) {
  SIM_ASSERT(l < lanes_.size() && f < fibers_.size());
  Lane& lane = lanes_[l];
  SIM_ASSERT_MSG(lane.current == kNoFiber, "lane already has a running fiber");
  SIM_ASSERT_MSG(fibers_[f]->lane == kNoLane, "fiber already current on a lane");
  lane.current = f;
  fibers_[f]->lane = l;
  if (lane.state != LaneState::Ready) unpark(l, now_, false);
}

void Sim::kick(LaneId l, Time at) {
  SIM_ASSERT(l < lanes_.size());
  if (lanes_[l].current == kNoFiber) return;
  unpark(l, at, true);
}

void Sim::stall_lane(LaneId l, Time until) {
  SIM_ASSERT(l < lanes_.size());
  Lane& lane = lanes_[l];
  lane.stalled_until = max(lane.stalled_until, until);
  if (lane.state != LaneState::Ready || lane.clock >= until) return;
  lane.clock = until;
  heap_update(l);
}

void Sim::unpark(LaneId l, Time at, bool by_kick) {
  Lane& lane = lanes_[l];
  if (lane.state == LaneState::Ready) return;
  const Time wake = max(max(lane.clock, at), lane.stalled_until);
  const Duration parked = wake - lane.parked_at;
  switch (lane.state) {
    case LaneState::Spinning: lane.stats.spin += parked; --spinning_; break;
    case LaneState::Waiting: lane.stats.waiting += parked; --waiting_; break;
    case LaneState::Halted: lane.stats.halted += parked; break;
    case LaneState::Ready: break;
  }
  events_.disarm(l);
  lane.state = LaneState::Ready;
  lane.clock = wake;
  if (lane.current != kNoFiber) {
    fibers_[lane.current]->woken_by_kick = by_kick;
    heap_push(l);
  }
}

void Sim::park(LaneState how, Time timeout_at) {
  SIM_ASSERT(in_fiber());
  const LaneId l = running_lane_;
  Lane& lane = lanes_[l];
  SIM_ASSERT(lane.state == LaneState::Ready);
  heap_remove(l);
  lane.state = how;
  lane.parked_at = lane.clock;
  if (how == LaneState::Spinning) ++spinning_;
  if (how == LaneState::Waiting) ++waiting_;
  fibers_[running_]->woken_by_kick = false;
  if (timeout_at != Time::max()) {
    events_.arm(l, max(timeout_at, lane.clock));  // keyed by lane: unparks it (run_loop)
  }
  if (how == LaneState::Spinning) check_livelock();
  if (!end_step_in_fiber(true)) yield_to_scheduler(true);
}

void Sim::yield_to_scheduler(bool wait) {
  FiberRec& f = *fibers_[running_];
  f.fiber->yield(wait && f.quiet_exit);
}

// During teardown a fiber being killed must not keep running: every would-be interleaving point
// throws FiberKilled again (even if fiber code swallowed the first one), unless it is already
// unwinding, where throwing would terminate.
bool Sim::teardown_point() const {
  if (!tearing_down_) return false;
  if (std::uncaught_exceptions() == 0) throw FiberKilled{};
  return true;
}

void Sim::point(PointKind kind) {
  if (!in_fiber() || teardown_point()) return;
  if (static_cast<int>(kind) > static_cast<int>(cfg_.granularity)) return;
  if (point_hook_) point_hook_();
  yield_point(cfg_.step_cost);
}

// The run loop's first question, asked by the loop and by a fiber ending its step in place alike:
// stop (and why), fire the next event, or pick a lane. Sets the earliest ready clock and the next
// event's time when it gets that far.
inline Sim::Next Sim::next_action(Time& t_ready, Time& t_ev) {
  if (failure_) return Next::Failed;
  if (steps_ >= cfg_.max_steps) return Next::StepLimit;
  if (heap_.empty() && events_.foreground_count() == 0) return Next::Idle;
  t_ready = heap_.empty() ? Time::max() : heap_clock_[0];
  t_ev = events_.next_time();
  if (t_ev <= t_ready && t_ev != Time::max()) return t_ev > cfg_.max_time ? Next::TimeLimit : Next::Event;
  return t_ready > cfg_.max_time ? Next::TimeLimit : Next::Step;
}

void Sim::yield_point(Duration cost) {
  if (teardown_point()) return;
  SIM_ASSERT(in_fiber());
  lanes_[running_lane_].clock += cost;
  if (end_step_in_fiber(false)) return;
  // Not a wait: inside a QuietExit scope the code after a point would go on as if the run
  // continued, so a kill here unwinds.
  yield_to_scheduler(false);
}

// The running fiber ends its step here, as step_lane would after the switch back, and makes the
// run loop's next decision itself, with the same code and draws. When the decision is this fiber,
// it just goes on: the run is the one the loop would have made, without the two context
// switches. Another fiber is switched to directly, as step_lane would resume it, and returns to
// the loop in this fiber's place when its step ends: one switch instead of two. Anything else (an
// event due, a limit, a stall) goes back to the loop's top, which depends only on state. `wait`
// is the yield's (a park or a task switch, not an interleaving point). Returns whether this
// fiber's next step has begun; false: yield to the loop.
bool Sim::end_step_in_fiber(bool wait) {
  if (!cfg_.continue_in_place || !checkers_.empty()) return false;
  const LaneId l = running_lane_;
  ++steps_;
  ++lanes_[l].stats.steps;
  if (lanes_[l].state == LaneState::Ready) heap_update(l);
  step_ended_ = true;
  Time t_ready, t_ev;
  if (next_action(t_ready, t_ev) != Next::Step) return false;
  const LaneId chosen = decide_next(t_ready, t_ev);
  if (chosen == kNoLane) return false;
  step_ended_ = false;
  const FiberId self = running_;
  const FiberId next = lanes_[chosen].current;
  SIM_ASSERT(next != kNoFiber && lanes_[chosen].state == LaneState::Ready);
  if (next == self) {
    ++in_place_;
    return true;
  }
  running_ = next;
  running_lane_ = chosen;
  ++handoffs_;
  FiberRec& me = *fibers_[self];
  me.fiber->handoff(*fibers_[next]->fiber, wait && me.quiet_exit);
  return true;
}

// The run loop's pick, once no event is due before the earliest ready lane (t_ready) and no limit
// is hit: the lane to step, chosen by the policy among the ready ones, or kNoLane after a stall
// (which moves a clock, so the loop starts over).
LaneId Sim::decide_next(Time t_ready, Time t_ev) {
  now_ = max(now_, t_ready);
  LaneId chosen = heap_[0];
  if (heap_.size() > 1) {
    Time bound = t_ready + cfg_.skew;
    if (t_ev != Time::max()) bound = min(bound, t_ev - Duration::ns(1));
    const std::size_t cap = std::max<std::size_t>(cfg_.max_choices, 1);
    // Heap (BFS) order: deterministic, earliest lane first, so index 0 is what FIFO runs. With 64
    // CPUs in lock-step the whole heap is usually inside the window: then it is the list as is.
    const LaneId* ready = heap_.data();
    std::size_t m = std::min(heap_.size(), cap);
    if (heap_clock_hi_ > bound) {
      m = collect_ready(bound, ready_scratch_.data(), cap);
      ready = ready_scratch_.data();
    }
    if (m > 1) chosen = ready[chooser_.pick(std::span<const LaneId>(ready, m))];
  }
  // A policy stall (a PCT change point) is logged by its length alone; a random stall also by
  // the yes/no that precedes it.
  const bool policy_stall = cfg_.pct_stall > Duration{} && chooser_.stall_picked();
  if (policy_stall || (cfg_.stall_ratio.num != 0 && chance(ChoiceKind::Stall, cfg_.stall_ratio, "sched"))) {
    const std::uint32_t v = choose(ChoiceKind::StallLen, 4, "sched");
    lanes_[chosen].clock += (policy_stall ? cfg_.pct_stall : cfg_.stall_max) * (v + 1) / 4;
    heap_update(chosen);
    return kNoLane;
  }
  return chosen;
}

void Sim::advance(Duration d) {
  SIM_ASSERT(in_fiber());
  lanes_[running_lane_].clock += d;
}

void Sim::relax() {
  if (teardown_point()) return;
  SIM_ASSERT(in_fiber());
  if (point_hook_) point_hook_();
  FiberRec& f = *fibers_[running_];
  if (f.read_set.empty() && !f.read_set_overflow && ++f.blind_relaxes > kBlindRelaxes) {
    // A loop that polls nothing watched (a value kept in a register): iterate only at the
    // timeout quantum or on a kick, so it costs per quantum rather than per iteration.
    Lane& lane = lanes_[running_lane_];
    lane.clock += cfg_.step_cost;
    ++f.park_gen;
    f.parked_words.clear();
    park(LaneState::Spinning, lane.clock + cfg_.relax_timeout);
    return;
  }
  if (!f.read_set.empty()) f.blind_relaxes = 0;
  bool stale = f.read_set.empty() || f.read_epoch != destroy_epoch_ || f.read_set_overflow;
  f.read_set_overflow = false;
  if (!stale) {
    for (const auto& e : f.read_set)
      if (e.word->version_ != e.version) { stale = true; break; }
  }
  if (stale) {
    // Nothing to wait for, or a word already changed since it was read: iterate again.
    f.read_set.clear();
    yield_point(cfg_.step_cost);
    return;
  }
  const std::uint64_t gen = ++f.park_gen;
  for (const auto& e : f.read_set) e.word->watchers_.push_back(WatchedBase::Watcher{running_, gen});
  f.parked_words.clear();
  for (const auto& e : f.read_set) f.parked_words.push_back(e.word->name());
  f.read_set.clear();
  Lane& lane = lanes_[running_lane_];
  lane.clock += cfg_.step_cost;
  park(LaneState::Spinning, lane.clock + cfg_.relax_timeout);
}

bool Sim::wait_until(Time deadline) {
  if (teardown_point()) return false;
  SIM_ASSERT(in_fiber());
  if (lanes_[running_lane_].clock >= deadline) return false;
  park(LaneState::Waiting, deadline);
  return fibers_[running_]->woken_by_kick && lanes_[running_lane_].clock < deadline;
}

void Sim::halt() {
  if (teardown_point()) return;
  park(LaneState::Halted, Time::max());
}

void Sim::switch_to(FiberId next) {
  if (teardown_point()) return;
  SIM_ASSERT(in_fiber());
  SIM_ASSERT(next < fibers_.size() && next != running_);
  SIM_ASSERT_MSG(fibers_[next]->lane == kNoLane, "switch_to a fiber that is running elsewhere");
  SIM_ASSERT_MSG(!fibers_[next]->fiber->finished(), "switch_to a finished fiber");
  const LaneId l = running_lane_;
  fibers_[running_]->lane = kNoLane;
  fibers_[running_]->read_set.clear();  // reads before a context switch say nothing about a spin
  lanes_[l].current = next;
  fibers_[next]->lane = l;
  if (!end_step_in_fiber(true)) yield_to_scheduler(true);
}

// ---------------------------------------------------------------------------------------------
// Time and events

Time Sim::now() const { return in_fiber() && running_lane_ != kNoLane ? lanes_[running_lane_].clock : now_; }

EventId Sim::at(Time when, EventQueue::Callback fn, bool background) {
  SIM_ASSERT_MSG(when >= now_, "event scheduled in the past");
  return events_.push(when, std::move(fn), background);
}

Rng& Sim::stream(const std::string& name) {
  auto it = streams_.find(name);
  if (it == streams_.end()) it = streams_.emplace(name, root_.fork(name)).first;  // forked once per name
  return it->second;
}

std::uint32_t Sim::choose(ChoiceKind k, std::uint32_t options, const std::string& stream_name) {
  return chooser_.choose(k, options, stream(stream_name));
}

bool Sim::chance(ChoiceKind k, Ratio r, const std::string& stream_name) {
  return chooser_.chance(k, r, stream(stream_name));
}

// ---------------------------------------------------------------------------------------------
// Checking and failure

void Sim::add_checker(std::string name, std::function<void()> fn) { checkers_.emplace_back(std::move(name), std::move(fn)); }

Failure Sim::make_failure(std::string kind, std::string message, std::string place) const {
  Failure f;
  f.kind = std::move(kind);
  f.message = std::move(message);
  f.place = std::move(place);
  f.time = now();
  f.step = steps_;
  const TraceContext ctx = trace_context();
  f.cpu = ctx.cpu;
  f.task = std::string(ctx.task);
  f.seed = cfg_.seed;
  return f;
}

void Sim::fail(Failure f) {
  if (failure_) return;
  trace_->event("sim", Level::Error, "sim.failure", "kind={} place={} msg=\"{}\"", f.kind,
                f.place.empty() ? "-" : f.place, f.message);
  failure_ = std::move(f);
}

void Sim::fail(std::string kind, std::string message, std::string place) {
  fail(make_failure(std::move(kind), std::move(message), std::move(place)));
}

TraceContext Sim::trace_context() const {
  TraceContext c;
  c.time_ns = now().ns_since_boot();
  if (in_fiber()) {
    c.cpu = static_cast<int>(running_lane_);
    c.task = fibers_[running_]->name;
  } else if (event_lane_ != kNoLane) {
    c.cpu = static_cast<int>(event_lane_);
    const FiberId cur = lanes_[event_lane_].current;
    c.task = cur != kNoFiber ? std::string_view(fibers_[cur]->name) : std::string_view("-");
  }
  return c;
}

void Sim::probe(std::string_view name) {
  ProbeSlot& slot = probe_cache_[(reinterpret_cast<std::uintptr_t>(name.data()) >> 3) % kProbeCache];
  if (slot.name != nullptr && *slot.name == name) {
    ++*slot.count;
    return;
  }
  auto it = probes_.find(name);
  if (it == probes_.end()) it = probes_.emplace(std::string(name), 0).first;
  ++it->second;
  slot = ProbeSlot{&it->first, &it->second};
}

// ---------------------------------------------------------------------------------------------
// Watched words

void Sim::note_read(const WatchedBase* w, std::uint64_t version) {
  FiberRec& f = *fibers_[running_];
  if (f.read_set_overflow) return;
  if (f.read_set.empty()) f.read_epoch = destroy_epoch_;
  for (auto& e : f.read_set) {
    if (e.word == w) {
      e.version = version;
      return;
    }
  }
  if (f.read_set.size() >= kMaxReadSet) {
    // Not a tight spin loop: the next relax() must not park on a partial set, so it iterates.
    f.read_set_overflow = true;
    f.read_set.clear();
    return;
  }
  f.read_set.push_back(ReadEntry{w, version});
}

void Sim::note_write(WatchedBase* w) {
  if (tearing_down_) return;  // fibers are being unwound: nobody is woken any more
  const Time t = now();
  last_write_ = t;
  if (w->watchers_.empty()) return;
  // The list is swapped with a scratch one whose buffer the word then keeps: moving it out
  // would free a buffer at every write and allocate one at the next spinner's park.
  SIM_ASSERT_MSG(wake_scratch_.empty(), "note_write re-entered");
  wake_scratch_.swap(w->watchers_);
  for (const auto& wt : wake_scratch_) {
    FiberRec& f = *fibers_[wt.fiber];
    if (f.park_gen != wt.gen || f.lane == kNoLane) continue;
    if (lanes_[f.lane].state != LaneState::Spinning) continue;
    Duration delay;
    if (cfg_.propagation_delay_max > Duration{}) {
      const std::uint32_t v = choose(ChoiceKind::Delay, 4, "delay");
      delay = cfg_.propagation_delay_max * v / 3;
    }
    unpark(f.lane, t + delay, false);
  }
  wake_scratch_.clear();
}

void Sim::note_destroyed(WatchedBase* w) {
  ++destroy_epoch_;
  note_write(w);
}

WatchedBase::~WatchedBase() {
  if (Sim* s = Sim::current_or_null(); s != nullptr && !watchers_.empty()) s->note_destroyed(this);
  else if (s != nullptr) ++s->destroy_epoch_;
}

void WatchedBase::before_access() const {
  if (Sim* s = Sim::current_or_null(); s != nullptr && s->in_fiber()) s->point(PointKind::Shared);
}

void WatchedBase::after_read() const {
  if (Sim* s = Sim::current_or_null(); s != nullptr && s->in_fiber()) s->note_read(this, version_);
}

void WatchedBase::after_write() {
  ++version_;
  if (Sim* s = Sim::current_or_null(); s != nullptr) s->note_write(this);
}

// ---------------------------------------------------------------------------------------------
// Ready heap: min-heap of ready lanes by (clock, id), with positions for O(log n) updates.

bool Sim::heap_less(LaneId a, LaneId b) const {
  const Time ta = lanes_[a].clock, tb = lanes_[b].clock;
  return ta != tb ? ta < tb : a < b;
}

void Sim::heap_swap(std::size_t i, std::size_t j) {
  std::swap(heap_[i], heap_[j]);
  std::swap(heap_clock_[i], heap_clock_[j]);
  lanes_[heap_[i]].heap_pos = i;
  lanes_[heap_[j]].heap_pos = j;
}

void Sim::heap_up(std::size_t i) {
  while (i > 0) {
    const std::size_t p = (i - 1) / 2;
    if (!heap_less(heap_[i], heap_[p])) break;
    heap_swap(i, p);
    i = p;
  }
}

void Sim::heap_down(std::size_t i) {
  for (;;) {
    const std::size_t l = 2 * i + 1, r = l + 1;
    std::size_t m = i;
    if (l < heap_.size() && heap_less(heap_[l], heap_[m])) m = l;
    if (r < heap_.size() && heap_less(heap_[r], heap_[m])) m = r;
    if (m == i) return;
    heap_swap(i, m);
    i = m;
  }
}

void Sim::heap_push(LaneId l) {
  if (lanes_[l].heap_pos != SIZE_MAX) return heap_update(l);
  lanes_[l].heap_pos = heap_.size();
  heap_.push_back(l);
  heap_clock_.push_back(lanes_[l].clock);
  heap_clock_hi_ = max(heap_clock_hi_, lanes_[l].clock);
  heap_up(heap_.size() - 1);
}

void Sim::heap_remove(LaneId l) {
  const std::size_t i = lanes_[l].heap_pos;
  if (i == SIZE_MAX) return;
  const LaneId last = heap_.back();
  heap_.pop_back();
  heap_clock_.pop_back();
  if (heap_.empty()) heap_clock_hi_ = Time::zero();
  lanes_[l].heap_pos = SIZE_MAX;
  if (i < heap_.size()) {
    heap_[i] = last;
    lanes_[last].heap_pos = i;
    heap_update(last);
  }
}

void Sim::heap_update(LaneId l) {
  const std::size_t i = lanes_[l].heap_pos;
  if (i == SIZE_MAX) return;
  heap_clock_[i] = lanes_[l].clock;
  heap_clock_hi_ = max(heap_clock_hi_, lanes_[l].clock);
  heap_up(i);
  heap_down(lanes_[l].heap_pos);
}

namespace {
// Up to this many lanes in the heap, one contiguous pass over it beats the level-by-level walk.
constexpr std::size_t kScanWholeHeap = 64;
}  // namespace

// The ready lanes are the heap nodes at or below the bound. Since a node is never earlier than its
// parent, they form a subtree at the root, and their breadth-first order is their index order, which
// depends only on the heap's (deterministic) layout. The walk goes level by level: the candidates
// of the next level are the children of this level's ready nodes, all inside one index range,
// scanned contiguously when it is dense and child by child when it is not, so the cost stays
// O(cap) however the ready nodes are spread.
std::size_t Sim::collect_ready(Time bound, LaneId* out, std::size_t cap) const {
  const std::size_t n = heap_.size();
  if (n == 0 || heap_clock_[0] > bound || cap == 0) return 0;
  SIM_ASSERT(heap_clock_[0] == lanes_[heap_[0]].clock);
  // Every heap index is a candidate at most once, so n slots suffice (`out` has room for every
  // lane); writes are branch-free (a slot is kept by advancing m) and the excess over cap is cut
  // after the last level.
  std::uint32_t* const at = bfs_scratch_.data();
  const Time* const clock = heap_clock_.data();
  const LaneId* const lane = heap_.data();
  std::size_t m = 0;
  if (n <= kScanWholeHeap) {
    // A node is never earlier than its parent, so the ready nodes are exactly those at or below
    // the bound, and index order is breadth-first order: a small heap is scanned whole.
    for (std::size_t c = 0; c < n; ++c) {
      out[m] = lane[c];
      m += clock[c] <= bound ? 1 : 0;
    }
    return std::min(m, cap);
  }
  auto consider = [&](std::size_t c) {
    at[m] = static_cast<std::uint32_t>(c);
    out[m] = lane[c];
    m += clock[c] <= bound ? 1 : 0;
  };
  consider(0);
  for (std::size_t begin = 0; begin < m && m < cap;) {
    const std::size_t end = m;
    const std::size_t lo = 2 * std::size_t{at[begin]} + 1;
    if (lo >= n) break;
    const std::size_t hi = std::min(2 * std::size_t{at[end - 1]} + 2, n - 1);
    if (hi - lo < 8 * (end - begin)) {
      for (std::size_t c = lo; c <= hi; ++c) consider(c);
    } else {
      for (std::size_t k = begin; k < end; ++k) {
        const std::size_t first = 2 * std::size_t{at[k]} + 1, last = std::min(first + 1, n - 1);
        for (std::size_t c = first; c <= last; ++c) consider(c);
      }
    }
    begin = end;
  }
  return std::min(m, cap);
}

// ---------------------------------------------------------------------------------------------
// The run loop

void Sim::check_livelock() {
  // A run that already failed ends with that failure; parking spinners cannot make it a livelock.
  if (failure_) return;
  if (!heap_.empty() || waiting_ != 0 || spinning_ == 0) return;
  if (now() - last_write_ < cfg_.livelock_after) return;
  fail(make_failure("livelock",
                    fmt::format("every running CPU spins and no watched word was written for {}\n{}",
                                format_duration(now() - last_write_), dump_state()),
                    "relax"));
  livelocked_ = true;
}

void Sim::step_lane(LaneId chosen) {
  {
    const Lane& lane = lanes_[chosen];
    SIM_ASSERT(lane.current != kNoFiber && lane.state == LaneState::Ready);
    running_ = lane.current;
    running_lane_ = chosen;
  }
  fibers_[running_]->fiber->resume();
  // The fiber that yielded: the one resumed, or the last one a chain of handoffs reached.
  const FiberId f = std::exchange(running_, kNoFiber);
  const LaneId l = std::exchange(running_lane_, kNoLane);
  Lane& lane = lanes_[l];
  // A fiber that ended its step in place yielded only to hand over the decision; one that ended
  // it and then failed (an engine error thrown there) still has to be finished here.
  const bool ended = std::exchange(step_ended_, false);
  const bool finished = fibers_[f]->fiber->finished();
  if (ended && !finished) return;
  if (!ended) {
    ++steps_;
    ++lane.stats.steps;
  }
  if (finished) {
    finish_fiber(l, f);
  } else if (lane.state == LaneState::Ready) {
    heap_update(l);
  }
}

void Sim::finish_fiber(LaneId l, FiberId f) {
  FiberRec& rec = *fibers_[f];
  if (lanes_[l].current == f) lanes_[l].current = kNoFiber;
  rec.lane = kNoLane;
  if (rec.fiber->failed() && !failure_) {
    running_lane_ = kNoLane;
    Failure fl = make_failure("exception", rec.fiber->error(), "");
    fl.cpu = static_cast<int>(l);
    fl.task = rec.name;
    if (rec.fiber->error().rfind("internal error", 0) == 0) fl.kind = "internal-error";
    fail(std::move(fl));
  }
  if (exit_hook_) exit_hook_(l, f);
  if (lanes_[l].current == kNoFiber && lanes_[l].state == LaneState::Ready) {
    heap_remove(l);
    lanes_[l].state = LaneState::Halted;
    lanes_[l].parked_at = lanes_[l].clock;
  }
}

bool Sim::end_of_run(RunResult& r) {
  std::string stuck;
  for (const auto& f : fibers_)
    if (f->essential && !f->fiber->finished()) stuck += fmt::format(" {}", f->name);
  if (stuck.empty()) {
    r.outcome = Outcome::Completed;
    return true;
  }
  fail(make_failure("deadlock", fmt::format("no CPU can make progress and no timer is pending; unfinished:{}\n{}",
                                            stuck, dump_state()),
                    "idle"));
  r.outcome = Outcome::Deadlock;
  return true;
}

RunResult Sim::run() {
  SIM_ASSERT_MSG(!ran_, "Sim::run() may be called once");
  ran_ = true;
  RunResult r;
  try {
    run_loop(r);
  } catch (const InternalError& e) {
    running_ = kNoFiber;
    running_lane_ = kNoLane;
    if (!failure_ || failure_->kind != "internal-error") {
      failure_.reset();
      fail(make_failure("internal-error", e.what(), "engine"));
    }
    r.outcome = Outcome::InternalError;
  }
  if (failure_ && r.outcome == Outcome::Completed) r.outcome = Outcome::Failed;
  if (failure_ && failure_->kind == "internal-error") r.outcome = Outcome::InternalError;
  r.failure = failure_;
  r.end_time = now_;
  r.steps = steps_;
  r.events = events_fired_;
  r.in_place = in_place_;
  r.handoffs = handoffs_;
  trace_->flush();
  r.trace_hash = trace_->hash();
  r.unseed = stream("sched").peek();
  if (auto* rp = dynamic_cast<ReplayPolicy*>(&chooser_.policy())) {
    r.replay_diverged_at = rp->diverged_at();
    r.replay_divergence = rp->divergence();
    if (!r.replay_diverged_at && !rp->exhausted()) {
      r.replay_diverged_at = rp->position();
      r.replay_divergence = fmt::format("choice {}: the run ended with {} recorded choices unused", rp->position(),
                                        cfg_.replay.size() - rp->position());
    }
  }
  for (const auto& l : lanes_) r.lanes.push_back(l.stats);
  r.probes = std::move(probes_);  // run() happens once: the counts move to the result
  probe_cache_ = {};
  return r;
}

void Sim::run_loop(RunResult& r) {
  for (;;) {
    Time t_ready, t_ev;
    switch (next_action(t_ready, t_ev)) {
      case Next::Failed:
        r.outcome = livelocked_ ? Outcome::Livelock : Outcome::Failed;
        if (failure_->kind == "deadlock") r.outcome = Outcome::Deadlock;
        return;
      case Next::StepLimit: r.outcome = Outcome::StepLimit; return;
      case Next::Idle: end_of_run(r); return;
      case Next::TimeLimit:
        now_ = cfg_.max_time;
        r.outcome = Outcome::TimeLimit;
        return;
      case Next::Event: {
        Time when;
        EventQueue::Callback fn;
        std::uint32_t timer = EventQueue::kNoTimer;
        events_.pop_next(when, fn, &timer);
        now_ = max(now_, when);
        event_lane_ = kNoLane;
        if (timer != EventQueue::kNoTimer) unpark(timer, now_, false);  // a park timeout (Sim::park)
        else fn();
        event_lane_ = kNoLane;
        ++events_fired_;
        continue;
      }
      case Next::Step: break;
    }
    const LaneId chosen = decide_next(t_ready, t_ev);
    if (chosen == kNoLane) continue;
    step_lane(chosen);
    for (auto& [name, check] : checkers_) check();
  }
}

std::string Sim::dump_state() const {
  static constexpr const char* names[] = {"ready", "halted", "spinning", "waiting"};
  std::string out;
  for (std::size_t i = 0; i < lanes_.size(); ++i) {
    const Lane& l = lanes_[i];
    const FiberId f = l.current;
    out += fmt::format("  cpu{} clock={} {} current={}", i, format_dmesg(l.clock),
                       names[static_cast<int>(l.state)], f == kNoFiber ? "-" : fibers_[f]->name);
    if (l.state == LaneState::Spinning && f != kNoFiber) {
      out += " watching:";
      for (const char* w : fibers_[f]->parked_words) out += fmt::format(" {}", w);
    }
    out += '\n';
  }
  for (const auto& f : fibers_) {
    if (f->fiber->finished() || f->lane != kNoLane) continue;
    out += fmt::format("  task {} blocked: {}\n", f->name, *f->wait_reason ? f->wait_reason : "(not running)");
  }
  return out;
}

}  // namespace sim
