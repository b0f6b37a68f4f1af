// libFuzzer target: the scenario parser rejects any malformed text with a message naming the
// file, never crashes, hangs or trips a sanitizer.
#include "app/scenario.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)app::parse_scenario(std::move(text), "fuzz.toml");
  } catch (const app::ScenarioError& e) {
    if (std::string(e.what()).find("fuzz.toml") == std::string::npos) std::abort();  // must name the file
  }
  return 0;
}
