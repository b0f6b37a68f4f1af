// app/words.hpp — small pieces of the command line's wording shared by its commands.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

namespace app {

/// "1 run", "2 runs": a count and its noun (regular English plurals only).
inline std::string plural(std::uint64_t n, std::string_view noun) {
  return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s");
}

/// `s` as one shell word: unchanged when it has only safe characters, single-quoted otherwise,
/// so a printed command can be pasted into a shell.
inline std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%") ==
                        std::string::npos)
    return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

/// Prints "smpsim: error: <message>", the one form of every error line. A message that says where
/// ("f.toml:3:1: error: ...", the library's form) keeps its place and drops its own "error: ", so
/// no line says it twice.
inline void print_error(std::ostream& err, std::string message) {
  if (const auto at = message.find(": error: "); at != std::string::npos) message.erase(at + 2, 7);
  err << "smpsim: error: " << message << "\n";
}

}  // namespace app
