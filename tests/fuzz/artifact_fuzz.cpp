// libFuzzer target: the repro-artifact parser rejects malformed JSON (and other format versions)
// with a message naming the file, and never crashes, hangs or trips a sanitizer.
#include "app/artifact.hpp"
#include "fuzz_check.hpp"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const app::Artifact a = app::artifact_from_json(text, "fuzz.json");
    (void)app::artifact_to_json(a);
  } catch (const app::ScenarioError& e) {
    fuzzcheck::require_clear_message(e.what(), "fuzz.json");
  }
  return 0;
}
