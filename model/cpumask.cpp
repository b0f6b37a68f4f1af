// model/cpumask.cpp — models lib/cpumask.c and include/linux/cpumask.h helpers.
#include "model/cpumask.hpp"

#include "model/kernel.hpp"

#include <fmt/format.h>

#include <bit>

namespace model {

unsigned nr_cpu_ids() { return kernel().nr_cpu_ids; }

void cpumask_set_cpu(unsigned cpu, cpumask* m) {
  SIM_ASSERT(cpu < m->nbits());
  m->bits()[cpu / 64] |= std::uint64_t{1} << (cpu % 64);
}

void cpumask_clear_cpu(unsigned cpu, cpumask* m) {
  SIM_ASSERT(cpu < m->nbits());
  m->bits()[cpu / 64] &= ~(std::uint64_t{1} << (cpu % 64));
}

bool cpumask_test_cpu(unsigned cpu, const cpumask* m) {
  if (cpu >= m->nbits()) return false;
  return (m->bits()[cpu / 64] >> (cpu % 64)) & 1;
}

unsigned cpumask_next(int n, const cpumask* m) {
  const unsigned limit = nr_cpu_ids();
  unsigned start = static_cast<unsigned>(n + 1);
  while (start < limit) {
    const std::size_t w = start / 64;
    const std::uint64_t word = m->bits()[w] >> (start % 64);
    if (word != 0) {
      const unsigned cpu = start + static_cast<unsigned>(std::countr_zero(word));
      return cpu < limit ? cpu : limit;
    }
    start = static_cast<unsigned>((w + 1) * 64);
  }
  return limit;
}

unsigned cpumask_first(const cpumask* m) { return cpumask_next(-1, m); }

unsigned cpumask_weight(const cpumask* m) {
  unsigned n = 0;
  for (auto w : m->bits()) n += static_cast<unsigned>(std::popcount(w));
  return n;
}

bool cpumask_empty(const cpumask* m) { return cpumask_weight(m) == 0; }

bool cpumask_subset(const cpumask* a, const cpumask* b) {
  const auto ab = a->bits(), bb = b->bits();
  for (std::size_t i = 0; i < ab.size(); ++i)
    if (ab[i] & ~(i < bb.size() ? bb[i] : 0)) return false;
  return true;
}

void cpumask_and(cpumask* dst, const cpumask* a, const cpumask* b) {
  cpumask out(a->nbits());
  const auto ob = out.bits();
  const auto ab = a->bits(), bb = b->bits();
  for (std::size_t i = 0; i < ob.size(); ++i) ob[i] = ab[i] & bb[i];
  *dst = std::move(out);
}

void cpumask_clear(cpumask* m) {
  for (auto& w : m->bits()) w = 0;
}

void cpumask_copy(cpumask* dst, const cpumask* src) { *dst = *src; }

cpumask cpumask_of(unsigned cpu) {
  cpumask m(nr_cpu_ids());
  cpumask_set_cpu(cpu, &m);
  return m;
}

std::string cpumask_pr(const cpumask* m) {
  std::string out;
  unsigned cpu = cpumask_first(m);
  while (cpu < nr_cpu_ids()) {
    unsigned end = cpu;
    while (end + 1 < nr_cpu_ids() && cpumask_test_cpu(end + 1, m)) ++end;
    if (!out.empty()) out += ',';
    out += end == cpu ? fmt::format("{}", cpu) : fmt::format("{}-{}", cpu, end);
    cpu = cpumask_next(static_cast<int>(end), m);
  }
  return out.empty() ? "(none)" : out;
}

}  // namespace model
