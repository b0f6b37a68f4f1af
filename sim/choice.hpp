// sim/choice.hpp
// The choke point for nondeterminism. Every decision that shapes a run (which ready CPU runs
// next, whether a CPU is stalled and for how long, whether a fault fires, a propagation delay)
// goes through Chooser, which asks the policy and appends the answer to the choice log.
// Decisions with a single option are not choices and are not logged. Replaying a log feeds the
// recorded answers back and reports the first entry that no longer fits (wrong kind, wrong
// number of options, or log exhausted): that is where the run diverged.
// Text form (versioned): a header line "smpsim-choices 1", then tokens "<kind><value>/<options>"
// with an optional "*<repeat>" run-length suffix, separated by blanks or newlines.
#pragma once

#include "sim/rng.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace sim {

enum class ChoiceKind : char {
  Pick = 'p',   ///< which ready lane (CPU) runs the next step
  Stall = 's',  ///< stall the picked lane (0 = no, 1 = yes)
  StallLen = 'l',
  Fault = 'f',  ///< a fault site fires (0/1) or which fault
  Delay = 'd',  ///< a store-propagation delay bucket
  Value = 'v',  ///< any other recorded value (model or strategy)
};

struct Choice {
  ChoiceKind kind = ChoiceKind::Pick;
  std::uint32_t value = 0;
  std::uint32_t options = 0;
  bool operator==(const Choice&) const = default;
};

class ChoiceLog {
 public:
  static constexpr int kFormatVersion = 1;
  void push(Choice c) { entries_.push_back(c); }
  const std::vector<Choice>& entries() const { return entries_; }
  std::size_t size() const { return entries_.size(); }
  std::string to_text() const;
  /// Parses the text form; on error returns nullopt and sets `error` to "line L, column C: ...".
  static std::optional<ChoiceLog> parse(const std::string& text, std::string& error);
  bool operator==(const ChoiceLog&) const = default;

 private:
  std::vector<Choice> entries_;
};

enum class PolicyKind { Fifo, Random, Pct, Replay };
const char* to_string(PolicyKind k);
std::optional<PolicyKind> policy_from_string(const std::string& s);

/// Strategy interface: picks among ready lanes (earliest first, in a deterministic order) and answers other choices.
class SchedPolicy {
 public:
  virtual ~SchedPolicy() = default;
  virtual std::size_t pick_next(std::span<const std::uint32_t> ready) = 0;
  /// A non-pick decision in [0, options); `stream` is the subsystem's own RNG stream.
  virtual std::uint32_t choose(ChoiceKind kind, std::uint32_t options, Rng& stream) {
    (void)kind;
    return static_cast<std::uint32_t>(stream.below(options));
  }
  /// A yes/no decision that is "yes" with probability r (drawn from `stream`).
  virtual bool chance(ChoiceKind kind, Ratio r, Rng& stream) {
    (void)kind;
    return stream.chance(r);
  }
  /// Asked after each pick when the engine allows policy stalls (Config::pct_stall): should the
  /// lane just picked be stalled instead of run? A yes is followed by a logged StallLen choice.
  virtual bool stall_picked() { return false; }
};

/// Always the first ready lane: the one with the earliest clock (lowest id on ties).
class FifoPolicy final : public SchedPolicy {
 public:
  std::size_t pick_next(std::span<const std::uint32_t>) override { return 0; }
};

/// Uniform among ready lanes, from the `sched` stream.
class RandomPolicy final : public SchedPolicy {
 public:
  explicit RandomPolicy(Rng rng) : rng_(rng) {}
  std::size_t pick_next(std::span<const std::uint32_t> ready) override { return rng_.below(ready.size()); }

 private:
  Rng rng_;
};

/// PCT (Burckhardt, Kothari, Musuvathi, Nagarakatte; ASPLOS 2010) over lanes: lanes get random
/// distinct priorities >= depth; depth-1 distinct change points are drawn in [1, steps_estimate],
/// the i-th one drawn carrying priority i (< every initial one). Steps are the picks among two or
/// more ready lanes (the only ones a policy sees). At each step the highest-priority ready lane
/// runs; at a change point that lane first drops to the point's priority. A bug of depth d (d
/// ordering constraints) is then hit with probability >= 1/(lanes * k^(d-1)) per run when
/// steps_estimate = k covers the run. The lanes are the threads here: tasks on one CPU are
/// ordered by the model's scheduler, not by the Chooser.
///
/// With `stall_at_change` (the engine passes it when Config::pct_stall is set; `smpsim` does so
/// for every PCT run, `[sim] pct_stall`), a change point also stalls the demoted lane: pick_next
/// returns it, stall_picked() says yes (only then), and the stall length bucket (1..4 quarters of
/// pct_stall) is drawn from the policy's own stream.
/// SIM: this is a vCPU descheduled at the change point. It is needed because a lane's clock can
/// lead another ready lane's by at most the skew window (1 us): a demotion alone lets the others
/// run only until they are that far ahead, so PCT cannot hold a short window of one CPU open while
/// another CPU's next step is further away in virtual time (B8's window in affine_move_task is one
/// step of a 400-iteration loop; docs/performance.md, "Finding the bug zoo"). The length is a
/// logged choice right after the pick, which is all a replay needs (ReplayPolicy::stall_picked).
class PctPolicy final : public SchedPolicy {
 public:
  PctPolicy(Rng rng, std::uint32_t lanes, std::uint32_t depth, std::uint64_t steps_estimate,
            bool stall_at_change = false);
  std::size_t pick_next(std::span<const std::uint32_t> ready) override;
  std::uint32_t choose(ChoiceKind kind, std::uint32_t options, Rng& stream) override;
  bool stall_picked() override;
  /// Sorted ascending; change_priorities()[i] is what the lane hit at change_points()[i] drops to.
  const std::vector<std::uint64_t>& change_points() const { return change_points_; }
  const std::vector<std::int64_t>& change_priorities() const { return change_prio_; }

 private:
  std::size_t highest(std::span<const std::uint32_t> ready) const;
  std::vector<std::int64_t> prio_;
  std::vector<std::uint64_t> change_points_;
  std::vector<std::int64_t> change_prio_;
  std::size_t next_change_ = 0;
  std::uint64_t picks_ = 0;
  std::uint32_t depth_;
  Rng rng_;
  bool stall_at_change_ = false;
  bool stall_pending_ = false;
};

/// Follows a recorded log exactly; falls back to FIFO after the first divergence.
class ReplayPolicy final : public SchedPolicy {
 public:
  explicit ReplayPolicy(ChoiceLog log) : log_(std::move(log)) {}
  std::size_t pick_next(std::span<const std::uint32_t> ready) override;
  std::uint32_t choose(ChoiceKind kind, std::uint32_t options, Rng& stream) override;
  bool chance(ChoiceKind kind, Ratio r, Rng& stream) override;
  /// A policy stall was recorded here: the next entry is a stall length with no yes/no before it.
  bool stall_picked() override;
  /// Index of the first log entry that did not fit, if any.
  std::optional<std::uint64_t> diverged_at() const { return diverged_at_; }
  std::string divergence() const { return divergence_; }
  bool exhausted() const { return pos_ >= log_.size(); }
  std::size_t position() const { return pos_; }

 private:
  std::uint32_t next(ChoiceKind kind, std::uint32_t options);
  ChoiceLog log_;
  std::size_t pos_ = 0;
  std::optional<std::uint64_t> diverged_at_;
  std::string divergence_;
};

/// The one choke point: asks the policy, records the answer.
class Chooser {
 public:
  /// With `record` off nothing is stored (log() stays empty); picks() is counted either way.
  explicit Chooser(std::unique_ptr<SchedPolicy> policy, bool record = true)
      : policy_(std::move(policy)), record_(record) {}
  std::size_t pick(std::span<const std::uint32_t> ready);
  std::uint32_t choose(ChoiceKind kind, std::uint32_t options, Rng& stream);
  bool chance(ChoiceKind kind, Ratio r, Rng& stream);
  /// The policy's own stall request for the lane just picked (not logged itself: the stall length
  /// that follows is).
  bool stall_picked() { return policy_->stall_picked(); }
  const ChoiceLog& log() const { return log_; }
  /// Picks among two or more ready lanes made so far (PCT's k is estimated from this count).
  std::uint64_t picks() const { return picks_; }
  /// The log, moved out at the end of a run (the chooser makes no further choices after).
  ChoiceLog take_log() { return std::move(log_); }
  SchedPolicy& policy() { return *policy_; }

 private:
  void record(Choice c) {
    if (record_) log_.push(c);
  }
  std::unique_ptr<SchedPolicy> policy_;
  ChoiceLog log_;
  std::uint64_t picks_ = 0;
  bool record_ = true;
};

}  // namespace sim
