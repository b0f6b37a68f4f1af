// Inputs the libFuzzer targets (tests/fuzz) found or were written to probe: each is kept here as a
// regression test, and in tests/fuzz/corpus/<target>/ as a seed. Every rejection is one printable
// line naming its source; nothing crashes, hangs or allocates without bound.
#include "app_fixture.hpp"

#include "app/artifact.hpp"
#include "sim/choice.hpp"

#include <nlohmann/json.hpp>

namespace {

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

bool one_printable_line(const std::string& msg) {
  return std::none_of(msg.begin(), msg.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

std::string artifact_error(const std::string& text) {
  try {
    (void)app::artifact_from_json(text, "a.json");
  } catch (const app::ScenarioError& e) {
    return e.what();
  }
  return {};
}

/// A valid artifact (from a real run) as JSON, to break one field at a time.
nlohmann::json good_artifact() {
  apptest::TempDir tmp;
  REQUIRE(apptest::smpsim({"run", apptest::scenario_path("stop_fn_sleeps"), "--artifact", tmp.file("a.json")}).status == 0);
  return nlohmann::json::parse(apptest::read_file(tmp.file("a.json")));
}

}  // namespace

TEST_CASE("scenario: a cpulist repeating a long range is merged, not expanded per repetition (was a fuzz hang)") {
  std::string list = "0-1000000";
  for (int i = 0; i < 2000; ++i) list += ",0-1000000";
  const std::string err = apptest::parse_error("[[action]]\ndo = \"stop_machine\"\ncpus = \"" + list + "\"\n");
  CHECK(contains(err, "test.toml:3:8: error: action[1].cpus: expected an array of CPU ids or a cpulist string"));
  CHECK(contains(err, "got CPU 4"));
  std::vector<unsigned> cpus;
  CHECK(app::parse_cpulist("3,0-2,1-1,5-6,6", cpus));
  CHECK(cpus == std::vector<unsigned>{0, 1, 2, 3, 5, 6});
}

TEST_CASE("scenario: control bytes echoed from the input are escaped, so every message is one printable line") {
  for (const auto& [text, expected] : std::vector<std::pair<std::string, std::string>>{
           {"[scenario]\nname = \"a\\u0001b\"\n", "got \"a\\x01b\""},
           {"[run]\nseed = \"\\n\"\n", "got \"\\n\""},
           {"[[action]]\ndo = \"synchronize_rcu\"\ntask = \"a\\u001bb\"\n", "got \"a\\x1bb\""},
           {"[expect.counts]\n\"\\u0001\" = 1\n", "'\\x01' is not a counter"},
       }) {
    const std::string err = apptest::parse_error(text);
    CAPTURE(err);
    CHECK(contains(err, expected));
    CHECK(one_printable_line(err));
  }
  CHECK(app::printable("tab\there\x7f") == "tab\\there\\x7f");
  CHECK(app::printable("caf\xc3\xa9") == "caf\xc3\xa9");  // UTF-8 is kept
}

TEST_CASE("artifact: a JSON number too large for a double is a clear rejection, not an escaping exception (fuzz crash)") {
  const std::string err = artifact_error("777e7777777777777776");
  CHECK(contains(err, "a.json: error: not a repro artifact (invalid JSON)"));
  CHECK(contains(err, "number overflow"));
  CHECK(contains(artifact_error("{\"a\":\"\xff\"}"), "a.json: error: not a repro artifact (invalid JSON at byte"));
}

TEST_CASE("artifact: integers must be JSON integers in range (1.5, -1 and 1e300 were silently converted)") {
  const nlohmann::json good = good_artifact();
  CHECK(artifact_error(good.dump()).empty());
  const auto broken = [&](const nlohmann::json::json_pointer& where, const nlohmann::json& value) {
    nlohmann::json j = good;
    j[where] = value;
    return artifact_error(j.dump());
  };
  using ptr = nlohmann::json::json_pointer;
  CHECK(contains(broken(ptr("/format_version"), 1.5), "'format_version' must be an integer in"));
  CHECK(contains(broken(ptr("/format_version"), 1e300), "'format_version' must be an integer in"));
  CHECK(contains(broken(ptr("/seed"), -1), "'seed' must be an integer in 0..18446744073709551615, got -1"));
  CHECK(contains(broken(ptr("/pct_depth"), 1ull << 40), "'pct_depth' must be an integer in 0..4294967295"));
  CHECK(contains(broken(ptr("/signature/cpu"), "0"), "'signature.cpu' must be an integer in"));
  CHECK(contains(broken(ptr("/scenario"), 3), "a.json: error: repro artifact: 'scenario' must be an object, got number"));
  CHECK(contains(broken(ptr("/failure/message"), 7), "'failure.message' must be a string, got number"));
  CHECK(contains(broken(ptr("/bugs"), "B1"), "'bugs' must be an array of strings, got string"));
  nlohmann::json j = good;
  j["scenario"].erase("text");
  CHECK(contains(artifact_error(j.dump()), "missing key 'scenario.text'"));
  j = good;
  j["format_version"] = 2;
  j["smpsim_version"] = "\x1b[31m";
  const std::string err = artifact_error(j.dump());
  CHECK(contains(err, "written by smpsim \\x1b[31m"));
  CHECK(one_printable_line(err));
}

TEST_CASE("choice log: CRLF line ends are read, a control byte is quoted as \\xNN in the message") {
  std::string error;
  const auto log = sim::ChoiceLog::parse("smpsim-choices 1\r\np0/2 p1/2*3\r\n", error);
  REQUIRE(log);
  CHECK(log->size() == 4);
  CHECK(!sim::ChoiceLog::parse("smpsim-choices 1\n\x01", error));
  CHECK(error == "line 2, column 1: unknown choice kind '\\x01' (expected one of p s l f d v)");
  CHECK(!sim::ChoiceLog::parse("smpsim-choices \x1b[31m\n", error));
  CHECK(error == "line 1, column 16: unsupported choice-log version '\\x1b[31m' (this build reads version 1)");
  CHECK(!sim::ChoiceLog::parse("smpsim-choices 1\n\xff", error));
  CHECK(contains(error, "'\\xff'"));
}
