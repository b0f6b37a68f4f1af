// Output files on an unwritable path or a full disk: every output of the smpsim command (repro
// artifacts, --trace in each format, shrink -o, fuzz --out and --coverage) fails with a message
// naming the file and exit status 2, and leaves no partial or temporary file behind.
// CI runs as root, so permissions cannot make a directory unwritable: the tests use a path whose
// parent is a regular file (ENOTDIR) or does not exist (ENOENT). A full disk is /dev/full (every
// write fails with ENOSPC) or, for a regular file, RLIMIT_FSIZE in a forked child with SIGXFSZ
// ignored (a write past the limit fails with EFBIG), which needs no privileges and is exact.
#include "app_fixture.hpp"

#include "app/output.hpp"

#include <csignal>
#include <stdexcept>

#include <sys/resource.h>
#include <sys/stat.h>

using apptest::smpsim;

namespace {

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

/// The message of the std::runtime_error `f` throws, or "" if it throws none.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return {};
}

bool is_char_device(const char* path) {
  struct stat st {};
  return ::stat(path, &st) == 0 && S_ISCHR(st.st_mode);
}

/// Runs `smpsim args...` in a forked child whose files cannot grow past `limit` bytes.
apptest::CliResult smpsim_with_file_limit(const std::vector<std::string>& args, rlim_t limit) {
  apptest::ChildSmpsim child(args, [limit] {
    std::signal(SIGXFSZ, SIG_IGN);
    const rlimit rl{limit, limit};
    ::setrlimit(RLIMIT_FSIZE, &rl);
  });
  const auto r = child.wait();
  REQUIRE_FALSE(r.timed_out);
  REQUIRE_FALSE(r.signaled);
  return r.cli;
}

}  // namespace

TEST_CASE("output: an unwritable place, a directory or a full device is an error naming the file, nothing is left") {
  apptest::TempDir tmp;
  apptest::write_file(tmp.file("plain"), "x");
  const std::string not_dir = tmp.file("plain") + "/out.json";
  CHECK(error_of([&] { app::write_file_atomically(not_dir, "{}"); }) == not_dir + ": cannot write: Not a directory");
  const std::string no_dir = tmp.file("missing") + "/out.json";
  CHECK(error_of([&] { app::write_file_atomically(no_dir, "{}"); }) ==
        no_dir + ": cannot write: No such file or directory");
  CHECK(error_of([&] { app::write_file_atomically(tmp.file(""), "{}"); }) == tmp.file("") + ": not a file name");
  std::filesystem::create_directory(tmp.file("dir"));
  CHECK(error_of([&] { app::write_file_atomically(tmp.file("dir"), "{}"); }) ==
        tmp.file("dir") + ": cannot write: Is a directory");
  CHECK(tmp.files() == std::vector<std::string>{"dir", "plain"});
  if (is_char_device("/dev/full")) {
    // Written directly (a device is not replaced by a rename): the write fails with ENOSPC.
    CHECK(error_of([&] { app::write_file_atomically("/dev/full", std::string(100'000, 'x')); }) ==
          "/dev/full: cannot write: No space left on device");
    CHECK(error_of([&] { app::write_file_atomically("/dev/full", "tiny"); }) ==
          "/dev/full: cannot write: No space left on device");
    CHECK(is_char_device("/dev/full"));
  }
  if (is_char_device("/dev/null")) CHECK(error_of([&] { app::write_file_atomically("/dev/null", "ok"); }).empty());
}

TEST_CASE("output: a full disk (RLIMIT_FSIZE) fails the write with EFBIG and removes the temporary") {
  apptest::TempDir tmp;
  const std::string target = tmp.file("big.txt");
  const auto r = smpsim_with_file_limit({"run", apptest::scenario_path("default"), "--trace", target}, 4096);
  CHECK(r.status == 2);
  CHECK(contains(r.err, "smpsim: error: cannot write the trace: " + target + ": cannot write: File too large"));
  CHECK(tmp.files().empty());
}

TEST_CASE("output: run and replay exit 2 when the trace or the repro artifact cannot be written, in every format") {
  apptest::TempDir tmp;
  apptest::write_file(tmp.file("plain"), "x");
  const std::string bad = tmp.file("plain") + "/x";
  const std::string sc = apptest::scenario_path("stop_fn_sleeps");  // fails as expected: writes an artifact
  for (const char* format : {"text", "jsonl", "chrome"}) {
    CAPTURE(format);
    const auto r = smpsim({"run", sc, "--trace", bad, "--trace-format", format, "--artifact", tmp.file("a.json")});
    CHECK(r.status == 2);
    CHECK(contains(r.err, "smpsim: error: --trace: " + bad + ": cannot write: Not a directory"));
    if (is_char_device("/dev/full")) {
      const auto f = smpsim({"run", apptest::scenario_path("default"), "--trace", "/dev/full", "--trace-format", format});
      CHECK(f.status == 2);
      CHECK(contains(f.err, "smpsim: error: cannot write the trace: /dev/full: cannot write: No space left on device"));
    }
  }
  auto r = smpsim({"run", sc, "--artifact", bad});
  CHECK(r.status == 2);
  CHECK(contains(r.err, "smpsim: error: cannot write the repro artifact: " + bad + ": cannot write: Not a directory"));
  const auto full = smpsim_with_file_limit({"run", sc, "--artifact", tmp.file("a.json")}, 512);
  CHECK(full.status == 2);
  CHECK(contains(full.err, tmp.file("a.json") + ": cannot write: File too large"));
  CHECK(tmp.files() == std::vector<std::string>{"plain"});

  REQUIRE(smpsim({"run", sc, "--artifact", tmp.file("a.json")}).status == 0);
  r = smpsim({"replay", tmp.file("a.json"), "--trace", tmp.file("missing") + "/t.txt"});
  CHECK(r.status == 2);
  CHECK(contains(r.err, tmp.file("missing") + "/t.txt: cannot write: No such file or directory"));
  r = smpsim({"shrink", tmp.file("a.json"), "-o", bad});
  CHECK(r.status == 2);
  CHECK(contains(r.err, "smpsim: error: " + bad + ": cannot write: Not a directory"));
  CHECK(tmp.files() == std::vector<std::string>{"a.json", "plain"});
}

TEST_CASE("output: fuzz exits 2 when its output directory, results.jsonl or coverage file cannot be written") {
  apptest::TempDir tmp;
  apptest::write_file(tmp.file("plain"), "x");
  const std::string sc = apptest::scenario_path("default");
  auto r = smpsim({"fuzz", sc, "--runs", "2", "--out", tmp.file("plain") + "/out"});
  CHECK(r.status == 2);
  CHECK(contains(r.err, tmp.file("plain") + "/out"));
  std::filesystem::create_directories(tmp.file("o1/results.jsonl"));  // results.jsonl cannot be opened
  r = smpsim({"fuzz", sc, "--runs", "2", "--out", tmp.file("o1")});
  CHECK(r.status == 2);
  CHECK(contains(r.err, tmp.file("o1") + "/results.jsonl"));
  r = smpsim({"fuzz", sc, "--runs", "2", "--out", tmp.file("o2"), "--coverage", tmp.file("plain") + "/cov.json"});
  CHECK(r.status == 2);
  CHECK(contains(r.err, tmp.file("plain") + "/cov.json: cannot write: Not a directory"));
  if (is_char_device("/dev/full")) {
    r = smpsim({"fuzz", sc, "--runs", "2", "--out", tmp.file("o3"), "--coverage", "/dev/full"});
    CHECK(r.status == 2);
    CHECK(contains(r.err, "/dev/full: cannot write: No space left on device"));
  }
}

TEST_CASE("output: a full disk during a fuzz campaign (results.jsonl append, artifact) exits 2 naming the file, with 1 or 2 jobs") {
  apptest::TempDir tmp;
  for (const char* jobs : {"1", "2"}) {
    // Each results.jsonl line is about 150 bytes: the third append cannot fit.
    const std::string out1 = tmp.file(std::string("r") + jobs);
    auto r = smpsim_with_file_limit({"fuzz", apptest::scenario_path("default"), "--runs", "20", "--strategy", "random",
                                     "--jobs", jobs, "--out", out1},
                                    400);
    INFO("jobs ", std::string(jobs), ", stderr: ", r.err);
    CHECK(r.status == 2);
    CHECK(contains(r.err, out1 + "/results.jsonl: cannot append a result: File too large"));
    // B4 fails in its first run; its artifact (scenario text and choice log) is about 1.5 KB.
    const std::string out2 = tmp.file(std::string("a") + jobs);
    r = smpsim_with_file_limit({"fuzz", apptest::scenario_path("bugs/b4"), "--runs", "4", "--strategy", "random",
                                "--bug", "B4", "--jobs", jobs, "--out", out2},
                               1000);
    CHECK(r.status == 2);
    CHECK(contains(r.err, out2 + "/artifacts/"));
    CHECK(contains(r.err, "File too large"));
  }
}
