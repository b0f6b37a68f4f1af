// model/cpumask.hpp — models include/linux/cpumask.h (Linux v6.16).
// A cpumask is a bitmap of nr_cpu_ids bits; NR_CPUS is a run-time parameter (up to 4096 and
// beyond). Iteration is always in ascending CPU order, as in the kernel.
// SIM: masks are plain values, not watched words: reading a mask is not an interleaving point.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace model {

struct cpumask {
  cpumask() = default;
  explicit cpumask(unsigned nr) : nwords_((nr + 63) / 64) {
    if (nwords_ > kInlineWords) heap_.assign(nwords_, 0);
  }
  bool operator==(const cpumask&) const = default;
  unsigned nbits() const { return nwords_ * 64; }
  std::span<std::uint64_t> bits() { return {nwords_ > kInlineWords ? heap_.data() : inline_.data(), nwords_}; }
  std::span<const std::uint64_t> bits() const {
    return {nwords_ > kInlineWords ? heap_.data() : inline_.data(), nwords_};
  }

 private:
  // SIM: the kernel sizes a mask at build time (NR_CPUS); here nr_cpu_ids is known only at run
  // time. Masks of up to 256 CPUs keep their words inline, so the many masks a run makes and copies
  // allocate nothing; larger ones use heap_ (inline_ then stays zero, so == still compares values).
  static constexpr unsigned kInlineWords = 4;
  unsigned nwords_ = 0;
  std::array<std::uint64_t, kInlineWords> inline_{};
  std::vector<std::uint64_t> heap_;
};

unsigned nr_cpu_ids();

void cpumask_set_cpu(unsigned cpu, cpumask* m);
void cpumask_clear_cpu(unsigned cpu, cpumask* m);
bool cpumask_test_cpu(unsigned cpu, const cpumask* m);
/// First set bit, or nr_cpu_ids() if none.
unsigned cpumask_first(const cpumask* m);
/// Next set bit after `n` (n = -1 starts at 0), or nr_cpu_ids() if none.
unsigned cpumask_next(int n, const cpumask* m);
unsigned cpumask_weight(const cpumask* m);
bool cpumask_empty(const cpumask* m);
bool cpumask_subset(const cpumask* a, const cpumask* b);
void cpumask_and(cpumask* dst, const cpumask* a, const cpumask* b);
void cpumask_clear(cpumask* m);
void cpumask_copy(cpumask* dst, const cpumask* src);
/// A mask with only `cpu` set (the kernel's cpumask_of()).
cpumask cpumask_of(unsigned cpu);
/// "0-3,5" list form, as /sys/devices/system/cpu/online prints it.
std::string cpumask_pr(const cpumask* m);

/// Range-for over set bits in ascending order: for (unsigned cpu : for_each_cpu(mask)).
class for_each_cpu {
 public:
  explicit for_each_cpu(const cpumask* m) : m_(m) {}
  struct iterator {
    const cpumask* m;
    unsigned cpu;
    unsigned operator*() const { return cpu; }
    iterator& operator++() {
      cpu = cpumask_next(static_cast<int>(cpu), m);
      return *this;
    }
    bool operator!=(const iterator& o) const { return cpu != o.cpu; }
  };
  iterator begin() const { return {m_, cpumask_first(m_)}; }
  iterator end() const { return {m_, nr_cpu_ids()}; }

 private:
  const cpumask* m_;
};

}  // namespace model
