#include "sim/choice.hpp"

#include "sim/assert.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace sim {

const char* to_string(PolicyKind k) {
  switch (k) {
    case PolicyKind::Fifo: return "fifo";
    case PolicyKind::Random: return "random";
    case PolicyKind::Pct: return "pct";
    case PolicyKind::Replay: return "replay";
  }
  return "?";
}

std::optional<PolicyKind> policy_from_string(const std::string& s) {
  if (s == "fifo") return PolicyKind::Fifo;
  if (s == "random") return PolicyKind::Random;
  if (s == "pct") return PolicyKind::Pct;
  if (s == "replay") return PolicyKind::Replay;
  return std::nullopt;
}

std::string ChoiceLog::to_text() const {
  std::string out = fmt::format("smpsim-choices {}\n", kFormatVersion);
  std::size_t line_len = 0;
  for (std::size_t i = 0; i < entries_.size();) {
    std::size_t j = i + 1;
    while (j < entries_.size() && entries_[j] == entries_[i]) ++j;
    const Choice& c = entries_[i];
    std::string tok = fmt::format("{}{}/{}", static_cast<char>(c.kind), c.value, c.options);
    if (j - i > 1) tok += fmt::format("*{}", j - i);
    if (line_len + tok.size() + 1 > 100) {
      out += '\n';
      line_len = 0;
    } else if (line_len > 0) {
      out += ' ';
      ++line_len;
    }
    out += tok;
    line_len += tok.size();
    i = j;
  }
  out += '\n';
  return out;
}

namespace {

bool valid_kind(char c) {
  switch (c) {
    case 'p': case 's': case 'l': case 'f': case 'd': case 'v': return true;
    default: return false;
  }
}

}  // namespace

std::optional<ChoiceLog> ChoiceLog::parse(const std::string& text, std::string& error) {
  ChoiceLog log;
  std::size_t pos = 0;
  int line = 1;
  std::size_t line_start = 0;
  auto fail = [&](const std::string& msg) {
    error = fmt::format("line {}, column {}: {}", line, pos - line_start + 1, msg);
    return std::nullopt;
  };
  // Input bytes quoted in a message: printable ASCII as is, anything else as \xNN.
  auto shown = [](std::string_view s) {
    std::string out;
    for (const char ch : s)
      out += ch >= 0x20 && ch < 0x7f ? std::string(1, ch) : fmt::format("\\x{:02x}", static_cast<unsigned char>(ch));
    return out;
  };
  const std::string header = fmt::format("smpsim-choices {}", kFormatVersion);
  if (text.rfind("smpsim-choices ", 0) != 0) return fail("expected header 'smpsim-choices <version>'");
  const std::size_t eol = text.find('\n');
  std::string first = text.substr(0, eol);
  if (!first.empty() && first.back() == '\r') first.pop_back();  // CRLF line ends
  if (first != header) {
    pos = 15;
    return fail(fmt::format("unsupported choice-log version '{}' (this build reads version {})",
                            shown(first.substr(15)), kFormatVersion));
  }
  if (eol == std::string::npos) return log;
  pos = eol + 1;
  line = 2;
  line_start = pos;
  auto read_uint = [&](std::uint64_t& v) {
    const std::size_t start = pos;
    v = 0;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      if (v > 0xffffffffULL) return false;
      v = v * 10 + static_cast<std::uint64_t>(text[pos] - '0');
      ++pos;
    }
    return pos > start && v <= 0xffffffffULL;
  };
  constexpr std::size_t kMaxEntries = std::size_t{1} << 28;
  while (pos < text.size()) {
    const char c = text[pos];
    if (c == '\n') { ++pos; ++line; line_start = pos; continue; }
    if (c == ' ' || c == '\t' || c == '\r') { ++pos; continue; }
    if (!valid_kind(c))
      return fail(fmt::format("unknown choice kind '{}' (expected one of p s l f d v)", shown({&c, 1})));
    ++pos;
    std::uint64_t value = 0, options = 0, repeat = 1;
    if (!read_uint(value)) return fail("expected a choice value (a non-negative integer)");
    if (pos >= text.size() || text[pos] != '/') return fail("expected '/' and the number of options");
    ++pos;
    if (!read_uint(options)) return fail("expected the number of options (an integer)");
    if (options < 2 || value >= options) return fail(fmt::format("choice {}/{} is out of range", value, options));
    if (pos < text.size() && text[pos] == '*') {
      ++pos;
      if (!read_uint(repeat) || repeat == 0) return fail("expected a repeat count >= 1 after '*'");
    }
    if (pos < text.size() && !std::isspace(static_cast<unsigned char>(text[pos])))
      return fail("expected a blank or end of line after a choice");
    if (log.entries_.size() + repeat > kMaxEntries) return fail("choice log too long");
    log.entries_.insert(log.entries_.end(), repeat,
                        Choice{static_cast<ChoiceKind>(c), static_cast<std::uint32_t>(value),
                               static_cast<std::uint32_t>(options)});
  }
  return log;
}

PctPolicy::PctPolicy(Rng rng, std::uint32_t lanes, std::uint32_t depth, std::uint64_t steps_estimate,
                     bool stall_at_change)
    : depth_(std::max<std::uint32_t>(depth, 1)), rng_(rng.fork("pct.stall")), stall_at_change_(stall_at_change) {
  // Random permutation of priorities depth .. depth+lanes-1 (Fisher-Yates with our own draws).
  prio_.resize(lanes);
  for (std::uint32_t i = 0; i < lanes; ++i) prio_[i] = depth_ + i;
  for (std::uint32_t i = lanes; i > 1; --i) std::swap(prio_[i - 1], prio_[rng.below(i)]);
  // d-1 distinct change points in [1, k] (fewer if k < d-1). As in the paper, the i-th point
  // drawn lowers the lane it hits to priority i, so which demotion ends lowest is itself random
  // and not tied to the order of the points in the run.
  const std::uint64_t k = std::max<std::uint64_t>(steps_estimate, 1);
  std::vector<std::pair<std::uint64_t, std::int64_t>> points;
  for (std::uint32_t i = 1; i < depth_ && points.size() < k; ++i) {
    std::uint64_t at = 1 + rng.below(k);
    while (std::any_of(points.begin(), points.end(), [&](const auto& p) { return p.first == at; }))
      at = at % k + 1;  // taken: the next free step (k >= number of points, so one exists)
    points.emplace_back(at, static_cast<std::int64_t>(i));
  }
  std::sort(points.begin(), points.end());
  for (const auto& [at, prio] : points) {
    change_points_.push_back(at);
    change_prio_.push_back(prio);
  }
}

std::size_t PctPolicy::highest(std::span<const std::uint32_t> ready) const {
  std::size_t best = 0;
  for (std::size_t i = 1; i < ready.size(); ++i)
    if (prio_[ready[i]] > prio_[ready[best]]) best = i;
  return best;
}

std::size_t PctPolicy::pick_next(std::span<const std::uint32_t> ready) {
  // Only decisions among two or more ready lanes reach a policy (Chooser::pick), so steps where
  // one lane is alone do not count towards k or the change points.
  ++picks_;
  std::size_t best = highest(ready);
  if (next_change_ < change_points_.size() && change_points_[next_change_] == picks_) {
    // A change point: the lane about to run drops below every initial priority.
    prio_[ready[best]] = change_prio_[next_change_];
    ++next_change_;
    if (stall_at_change_) {
      stall_pending_ = true;
      return best;
    }
    best = highest(ready);
  }
  return best;
}

bool PctPolicy::stall_picked() {
  const bool yes = stall_pending_;
  stall_pending_ = false;
  return yes;
}

std::uint32_t PctPolicy::choose(ChoiceKind kind, std::uint32_t options, Rng& stream) {
  if (!stall_at_change_ || kind != ChoiceKind::StallLen) return static_cast<std::uint32_t>(stream.below(options));
  return static_cast<std::uint32_t>(rng_.below(options));
}

std::uint32_t ReplayPolicy::next(ChoiceKind kind, std::uint32_t options) {
  if (diverged_at_) return 0;
  if (pos_ >= log_.size()) {
    diverged_at_ = pos_;
    divergence_ = fmt::format("choice {}: the run needs a '{}' choice among {} but the log is exhausted", pos_,
                              static_cast<char>(kind), options);
    return 0;
  }
  const Choice& c = log_.entries()[pos_];
  if (c.kind != kind || c.options != options) {
    diverged_at_ = pos_;
    divergence_ = fmt::format("choice {}: the log has {}{}/{} but the run asks for a '{}' choice among {}", pos_,
                              static_cast<char>(c.kind), c.value, c.options, static_cast<char>(kind), options);
    return 0;
  }
  ++pos_;
  return c.value;
}

std::size_t ReplayPolicy::pick_next(std::span<const std::uint32_t> ready) {
  return next(ChoiceKind::Pick, static_cast<std::uint32_t>(ready.size()));
}

std::uint32_t ReplayPolicy::choose(ChoiceKind kind, std::uint32_t options, Rng&) { return next(kind, options); }

bool ReplayPolicy::chance(ChoiceKind kind, Ratio, Rng&) { return next(kind, 2) == 1; }

bool ReplayPolicy::stall_picked() {
  return !diverged_at_ && pos_ < log_.size() && log_.entries()[pos_].kind == ChoiceKind::StallLen;
}

std::size_t Chooser::pick(std::span<const std::uint32_t> ready) {
  if (ready.size() <= 1) return 0;
  const std::size_t idx = policy_->pick_next(ready);
  SIM_ASSERT(idx < ready.size());
  ++picks_;
  record(Choice{ChoiceKind::Pick, static_cast<std::uint32_t>(idx), static_cast<std::uint32_t>(ready.size())});
  return idx;
}

std::uint32_t Chooser::choose(ChoiceKind kind, std::uint32_t options, Rng& stream) {
  if (options <= 1) return 0;
  const std::uint32_t v = policy_->choose(kind, options, stream);
  SIM_ASSERT(v < options);
  record(Choice{kind, v, options});
  return v;
}

bool Chooser::chance(ChoiceKind kind, Ratio r, Rng& stream) {
  if (r.num == 0) return false;
  const bool yes = policy_->chance(kind, r, stream);
  record(Choice{kind, yes ? 1u : 0u, 2});
  return yes;
}

}  // namespace sim
