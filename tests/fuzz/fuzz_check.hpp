// What every libFuzzer target asks of a rejection: a message that names its source first, says
// "error:" and is one printable line (no control bytes, no raw invalid input echoed), so a user
// reading it on a terminal sees what is wrong. A broken rule aborts, which libFuzzer reports.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace fuzzcheck {

/// `source`: the prefix the message must start with; `file_error`: it is a file-level message
/// ("<file>...: error: ...") rather than a position inside a text ("line L, column C: ...").
inline void require_clear_message(std::string_view msg, std::string_view source, bool file_error = true) {
  auto bad = [&](const char* why) {
    std::fprintf(stderr, "unclear rejection (%s): %.*s\n", why, static_cast<int>(msg.size()), msg.data());
    std::abort();
  };
  if (msg.empty()) bad("empty");
  if (!source.empty() && msg.substr(0, source.size()) != source) bad("does not start with the source name");
  if (file_error && msg.find("error:") == std::string_view::npos) bad("no 'error:'");
  for (const char c : msg) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) bad("control byte");
  }
}

}  // namespace fuzzcheck
