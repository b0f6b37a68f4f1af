// libFuzzer target: the choice-log text parser must reject any input with a message, never crash
// or hang, and whatever it accepts must round-trip through to_text().
#include "sim/choice.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::string error;
  const auto log = sim::ChoiceLog::parse(text, error);
  if (!log) {
    if (error.empty()) std::abort();  // every rejection says why
    return 0;
  }
  if (log->size() > (1u << 20)) return 0;  // a long run-length expansion: accepted, not re-rendered
  std::string again;
  const auto back = sim::ChoiceLog::parse(log->to_text(), again);
  if (!back || !(*back == *log)) std::abort();
  return 0;
}
