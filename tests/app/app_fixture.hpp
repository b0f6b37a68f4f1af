// Helpers for the app tests: the bundled scenarios, a scratch directory, and the real smpsim
// command line driven in-process with captured output.
#pragma once

#include "app/cli.hpp"
#include "app/runner.hpp"
#include "app/scenario.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace apptest {

inline std::filesystem::path source_dir() { return SMPSIM_SOURCE_DIR; }
inline std::string scenario_path(const std::string& name) { return (source_dir() / "scenarios" / (name + ".toml")).string(); }

/// Names (file stems) of every scenarios/*.toml, sorted.
inline std::vector<std::string> bundled_scenarios() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(source_dir() / "scenarios"))
    if (e.path().extension() == ".toml") out.push_back(e.path().stem().string());
  std::sort(out.begin(), out.end());
  return out;
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

/// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            fmt::format("smpsim-apptest-{}-{}", static_cast<long>(::getpid()), counter++);
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  /// Every file name in the directory, sorted (to check that nothing partial was left).
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(path_)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  std::filesystem::path path_;
};

struct CliResult {
  int status = -1;
  std::string out, err;
};

/// Runs `smpsim args...` in-process.
inline CliResult smpsim(const std::vector<std::string>& args) {
  std::vector<const char*> argv{"smpsim"};
  for (const auto& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  CliResult r;
  r.status = app::smpsim_main(static_cast<int>(argv.size()), argv.data(), out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

/// Parses scenario text given inline (path "test.toml" in messages).
inline app::Scenario parse(const std::string& text) { return app::parse_scenario(text, "test.toml"); }

/// The error message of parsing `text`, or "" if it parses.
inline std::string parse_error(const std::string& text) {
  try {
    parse(text);
  } catch (const app::ScenarioError& e) {
    return e.what();
  }
  return {};
}

}  // namespace apptest
