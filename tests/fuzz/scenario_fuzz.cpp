// libFuzzer target: the scenario parser rejects any malformed text with one clear line naming
// the file (fuzz_check.hpp), never crashes, hangs or trips a sanitizer.
#include "app/scenario.hpp"
#include "fuzz_check.hpp"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)app::parse_scenario(std::move(text), "fuzz.toml");
  } catch (const app::ScenarioError& e) {
    fuzzcheck::require_clear_message(e.what(), "fuzz.toml");
  }
  return 0;
}
