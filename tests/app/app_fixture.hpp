// Helpers for the app tests: the bundled scenarios, a scratch directory, and the real smpsim
// command line driven in-process with captured output.
#pragma once

#include "app/cli.hpp"
#include "app/runner.hpp"
#include "app/scenario.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <poll.h>
#include <sys/wait.h>
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

/// `smpsim args...` run in-process in a forked child, for what must not touch the test process
/// (resource limits, signals). `setup` runs in the child first. The child sends its output back
/// through a pipe (standard output, a NUL, standard error) and exits with the command's status.
class ChildSmpsim {
 public:
  explicit ChildSmpsim(const std::vector<std::string>& args, const std::function<void()>& setup = {}) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      // The child must never return into the test runner: whatever happens, it exits here.
      try {
        ::close(fds[0]);
        if (setup) setup();
        const CliResult r = smpsim(args);
        const std::string msg = r.out + std::string(1, '\0') + r.err;
        for (std::size_t done = 0; done < msg.size();) {
          const ssize_t n = ::write(fds[1], msg.data() + done, msg.size() - done);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) break;
          done += static_cast<std::size_t>(n);
        }
        ::_exit(r.status);
      } catch (...) {
        ::_exit(125);
      }
    }
    ::close(fds[1]);
    fd_ = fds[0];
  }
  ChildSmpsim(const ChildSmpsim&) = delete;
  ChildSmpsim& operator=(const ChildSmpsim&) = delete;
  ~ChildSmpsim() {
    if (fd_ >= 0) ::close(fd_);
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  /// The child ended on its own (without waiting for it).
  bool ended() {
    if (!reaped_ && ::waitpid(pid_, &wstatus_, WNOHANG) == pid_) reaped_ = true;
    return reaped_;
  }

  struct Result {
    CliResult cli;              ///< status: the exit status, or -1 if a signal ended the child
    bool signaled = false;      ///< a signal ended it
    bool timed_out = false;     ///< it had not ended after `timeout`: killed
  };
  /// Collects the output and the status, waiting up to `timeout` for the child to end.
  Result wait(std::chrono::seconds timeout = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    Result res;
    std::string msg;
    char buf[4096];
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      const int ready = left.count() <= 0 ? 0 : ::poll(&p, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) {
        res.timed_out = true;
        ::kill(pid_, SIGKILL);
        break;
      }
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      msg.append(buf, static_cast<std::size_t>(n));
    }
    if (!reaped_) ::waitpid(pid_, &wstatus_, 0);
    reaped_ = true;
    res.signaled = WIFSIGNALED(wstatus_);
    res.cli.status = WIFEXITED(wstatus_) ? WEXITSTATUS(wstatus_) : -1;
    const auto nul = msg.find('\0');
    res.cli.out = msg.substr(0, nul);
    if (nul != std::string::npos) res.cli.err = msg.substr(nul + 1);
    return res;
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  int wstatus_ = 0;
  bool reaped_ = false;
};

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
