// model/bugs.hpp — the historical-bug zoo (spec §7): named knobs that re-create bugs the kernel
// fixed, each a small deviation marked in the model file it belongs to. `--bug NAME` enables one.
#pragma once

#include "model/kernel.hpp"

#include <string>
#include <vector>

namespace model {

struct bug_knob {
  std::string name;     ///< "B1", "B18", ...
  std::string title;    ///< one line: what the kernel got wrong
  std::string history;  ///< one line: the fix (commit, version)
  std::string expect;   ///< failure kind(s) the fuzzer should find, e.g. "I-SM-13|soft-lockup"
  void (*enable)(Knobs&);
};

const std::vector<bug_knob>& bug_registry();
/// nullptr if unknown.
const bug_knob* find_bug(const std::string& name);

}  // namespace model
