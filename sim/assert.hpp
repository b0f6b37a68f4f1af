// sim/assert.hpp
// SIM_ASSERT stays on in every build: a broken engine invariant is an internal error, reported
// distinctly from a model failure (a kernel bug found) and never silently ignored.
#pragma once

#include <stdexcept>
#include <string>

namespace sim {

/// Thrown when the engine's own invariants break (not when the simulated kernel misbehaves).
class InternalError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

[[noreturn]] void assert_fail(const char* expr, const char* file, int line, const std::string& msg);

}  // namespace sim

#define SIM_ASSERT(cond) \
  do { if (!(cond)) ::sim::assert_fail(#cond, __FILE__, __LINE__, {}); } while (0)
#define SIM_ASSERT_MSG(cond, msg) \
  do { if (!(cond)) ::sim::assert_fail(#cond, __FILE__, __LINE__, (msg)); } while (0)
