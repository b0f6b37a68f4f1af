// sim/sim.hpp
// The engine. A run is N lanes (simulated CPUs as timelines, each with its own virtual clock)
// and fibers; each lane runs one current fiber at a time. A step resumes the current fiber of
// one ready lane until its next interleaving point, adding the point's cost to that lane's clock.
//   Ready set: lanes whose fiber can run and whose clock is within `skew` of the earliest ready
//   clock (and before the next due event). Listed in the ready heap's order (deterministic, earliest
//   lane first), the Chooser picks one; FIFO takes the first. Nothing else decides who runs.
//   Events (timers) fire in (time, seq) order once the earliest ready clock reaches them.
//   Parked lanes (halted, spinning in relax(), waiting in wait_until()) leave the ready set; their
//   clock follows global time and they return on kick(), on a write to a watched word, or on a
//   timeout. Spinning therefore costs O(writes + interrupts), not O(iterations).
// Every run is bounded (steps, virtual time) and ends with one Outcome. Deadlock: nothing ready,
// no foreground event pending, and an essential fiber unfinished. Livelock: every non-halted lane
// is spinning and no watched word was written for `livelock_after`.
// Not thread-safe; one Sim per thread (sim::current() is thread-local).
#pragma once

#include "sim/assert.hpp"
#include "sim/choice.hpp"
#include "sim/event_queue.hpp"
#include "sim/fiber.hpp"
#include "sim/rng.hpp"
#include "sim/stack_pool.hpp"
#include "sim/time.hpp"
#include "sim/trace.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sim {

using LaneId = std::uint32_t;
using FiberId = std::uint32_t;
inline constexpr LaneId kNoLane = UINT32_MAX;
inline constexpr FiberId kNoFiber = UINT32_MAX;

/// Which operations are interleaving points (choice points for the scheduler).
enum class Granularity { None = 0, Locks = 1, Shared = 2 };
const char* to_string(Granularity g);
std::optional<Granularity> granularity_from_string(const std::string& s);

/// Kind of interleaving point, compared against the configured granularity.
enum class PointKind { Always = 0, Lock = 1, Shared = 2 };

struct Config {
  std::uint64_t seed = 1;
  std::uint32_t lanes = 1;
  Duration skew = Duration::ns(1000);             ///< ready window W (0 = lock-step)
  std::uint32_t max_choices = 64;                 ///< at most this many ready lanes offered per step
  Duration step_cost = Duration::ns(10);          ///< default cost of one interleaving point
  Duration relax_timeout = Duration::ns(10'000'000);  ///< bounded wake of a parked spinner
  Duration livelock_after = Duration::ns(60'000'000'000);
  std::uint64_t max_steps = 100'000'000;
  Time max_time = Time::from_ns(3600LL * 1'000'000'000);
  Granularity granularity = Granularity::Locks;
  std::size_t stack_bytes = 0;                    ///< 0 = default (64 KiB; 1 MiB under ASan)
  PolicyKind policy = PolicyKind::Fifo;
  std::uint32_t pct_depth = 3;
  std::uint64_t pct_steps = 10'000;
  ChoiceLog replay;                               ///< for PolicyKind::Replay
  Ratio stall_ratio{0, 1};                        ///< chance a picked lane is stalled instead
  Duration stall_max = Duration::ns(1'000'000);
  /// >0: a PCT change point also stalls the lane it demotes, by 1..4 quarters of this (PctPolicy).
  Duration pct_stall = Duration::ns(0);
  Duration propagation_delay_max = Duration::ns(0);  ///< >0: seeded delay before a spinner sees a write
  /// At an interleaving point the fiber makes the run loop's next decision itself; when that is
  /// its own lane it goes on without switching to the scheduler and back, and another lane's
  /// fiber it switches to directly (Sim::end_step_in_fiber, Fiber::handoff). Runs are the same
  /// either way; off only to check that.
  bool continue_in_place = true;
  /// Keep the choice log (Chooser::take_log). A run that is never replayed from its log (a
  /// campaign run: a failing seed is run again, recording, for its artifact) turns it off; the
  /// choices are the same, only not stored: at one 12-byte entry per pick a long run's log is most
  /// of its memory traffic (docs/performance.md, "The model at scale").
  bool record_choices = true;
};

enum class Outcome { Completed, Failed, StepLimit, TimeLimit, Deadlock, Livelock, InternalError };
const char* to_string(Outcome o);

/// A failure that stops the run: an oracle firing, a kernel BUG, a deadlock, an engine error.
struct Failure {
  std::string kind;     ///< stable bucket name, e.g. "I-SM-4", "hard-lockup", "deadlock"
  std::string message;  ///< human-readable detail
  Time time;
  std::uint64_t step = 0;
  int cpu = -1;
  std::string task;     ///< fiber name, "-" outside fibers
  std::string place;    ///< where it happened, e.g. "multi_cpu_stop:PREPARE" (for signatures)
  std::uint64_t seed = 0;
};

struct LaneStats {
  std::uint64_t steps = 0;
  Duration spin;     ///< virtual time parked in relax()
  Duration waiting;  ///< virtual time in wait_until()
  Duration halted;   ///< virtual time halted (idle)
};

struct RunResult {
  Outcome outcome = Outcome::Completed;
  std::optional<Failure> failure;
  Time end_time;
  std::uint64_t steps = 0;
  std::uint64_t events = 0;
  std::uint64_t in_place = 0;  ///< steps a lane took without a context switch (Config::continue_in_place)
  std::uint64_t handoffs = 0;  ///< steps begun by a direct fiber-to-fiber switch (Config::continue_in_place)
  std::uint64_t trace_hash = 0;
  std::uint64_t unseed = 0;  ///< next draw of the sched stream after the run (FDB's "unseed")
  std::optional<std::uint64_t> replay_diverged_at;
  std::string replay_divergence;
  std::vector<LaneStats> lanes;
  std::map<std::string, std::uint64_t, std::less<>> probes;  ///< coverage probe hits
};

class WatchedBase;

struct SpawnOptions {
  bool essential = false;  ///< the run is not complete until this fiber has finished
  void* user = nullptr;    ///< model's handle (e.g. its task_struct)
};

namespace detail {
/// A spinner parked on a watched word: which fiber, and which of its parks (a stale entry is
/// skipped).
struct Watcher {
  FiberId fiber;
  std::uint64_t gen;
};
}  // namespace detail

class Sim {
 public:
  explicit Sim(Config cfg);
  ~Sim();
  Sim(const Sim&) = delete;
  Sim& operator=(const Sim&) = delete;

  /// The simulation running on this thread (set for the lifetime of a Sim), or nullptr.
  static Sim* current_or_null();
  static Sim& current();

  /// Ends every fiber still alive (the destructor does it too, but an owner whose fibers'
  /// frames refer to its other members calls it first, while they exist). Returns how many
  /// ended by unwinding their stacks rather than by a quiet return (QuietExit).
  std::size_t end_fibers();
  /// True while end_fibers() runs on this thread: code resumed out of a QuietExit scope must
  /// then return to its fiber body's end, reaching no further interleaving point.
  static bool ending();
  /// Fiber side: at the end of the run, a fiber halted, parked or switched out inside this scope
  /// is ended by that wait returning (ending() is then true) instead of an exception unwinding
  /// every frame; one stopped at an interleaving point (point(), yield_point()) is unwound. For
  /// the idle loops every thread sits in when a run ends.
  class QuietExit {
   public:
    QuietExit();
    ~QuietExit();
    QuietExit(const QuietExit&) = delete;
    QuietExit& operator=(const QuietExit&) = delete;

   private:
    bool* flag_ = nullptr;  // the fiber's FiberRec::quiet_exit
    bool prev_ = false;
  };
  /// Fiber side: runs `wait` (a halt, park or context switch) in a QuietExit scope. Returns
  /// whether the run goes on; false: it is over, and the caller returns to its fiber's end.
  template <class Wait>
  static bool wait_quietly(Wait&& wait) {
    {
      QuietExit quiet;
      wait();
    }
    return !ending();
  }

  const Config& config() const { return cfg_; }
  std::uint32_t lane_count() const { return static_cast<std::uint32_t>(lanes_.size()); }

  // ---- fibers and lanes (scheduler side; also callable from fibers) ----
  FiberId spawn(std::string name, Fiber::Body body, SpawnOptions opts = {});
  /// Makes `f` the running fiber of `lane` (which must have none): used at start-up and by exit hooks.
  void set_current(LaneId lane, FiberId f);
  FiberId current_on(LaneId lane) const { return lanes_[lane].current; }
  /// Wakes a parked lane no earlier than `at` (no effect on a ready lane).
  void kick(LaneId lane, Time at);
  /// The host deschedules the CPU until `until` (a vCPU stall): it runs nothing before then, and a
  /// wake-up (a write it spins on, a kick, an interrupt) takes effect only then. Stalls extend.
  void stall_lane(LaneId lane, Time until);
  bool lane_parked(LaneId lane) const { return lanes_[lane].state != LaneState::Ready; }
  bool lane_halted(LaneId lane) const { return lanes_[lane].state == LaneState::Halted; }
  Time lane_clock(LaneId lane) const { return lanes_[lane].clock; }
  const std::string& fiber_name(FiberId f) const { return fibers_[f]->name; }
  void* fiber_user(FiberId f) const { return fibers_[f]->user; }
  bool fiber_finished(FiberId f) const { return fibers_[f]->fiber->finished(); }
  std::size_t fiber_count() const { return fibers_.size(); }
  /// Free text shown for a fiber in deadlock/livelock dumps ("D wait_for_completion", ...).
  void set_wait_reason(FiberId f, const char* reason) { fibers_[f]->wait_reason = reason; }
  /// Marks a fiber spawned without SpawnOptions::essential as one the run must see finish.
  void set_essential(FiberId f) { fibers_[f]->essential = true; }
  /// Called (scheduler context) when the current fiber of a lane ends; may set_current().
  void on_fiber_exit(std::function<void(LaneId, FiberId)> fn) { exit_hook_ = std::move(fn); }
  /// Called by interleaving points before they yield (the model delivers interrupts here). A plain
  /// function: it runs at nearly every step.
  void on_point(void (*fn)()) { point_hook_ = fn; }

  // ---- the calling fiber ----
  bool in_fiber() const { return running_ != kNoFiber; }
  FiberId this_fiber() const { return running_; }
  LaneId this_lane() const { return running_lane_; }
  /// An interleaving point: charges `cost` to this lane and lets the scheduler choose.
  void point(PointKind kind = PointKind::Always);
  void yield_point(Duration cost);
  /// Charges virtual time to this lane without a choice point.
  void advance(Duration d);
  /// cpu_relax(): park until a word read since the last relax is written, a kick, or a timeout.
  void relax();
  /// Busy-wait until `deadline` (or a kick); returns true if woken early by a kick.
  bool wait_until(Time deadline);
  /// Halt this lane (idle) until kicked.
  void halt();
  /// Hands this lane to `next` (not running anywhere) and suspends the caller until some lane
  /// makes it current again and resumes it.
  void switch_to(FiberId next);
  /// Charges the cost of a context switch.
  Duration step_cost() const { return cfg_.step_cost; }

  // ---- time and events ----
  Time now() const;
  EventId at(Time when, EventQueue::Callback fn, bool background = false);
  EventId after(Duration d, EventQueue::Callback fn, bool background = false) { return at(now() + d, std::move(fn), background); }
  void cancel(EventId id) { events_.cancel(id); }
  bool pending(EventId id) const { return events_.pending(id); }
  /// Lane whose context an event callback runs in (for trace prefixes); kNoLane for global ones.
  void set_event_lane(LaneId l) { event_lane_ = l; }

  // ---- randomness and choices ----
  Rng& stream(const std::string& name);
  Chooser& chooser() { return chooser_; }
  std::uint32_t choose(ChoiceKind k, std::uint32_t options, const std::string& stream_name);
  bool chance(ChoiceKind k, Ratio r, const std::string& stream_name);

  // ---- checking and failure ----
  void add_checker(std::string name, std::function<void()> fn);
  /// Records a failure; the run stops at the end of the current step. First failure wins.
  void fail(Failure f);
  /// Fills time/step/cpu/task/seed and records. `place` helps bucketing.
  void fail(std::string kind, std::string message, std::string place = {});
  bool failed() const { return failure_.has_value(); }
  /// Coverage: counts a hit of a named probe (sorted by name when listed).
  void probe(std::string_view name);
  const std::map<std::string, std::uint64_t, std::less<>>& probes() const { return probes_; }
  const std::optional<Failure>& failure() const { return failure_; }
  std::uint64_t steps() const { return steps_; }

  // ---- tracing ----
  Trace& trace() { return *trace_; }
  TraceContext trace_context() const;

  // ---- watched words (used by Watched<T>) ----
  void note_read(const WatchedBase* w, std::uint64_t version);
  void note_write(WatchedBase* w);
  void note_destroyed(WatchedBase* w);
  Time last_write_time() const { return last_write_; }

  /// Runs until completion, failure or a bound. Call once.
  RunResult run();
  /// Dumps each lane's state and each unfinished fiber (for deadlock/livelock reports).
  std::string dump_state() const;
  const StackPool& stack_pool() const { return pool_; }

 private:
  enum class LaneState { Ready, Halted, Spinning, Waiting };
  struct Lane {
    Time clock;
    FiberId current = kNoFiber;
    LaneState state = LaneState::Ready;
    Time parked_at;
    Time stalled_until;  // Sim::stall_lane: no step before this
    std::size_t heap_pos = SIZE_MAX;
    LaneStats stats;
  };
  struct ReadEntry {
    const WatchedBase* word;
    std::uint64_t version;
  };
  struct FiberRec {
    std::unique_ptr<Fiber> fiber;
    std::string name;
    LaneId lane = kNoLane;  // lane it is current on, or kNoLane
    bool essential = false;
    void* user = nullptr;
    const char* wait_reason = "";
    std::vector<ReadEntry> read_set;
    std::uint64_t read_epoch = 0;   // destroy epoch when the read set started
    bool read_set_overflow = false; // too many distinct words read since the last relax
    std::uint32_t blind_relaxes = 0; // consecutive relax() calls with an empty read set
    std::uint64_t park_gen = 0;     // bumped at every park; stale watcher entries are ignored
    bool woken_by_kick = false;
    bool quiet_exit = false;  // inside a QuietExit scope
    std::vector<const char*> parked_words;  // names of the words a spinner waits on (dumps only)
  };
  friend class WatchedBase;

  void park(LaneState how, Time timeout_at);
  void unpark(LaneId l, Time at, bool by_kick);
  void heap_push(LaneId l);
  void heap_remove(LaneId l);
  void heap_update(LaneId l);
  void heap_swap(std::size_t i, std::size_t j);
  void heap_up(std::size_t i);
  void heap_down(std::size_t i);
  bool heap_less(LaneId a, LaneId b) const;
  /// Writes the first `cap` ready lanes (clock <= bound) to `out`, which has room for every lane;
  /// returns how many.
  std::size_t collect_ready(Time bound, LaneId* out, std::size_t cap) const;
  void step_lane(LaneId l);
  bool end_step_in_fiber(bool wait);
  enum class Next { Failed, StepLimit, Idle, TimeLimit, Event, Step };
  Next next_action(Time& t_ready, Time& t_ev);
  LaneId decide_next(Time t_ready, Time t_ev);
  void finish_fiber(LaneId l, FiberId f);
  bool end_of_run(RunResult& r);
  void check_livelock();
  /// `wait`: a halt, park or context switch, which a kill inside a QuietExit scope ends by returning.
  void yield_to_scheduler(bool wait);
  bool teardown_point() const;
  void run_loop(RunResult& r);
  Failure make_failure(std::string kind, std::string message, std::string place) const;

  Config cfg_;
  Sim* prev_current_;
  StackPool pool_;
  EventQueue events_;
  Rng root_;
  std::map<std::string, Rng> streams_;
  Chooser chooser_;
  std::vector<Lane> lanes_;
  std::vector<LaneId> heap_;  // ready lanes, min-heap by (clock, id)
  // heap_clock_[i] is lanes_[heap_[i]].clock as of the lane's last heap operation: between steps
  // it is exact, and collect_ready reads it contiguously instead of touching every Lane.
  std::vector<Time> heap_clock_;
  // No lane in the heap has a later clock (raised at every push and update, lowered only when the
  // heap empties): when the ready window reaches it, every lane in the heap is ready and the heap
  // array itself is the ready list, in the order collect_ready would write it.
  Time heap_clock_hi_ = Time::zero();
  std::vector<std::unique_ptr<FiberRec>> fibers_;
  std::vector<std::pair<std::string, std::function<void()>>> checkers_;
  std::map<std::string, std::uint64_t, std::less<>> probes_;
  // Probes hit in a spin loop are counted at nearly every step: a small cache, indexed by the
  // name's address, skips the map walk. A hit is confirmed by comparing the text, so addresses
  // decide only how fast a count is made, never what is counted.
  struct ProbeSlot {
    const std::string* name = nullptr;  // the map's key
    std::uint64_t* count = nullptr;
  };
  static constexpr std::size_t kProbeCache = 64;
  std::array<ProbeSlot, kProbeCache> probe_cache_{};
  std::function<void(LaneId, FiberId)> exit_hook_;
  void (*point_hook_)() = nullptr;
  std::unique_ptr<Trace> trace_;
  std::optional<Failure> failure_;
  Time now_;  // global time: of the last event fired or the last lane picked
  FiberId running_ = kNoFiber;
  LaneId running_lane_ = kNoLane;
  LaneId event_lane_ = kNoLane;
  std::uint64_t steps_ = 0;
  std::uint64_t events_fired_ = 0;
  std::uint64_t in_place_ = 0;
  std::uint64_t destroy_epoch_ = 0;
  Time last_write_;
  std::uint32_t spinning_ = 0;
  std::uint32_t waiting_ = 0;
  std::vector<LaneId> ready_scratch_;
  std::vector<detail::Watcher> wake_scratch_;  // note_write's list of spinners to wake
  mutable std::vector<std::uint32_t> bfs_scratch_;
  bool ran_ = false;
  bool step_ended_ = false;  // the resumed fiber ended its step itself (end_step_in_fiber)
  std::uint64_t handoffs_ = 0;
  bool tearing_down_ = false;
  bool livelocked_ = false;
};

/// Shared word that spin loops poll. Version counter + watchers; see Sim::relax().
class WatchedBase {
 public:
  explicit WatchedBase(const char* name = "word") : name_(name) {}
  ~WatchedBase();
  WatchedBase(const WatchedBase&) = delete;
  WatchedBase& operator=(const WatchedBase&) = delete;
  std::uint64_t version() const { return version_; }
  const char* name() const { return name_; }

 protected:
  void before_access() const;
  void after_read() const;
  void after_write();

 private:
  friend class Sim;
  using Watcher = detail::Watcher;
  std::uint64_t version_ = 0;
  mutable std::vector<Watcher> watchers_;
  const char* name_;
};

/// READ_ONCE/WRITE_ONCE target. load()/store() are tracked (read sets, wake-ups, interleaving
/// points at Granularity::Shared); peek()/poke() are for observers and initialisation only.
template <class T>
class Watched : public WatchedBase {
 public:
  explicit Watched(T v = T{}, const char* name = "word") : WatchedBase(name), v_(v) {}
  T load() const {
    before_access();
    after_read();
    return v_;
  }
  void store(T v) {
    before_access();
    v_ = v;
    after_write();
  }
  /// Atomic read-modify-write: returns the new value.
  // Read-modify-writes are writes: they do not join the read set (a spin loop polls with load()),
  // so an atomic counter updated by every participant does not wake every spinner.
  T add_return(T d) {
    before_access();
    v_ = static_cast<T>(v_ + d);
    after_write();
    return v_;
  }
  bool compare_exchange(T& expected, T desired) {
    before_access();
    if (v_ != expected) {
      expected = v_;
      return false;
    }
    v_ = desired;
    after_write();
    return true;
  }
  T exchange(T v) {
    before_access();
    T old = v_;
    v_ = v;
    after_write();
    return old;
  }
  const T& peek() const { return v_; }
  /// Initialisation only: no version bump, no wake-up.
  void poke(T v) { v_ = v; }
  /// A write that wakes watchers but is not an interleaving point (for scheduler internals).
  void set_quiet(T v) {
    v_ = v;
    after_write();
  }

 private:
  T v_;
};

namespace this_fiber {
inline void yield() { Sim::current().point(); }
inline void relax() { Sim::current().relax(); }
inline Time now() { return Sim::current().now(); }
inline LaneId lane() { return Sim::current().this_lane(); }
}  // namespace this_fiber

}  // namespace sim
