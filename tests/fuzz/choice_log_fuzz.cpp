// libFuzzer target: the choice-log text parser must reject any input with a message, never crash
// or hang, and whatever it accepts must round-trip through to_text().
#include "sim/choice.hpp"
#include "fuzz_check.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

/// The sum of the run-length counts ("*N") in `text`, saturating at 2^32. The parser accepts up to
/// 2^28 choices by design (a long run's log), 12 bytes each: an input asking for more than 2^22 is
/// valid but would only measure the fuzzer's memory limit, so it is not parsed here.
std::uint64_t repeats(const std::string& text) {
  std::uint64_t sum = 0;
  for (std::size_t i = text.find('*'); i != std::string::npos; i = text.find('*', i + 1)) {
    std::uint64_t n = 0;
    for (std::size_t k = i + 1; k < text.size() && text[k] >= '0' && text[k] <= '9' && n < (1ull << 32); ++k)
      n = n * 10 + static_cast<std::uint64_t>(text[k] - '0');
    sum = std::min<std::uint64_t>(sum + n, 1ull << 32);
  }
  return sum;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (repeats(text) > (1u << 22)) return 0;
  std::string error;
  const auto log = sim::ChoiceLog::parse(text, error);
  if (!log) {
    fuzzcheck::require_clear_message(error, "line ", /*file_error=*/false);  // every rejection says where and why
    return 0;
  }
  std::string again;
  const auto back = sim::ChoiceLog::parse(log->to_text(), again);
  if (!back || !(*back == *log)) std::abort();
  return 0;
}
