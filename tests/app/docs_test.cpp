// The documentation shows what the program does: every `$S ...` command of docs/tutorial.md is run
// in order, in-process, from a scratch directory that sees the checkout's scenarios/, and each
// output block of the tutorial must match what the command before it printed, line for line,
// where the tutorial does not mark an omission with "...". The --log examples must add lines.
#include "app_fixture.hpp"

#include <optional>
#include <set>

namespace {

struct Block {
  std::string lang;  ///< "sh", or "" for an output block
  std::vector<std::string> lines;
};

std::vector<Block> fenced_blocks(const std::string& md) {
  std::vector<Block> out;
  std::istringstream in(md);
  bool inside = false;
  for (std::string l; std::getline(in, l);) {
    if (l.rfind("```", 0) == 0) {
      inside = !inside;
      if (inside) out.push_back(Block{l.substr(3), {}});
      continue;
    }
    if (inside) out.back().lines.push_back(l);
  }
  return out;
}

/// Splits a shell command line into words ('single quotes' only, as the tutorial uses).
std::vector<std::string> words(const std::string& cmd) {
  std::vector<std::string> out;
  std::string w;
  bool quoted = false, any = false;
  for (char c : cmd) {
    if (c == '\'') {
      quoted = !quoted;
      any = true;
    } else if (c == ' ' && !quoted) {
      if (any) out.push_back(w);
      w.clear();
      any = false;
    } else {
      w += c;
      any = true;
    }
  }
  if (any) out.push_back(w);
  return out;
}

/// `want` is `got`, where each "..." in `want` stands for any text.
bool line_matches(const std::string& want, const std::string& got) {
  std::size_t at = 0, from = 0;
  for (bool first = true;; first = false) {
    const std::size_t dots = want.find("...", from);
    const std::string piece = want.substr(from, dots == std::string::npos ? std::string::npos : dots - from);
    if (dots == std::string::npos)
      return first ? got == piece : got.size() >= at + piece.size() && got.compare(got.size() - piece.size(), piece.size(), piece) == 0;
    const std::size_t found = first ? (got.rfind(piece, 0) == 0 ? 0 : std::string::npos) : got.find(piece, at);
    if (found == std::string::npos) return false;
    at = found + piece.size();
    from = dots + 3;
  }
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

/// Checks the shown output against the real one: a line "..." (indented or not) stands for any
/// number of lines; the wall time, which no two runs share, is compared by its label only.
void check_shown_output(const std::vector<std::string>& want, const std::vector<std::string>& got) {
  std::size_t pos = 0;
  bool gap = false;
  for (const std::string& w : want) {
    if (w.find_first_not_of(' ') != std::string::npos && w.substr(w.find_first_not_of(' ')) == "...") {
      gap = true;
      continue;
    }
    const auto matches = [&w](const std::string& g) {
      return w.rfind("wall time", 0) == 0 ? g.rfind("wall time", 0) == 0 : line_matches(w, g);
    };
    std::size_t k = pos;
    if (gap)
      while (k < got.size() && !matches(got[k])) ++k;
    CHECK_MESSAGE((k < got.size() && matches(got[k])), "the tutorial shows\n  " << w << "\nbut the command printed "
                                                         << (k < got.size() ? "\n  " + got[k] : "nothing more"));
    if (k >= got.size()) return;
    pos = k + 1;
    gap = false;
  }
  CHECK_MESSAGE((gap || pos == got.size()), "the command printed more than the tutorial shows (mark it with ...): "
                                                << (pos < got.size() ? got[pos] : ""));
}

/// Runs in a scratch directory holding a link to the checkout's scenarios/, as the tutorial's
/// commands run from the top of a checkout, and goes back to where it was.
class InScratchCheckout {
 public:
  InScratchCheckout() : old_(std::filesystem::current_path()) {
    std::filesystem::create_directory_symlink(apptest::source_dir() / "scenarios", std::filesystem::path(tmp_.file("scenarios")));
    std::filesystem::current_path(tmp_.file(""));
  }
  ~InScratchCheckout() { std::filesystem::current_path(old_); }
  InScratchCheckout(const InScratchCheckout&) = delete;
  InScratchCheckout& operator=(const InScratchCheckout&) = delete;

 private:
  apptest::TempDir tmp_;
  std::filesystem::path old_;
};

std::size_t trace_lines(const std::vector<std::string>& extra) {
  apptest::TempDir tmp;
  std::vector<std::string> args{"run", apptest::scenario_path("default"), "--trace", tmp.file("t.log")};
  args.insert(args.end(), extra.begin(), extra.end());
  REQUIRE(apptest::smpsim(args).status == 0);
  return lines_of(apptest::read_file(tmp.file("t.log"))).size();
}

}  // namespace

TEST_CASE("docs: every command of the tutorial prints what the tutorial shows, outcome lines and trace hashes included") {
  const std::string md = apptest::read_file(apptest::source_dir() / "docs" / "tutorial.md");
  const std::vector<Block> blocks = fenced_blocks(md);
  std::string argv0;
  for (const Block& b : blocks)
    for (const std::string& l : b.lines)
      if (l.rfind("S=", 0) == 0) argv0 = l.substr(2);
  REQUIRE_MESSAGE(!argv0.empty(), "the tutorial names the binary with S=...");

  InScratchCheckout here;
  int commands = 0, shown = 0, outcomes = 0;
  std::string last_output;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const Block& b = blocks[i];
    if (b.lang.empty() && i > 0 && blocks[i - 1].lang == "sh" && commands > 0) {
      // An output block: what the last command of the block before it printed.
      CAPTURE(b.lines.front());
      check_shown_output(b.lines, lines_of(last_output));
      ++shown;
      for (const auto& l : b.lines) outcomes += l.rfind("outcome ", 0) == 0 ? 1 : 0;
      continue;
    }
    if (b.lang != "sh") continue;
    for (const std::string& l : b.lines) {
      if (l.rfind("$S ", 0) != 0) continue;
      CAPTURE(l);
      std::string cmd = l.substr(3);
      std::optional<std::size_t> head;
      if (const auto bar = cmd.find(" | head -"); bar != std::string::npos) {
        head = std::stoul(cmd.substr(bar + 9));
        cmd.erase(bar);
      }
      std::vector<std::string> args = words(cmd);
      std::vector<const char*> argv{argv0.c_str()};
      for (const auto& a : args) argv.push_back(a.c_str());
      std::ostringstream out, err;
      const int status = app::smpsim_main(static_cast<int>(argv.size()), argv.data(), out, err);
      CHECK_MESSAGE(status != 2, err.str());
      last_output = out.str();
      if (head) {
        const auto ls = lines_of(last_output);
        last_output.clear();
        for (std::size_t k = 0; k < ls.size() && k < *head; ++k) last_output += ls[k] + "\n";
      }
      ++commands;
    }
  }
  CHECK(commands >= 8);
  CHECK(shown >= 5);
  CHECK(outcomes >= 2);  // the default run and the B18 run: their steps and trace hashes
}

TEST_CASE("docs: the --log examples of run --help, the tutorial and the README add lines to a trace of default.toml") {
  std::set<std::string> examples;
  std::string texts = apptest::smpsim({"run", "--help"}).out;
  for (const char* doc : {"docs/tutorial.md", "README.md", "docs/trace-format.md"})
    texts += apptest::read_file(apptest::source_dir() / doc);
  // Every "--log SUBSYS=LEVEL" (the value perhaps single-quoted), found by a plain scan: GCC 12
  // warns inside <regex> at -O1, and the sanitizer build treats warnings as errors.
  auto word = [](char c) { return (c >= 'a' && c <= 'z') || c == '_' || c == '*'; };
  for (std::size_t at = texts.find("--log "); at != std::string::npos; at = texts.find("--log ", at + 1)) {
    std::size_t b = at + 6;
    if (b < texts.size() && texts[b] == '\'') ++b;
    std::size_t e = b;
    while (e < texts.size() && word(texts[e])) ++e;
    if (e == b || e >= texts.size() || texts[e] != '=') continue;
    std::size_t v = e + 1;
    while (v < texts.size() && texts[v] >= 'a' && texts[v] <= 'z') ++v;
    if (v > e + 1) examples.insert(texts.substr(b, v - b));
  }
  const std::string help = apptest::smpsim({"run", "--help"}).out;
  const auto eg = help.find("e.g. ");
  REQUIRE(eg != std::string::npos);
  examples.insert(help.substr(eg + 5, help.find(';', eg) - eg - 5));
  CHECK(examples.size() >= 2);
  const std::size_t plain = trace_lines({});
  for (const std::string& e : examples) {
    CAPTURE(e);
    CHECK(trace_lines({"--log", e}) > plain);
  }
}
