// sim/rng.hpp
// Seeded randomness. The generator is xoshiro256** (Blackman & Vigna, 2018), its state filled
// by SplitMix64 from a 64-bit seed. A run has one root seed; subsystems draw from named streams
// made by fork("sched"), fork("fault"), ...: a child's seed is a hash of the parent's seed and
// the name, not of the parent's position, so adding draws to one stream never shifts another.
// Distributions are our own integer code (Lemire's unbiased bounded draw), never std::*.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace sim {

/// A probability as an exact ratio num/den (0 <= num <= den, den > 0).
struct Ratio {
  std::uint64_t num = 0;
  std::uint64_t den = 1;
};

std::uint64_t splitmix64(std::uint64_t& state);
/// FNV-1a 64 over bytes: stable across platforms and builds.
std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t h = 0xcbf29ce484222325ULL);

class Rng {
 public:
  explicit Rng(std::uint64_t seed);
  std::uint64_t seed() const { return seed_; }
  /// A child stream named `name`; depends only on (this seed, name).
  Rng fork(std::string_view name) const;

  std::uint64_t next_u64();
  /// Uniform in [0, n), n > 0. Unbiased (rejection).
  std::uint64_t below(std::uint64_t n);
  /// Uniform in [lo, hi], lo <= hi.
  std::int64_t range(std::int64_t lo, std::int64_t hi);
  /// True with probability r.num / r.den.
  bool chance(Ratio r);
  /// The next value without consuming it (for determinism logs: the "unseed").
  std::uint64_t peek() const;

 private:
  std::uint64_t seed_;
  std::array<std::uint64_t, 4> s_{};
};

/// Parses a seed: a decimal u64, 0x-hex, or a 40-hex git hash (folded by FNV-1a).
std::optional<std::uint64_t> parse_seed(std::string_view text);

}  // namespace sim
