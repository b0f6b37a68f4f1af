// The smpsim command: exit statuses, help, listings, outputs that are complete or absent, repro
// artifacts (versioned, replayable, divergence reported) and the trace tools.
#include "app_fixture.hpp"

#include "app/artifact.hpp"
#include "app/fns.hpp"
#include "app/trace_tools.hpp"

#include <nlohmann/json.hpp>

#include <set>

using apptest::smpsim;

namespace {

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

}  // namespace

TEST_CASE("cli: no subcommand, an unknown option or a missing file argument is a usage error (status 2)") {
  CHECK(smpsim({}).status == 2);
  CHECK(smpsim({"frobnicate"}).status == 2);
  CHECK(smpsim({"run"}).status == 2);
  const auto r = smpsim({"run", apptest::scenario_path("default"), "--strategy", "clever"});
  CHECK(r.status == 2);
  CHECK(contains(r.err, "--strategy"));
}

TEST_CASE("cli: --help works on the command and on each subcommand (status 0)") {
  const auto top = smpsim({"--help"});
  CHECK(top.status == 0);
  CHECK(contains(top.out, "run"));
  CHECK(contains(top.out, "replay"));
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"run", "--help"}, {"replay", "--help"}, {"trace", "show", "--help"},
        {"trace", "diff", "--help"}, {"list", "--help"}, {"check", "--help"}}) {
    CAPTURE(args[0]);
    const auto r = smpsim(args);
    CHECK(r.status == 0);
    CHECK(contains(r.out, "Usage"));
  }
  CHECK(contains(smpsim({"run", "--help"}).out, "--seed"));
  CHECK(contains(smpsim({"run", "--help"}).out, "--trace-format"));
}

TEST_CASE("cli: list fns names every library callback, list bugs and list actions list the registries") {
  const auto fns = smpsim({"list", "fns"});
  CHECK(fns.status == 0);
  for (const auto& f : app::stop_fn_catalog()) CHECK(contains(fns.out, f.name));
  CHECK(contains(fns.out, "check_quiescent"));
  CHECK(contains(fns.out, "spin_2ms_irqsoff"));
  CHECK(contains(smpsim({"list", "bugs"}).out, "B18"));
  CHECK(contains(smpsim({"list", "actions"}).out, "stop_machine_from_inactive_cpu"));
}

TEST_CASE("cli: run of a passing scenario prints the summary and exits 0, writing no artifact") {
  apptest::TempDir tmp;
  const auto r = smpsim({"run", apptest::scenario_path("default"), "--artifact", tmp.file("a.json")});
  CHECK(r.status == 0);
  CHECK(contains(r.out, "outcome    completed"));
  CHECK(contains(r.out, "result     PASS"));
  CHECK(contains(r.out, "cpu3"));
  CHECK(contains(r.out, "wall time"));
  CHECK(tmp.files().empty());
}

TEST_CASE("cli: run of a failing scenario prints the failure, the last lines per CPU and the replay command (status 1)") {
  apptest::TempDir tmp;
  const std::string art = tmp.file("x.json");
  const auto r = smpsim({"run", apptest::scenario_path("inactive_cpu"), "--bug", "B18", "--seed", "3", "--artifact", art});
  CHECK(r.status == 1);
  CHECK(contains(r.out, "failure    I-SM-6"));
  CHECK(contains(r.out, "signature  I-SM-6 cpu="));
  CHECK(contains(r.out, "last trace lines per CPU:"));
  CHECK(contains(r.out, "replay     smpsim replay " + art));
  CHECK(contains(r.out, "--seed 3 --strategy random"));
  CHECK(tmp.files() == std::vector<std::string>{"x.json"});
}

TEST_CASE("cli: a bad scenario file exits 2 with the error and leaves no trace or artifact file behind") {
  apptest::TempDir tmp;
  apptest::write_file(tmp.file("bad.toml"), "[machine]\ncpus = 4\nwhatever = 1\n");
  const auto r = smpsim({"run", tmp.file("bad.toml"), "--trace", tmp.file("t.log"), "--artifact", tmp.file("a.json")});
  CHECK(r.status == 2);
  CHECK(contains(r.err, "smpsim: error: " + tmp.file("bad.toml") + ":3:1: machine.whatever: unknown key"));
  CHECK(tmp.files() == std::vector<std::string>{"bad.toml"});
  CHECK(smpsim({"run", tmp.file("missing.toml")}).status == 2);
  CHECK(smpsim({"run", apptest::scenario_path("default"), "--bug", "B404"}).status == 2);
  CHECK(smpsim({"run", apptest::scenario_path("default"), "--log", "sched"}).status == 2);
  CHECK(smpsim({"run", apptest::scenario_path("default"), "--seed", "soon"}).status == 2);
  CHECK(smpsim({"run", apptest::scenario_path("default"), "--trace-format", "chrome"}).status == 2);
  CHECK(tmp.files() == std::vector<std::string>{"bad.toml"});
}

TEST_CASE("cli: check validates scenario files") {
  CHECK(smpsim({"check", apptest::scenario_path("default"), apptest::scenario_path("lockup_hard")}).status == 0);
  apptest::TempDir tmp;
  apptest::write_file(tmp.file("bad.toml"), "[run]\nstrategy = \"lucky\"\n");
  const auto r = smpsim({"check", tmp.file("bad.toml")});
  CHECK(r.status == 2);
  CHECK(contains(r.err, "bad.toml:2:12: run.strategy: expected one of \"fifo\", \"random\", \"pct\""));
}

TEST_CASE("cli: check checks every file it is given, reports each (ok or its error) and exits 2 if any was bad") {
  apptest::TempDir tmp;
  apptest::write_file(tmp.file("bad.toml"), "[run]\nstrategy = \"lucky\"\n");
  const std::string good = apptest::scenario_path("default");
  const auto r = smpsim({"check", good, tmp.file("nonexist.toml"), tmp.file("bad.toml"), apptest::scenario_path("lockup_hard")});
  CHECK(r.status == 2);
  CHECK(contains(r.out, good + ": ok (4 CPUs, 5 actions)"));
  CHECK(contains(r.out, apptest::scenario_path("lockup_hard") + ": ok"));
  CHECK(contains(r.err, tmp.file("nonexist.toml")));
  CHECK(contains(r.err, tmp.file("bad.toml") + ":2:12: run.strategy"));
}

TEST_CASE("cli: an unknown subcommand is a usage error naming it and the subcommands there are") {
  const auto r = smpsim({"bogus"});
  CHECK(r.status == 2);
  CHECK(r.err == "smpsim: error: unknown subcommand 'bogus' of smpsim; expected one of: run, replay, trace, list, check, "
                 "fuzz, explore, shrink\n");
  const auto t = smpsim({"trace", "shwo", "x.log"});
  CHECK(t.status == 2);
  CHECK(t.err == "smpsim: error: unknown subcommand 'shwo' of smpsim trace; expected one of: show, diff\n");
}

TEST_CASE("cli: every error is one line 'smpsim: error: <where>: <what>' that says error once") {
  apptest::TempDir tmp;
  apptest::write_file(tmp.file("trunc.json"), "{\"format\": \"smpsim-re");
  apptest::write_file(tmp.file("bad.toml"), "[machine]\ncpus = \"four\"\n");
  apptest::write_file(tmp.file("garbage.log"), "hello\n");
  const std::vector<std::vector<std::string>> bad = {
      {"replay", tmp.file("trunc.json")},
      {"shrink", tmp.file("trunc.json"), "-o", tmp.file("o.json")},
      {"run", tmp.file("bad.toml")},
      {"check", tmp.file("bad.toml")},
      {"fuzz", apptest::scenario_path("default"), "--runs", "1", "--jobs", "0"},
      {"run", apptest::scenario_path("default"), "--seed", "soon"},
      {"run", apptest::scenario_path("default"), "--strategy", "clever"},
      {"trace", "show", tmp.file("garbage.log")},
      {"trace", "show", tmp.file("missing.log")},
      {"list", "everything"},
  };
  for (const auto& args : bad) {
    CAPTURE(args);
    const auto r = smpsim(args);
    CHECK(r.status == 2);
    CHECK(r.err.rfind("smpsim: error: ", 0) == 0);
    CHECK(r.err.find("error:", 9) == std::string::npos);  // said once, in the prefix
    CHECK(r.err.find('\n') == r.err.size() - 1);            // one line
  }
  CHECK(contains(smpsim({"replay", tmp.file("trunc.json")}).err, "smpsim: error: " + tmp.file("trunc.json") + ": not a repro artifact"));
  CHECK(contains(smpsim({"run", tmp.file("bad.toml")}).err, "smpsim: error: " + tmp.file("bad.toml") + ":2:8: machine.cpus:"));
  CHECK(contains(smpsim({"trace", "show", tmp.file("garbage.log")}).err,
                 "smpsim: error: " + tmp.file("garbage.log") + ":1: not a trace line"));
}

TEST_CASE("cli: --log with an unknown subsystem is a usage error listing the subsystems") {
  const auto r = smpsim({"run", apptest::scenario_path("default"), "--log", "nosuch=debug"});
  CHECK(r.status == 2);
  CHECK(contains(r.err, "--log: unknown trace subsystem 'nosuch'; expected * or one of: cpu, cpuhp, irq,"));
  CHECK(contains(r.err, "stop_machine"));
  CHECK(smpsim({"run", apptest::scenario_path("default"), "--log", "*=debug", "--log", "stop_machine=warn"}).status == 0);
  CHECK(contains(smpsim({"list", "events"}).out, "cpuhp.done"));
}

TEST_CASE("cli: the help gives the exit statuses of each command, and names every command that writes artifacts") {
  const std::string top = smpsim({"--help"}).out;
  CHECK(contains(top, "Exit status: 2 bad input or usage (every command); otherwise"));
  CHECK(contains(top, "run            0 the run met the scenario's expectations, 1 it did not (a repro artifact is written)"));
  CHECK(contains(top, "replay         0 the artifact reproduced (signature and trace hash), 3 it did not"));
  CHECK(contains(top, "fuzz, explore  0 no run failed, 1 some run failed"));
  CHECK(contains(top, "trace diff     0 the traces hold the same events, 1 they differ"));
  CHECK(contains(top, "shrink         0 the shrunk artifact is written, 3 the input does not replay exactly"));
  CHECK_FALSE(contains(top, "1 a failure was found"));
  CHECK(contains(smpsim({"replay", "--help"}).out, "written by smpsim run, fuzz, explore or shrink"));
  CHECK(contains(smpsim({"trace", "diff", "--help"}).out, "exit 0 if they hold the same events, 1 if they differ, 2 on trouble"));
  CHECK(contains(smpsim({"check", "--help"}).out, "exit 2 if any is bad"));
}

TEST_CASE("cli: run prints each per-CPU duration column in microseconds to the nanosecond, and counts in the singular when one") {
  apptest::TempDir tmp;
  apptest::write_file(tmp.file("one.toml"), "[machine]\ncpus = 1\n[[action]]\ndo = \"synchronize_rcu\"\n");
  const auto r = smpsim({"run", tmp.file("one.toml")});
  CHECK(r.status == 0);
  CHECK(contains(r.out, "): 1 CPU, 1 action\n"));
  CHECK(contains(r.out, "a1 synchronize_rcu: 1 call, ret 0"));
  const auto d = smpsim({"run", apptest::scenario_path("default")});
  const std::string header = "cpu          steps  switches      irqs       spin us     halted us";
  CHECK(contains(d.out, header + "\n"));
  std::istringstream lines(d.out);
  int rows = 0;
  for (std::string l; std::getline(lines, l);) {
    if (l.rfind("  cpu", 0) != 0) continue;
    ++rows;
    std::istringstream cols(l);
    std::string cpu, steps, switches, irqs, spin, halted;
    cols >> cpu >> steps >> switches >> irqs >> spin >> halted;
    for (const std::string& us : {spin, halted}) {
      CAPTURE(l);
      CHECK(us.size() > 4);
      CHECK(us[us.size() - 4] == '.');
      CHECK(us.find_first_not_of("0123456789.") == std::string::npos);
    }
    CHECK(l.size() == header.size());
  }
  CHECK(rows == 4);
}

TEST_CASE("artifact: holds the format version, smpsim version, scenario text, parameters, choices, signature, hash") {
  apptest::TempDir tmp;
  const std::string art = tmp.file("a.json");
  smpsim({"run", apptest::scenario_path("stop_fn_sleeps"), "--artifact", art});
  const auto j = nlohmann::json::parse(apptest::read_file(art));
  CHECK(j["format"] == "smpsim-repro");
  CHECK(j["format_version"] == app::kArtifactFormatVersion);
  CHECK(j["smpsim_version"] == app::smpsim_version());
  CHECK(j["scenario"]["text"] == apptest::read_file(apptest::scenario_path("stop_fn_sleeps")));
  CHECK(j["seed"] == 1);
  CHECK(j["strategy"] == "fifo");
  CHECK(j["granularity"] == "locks");
  CHECK(j["bugs"].is_array());
  CHECK(contains(j["choices"].get<std::string>(), "smpsim-choices 1"));
  CHECK(j["signature"]["kind"] == "I-SM-16");
  CHECK(j["signature"]["cpu"] == 1);
  CHECK(j["signature"]["task"] == "migration/1");
  CHECK(j["trace_hash"].get<std::string>().size() == 16);
}

TEST_CASE("replay: works from the artifact alone, after the scenario file is gone") {
  apptest::TempDir tmp;
  apptest::write_file(tmp.file("s.toml"), apptest::read_file(apptest::scenario_path("default")));
  const std::string art = tmp.file("a.json");
  CHECK(smpsim({"run", tmp.file("s.toml"), "--bug", "B18", "--artifact", art}).status == 1);
  std::filesystem::remove(tmp.file("s.toml"));
  const auto r = smpsim({"replay", art, "--trace", tmp.file("replay.log")});
  CHECK(r.status == 0);
  CHECK(contains(r.out, "reproduced"));
  CHECK(contains(apptest::read_file(tmp.file("replay.log")), "sim.failure kind=I-SM-6"));
}

TEST_CASE("replay: a tampered choice log does not reproduce: status 3 naming the first divergent step") {
  apptest::TempDir tmp;
  const std::string art = tmp.file("a.json");
  CHECK(smpsim({"run", apptest::scenario_path("default"), "--bug", "B18", "--artifact", art}).status == 1);
  auto j = nlohmann::json::parse(apptest::read_file(art));
  j["choices"] = "smpsim-choices 1\np1/2 p0/3\n";
  apptest::write_file(tmp.file("bad.json"), j.dump());
  const auto r = smpsim({"replay", tmp.file("bad.json")});
  CHECK(r.status == 3);
  CHECK(contains(r.out, "DID NOT REPRODUCE"));
  CHECK(contains(r.out, "first divergent step: choice #"));
}

TEST_CASE("replay: an artifact of another format version, or not an artifact at all, is refused clearly (status 2)") {
  apptest::TempDir tmp;
  const std::string art = tmp.file("a.json");
  CHECK(smpsim({"run", apptest::scenario_path("stop_fn_sleeps"), "--artifact", art}).status == 0);
  auto j = nlohmann::json::parse(apptest::read_file(art));
  j["format_version"] = 99;
  j["smpsim_version"] = "9.9.9";
  apptest::write_file(tmp.file("v99.json"), j.dump());
  const auto r = smpsim({"replay", tmp.file("v99.json")});
  CHECK(r.status == 2);
  CHECK(contains(r.err, "repro artifact format version 99 (written by smpsim 9.9.9)"));
  CHECK(contains(r.err, "reads format version 1"));
  apptest::write_file(tmp.file("junk.json"), "{\"hello\": 1}");
  CHECK(contains(smpsim({"replay", tmp.file("junk.json")}).err, "not a smpsim repro artifact"));
  apptest::write_file(tmp.file("broken.json"), "{\"format\": ");
  CHECK(smpsim({"replay", tmp.file("broken.json")}).status == 2);
}

TEST_CASE("trace show: filters a trace by CPU, time window and event name (text and jsonl)") {
  apptest::TempDir tmp;
  for (const std::string fmt_name : {"text", "jsonl"}) {
    CAPTURE(fmt_name);
    const std::string t = tmp.file("t." + fmt_name);
    CHECK(smpsim({"run", apptest::scenario_path("default"), "--trace", t, "--trace-format", fmt_name}).status == 0);
    const auto all = smpsim({"trace", "show", t});
    CHECK(all.status == 0);
    CHECK(all.out == apptest::read_file(t));
    const auto cpu3 = smpsim({"trace", "show", t, "--cpu", "3", "--event", "msm.*"});
    CHECK(cpu3.status == 0);
    CHECK_FALSE(cpu3.out.empty());
    std::istringstream lines(cpu3.out);
    for (std::string l; std::getline(lines, l);) {
      app::TraceLine tl;
      REQUIRE(app::parse_trace_line(l, tl));
      CHECK(tl.cpu == 3);
      CHECK(tl.event.rfind("msm.", 0) == 0);
    }
    const auto window = smpsim({"trace", "show", t, "--from", "0.008", "--to", "8100us", "--event", "cpuhp.op"});
    const bool text = fmt_name == "text";
    CHECK(contains(window.out, text ? "op=down cpu=3" : R"("op":"down","cpu_":"3")"));
    CHECK(contains(window.out, text ? "op=up cpu=3" : R"("op":"up","cpu_":"3")"));
  }
  CHECK(smpsim({"trace", "show", tmp.file("nope.log")}).status == 2);
  CHECK(smpsim({"trace", "show", tmp.file("t.text"), "--from", "yesterday"}).status == 2);
}

TEST_CASE("trace diff: identical traces exit 0, the first divergence is shown with context on each side (status 1)") {
  apptest::TempDir tmp;
  smpsim({"run", apptest::scenario_path("default"), "--trace", tmp.file("a.log")});
  smpsim({"run", apptest::scenario_path("default"), "--trace", tmp.file("b.log")});
  smpsim({"run", apptest::scenario_path("default"), "--seed", "2", "--trace", tmp.file("c.log")});
  const auto same = smpsim({"trace", "diff", tmp.file("a.log"), tmp.file("b.log")});
  CHECK(same.status == 0);
  CHECK(contains(same.out, "traces are identical"));
  const auto d = smpsim({"trace", "diff", tmp.file("a.log"), tmp.file("c.log")});
  CHECK(d.status == 1);
  CHECK(contains(d.out, "first divergence at line "));
  CHECK(contains(d.out, "--- " + tmp.file("a.log")));
  CHECK(contains(d.out, "+++ " + tmp.file("c.log")));
}

TEST_CASE("trace diff: the text and the jsonl trace of one run hold the same events (status 0), and a changed field is a divergence") {
  apptest::TempDir tmp;
  smpsim({"run", apptest::scenario_path("default"), "--trace", tmp.file("d.log")});
  smpsim({"run", apptest::scenario_path("default"), "--trace", tmp.file("d.jsonl"), "--trace-format", "jsonl"});
  const auto same = smpsim({"trace", "diff", tmp.file("d.log"), tmp.file("d.jsonl")});
  CHECK_MESSAGE(same.status == 0, same.out);
  CHECK(contains(same.out, "traces are identical"));
  CHECK(smpsim({"trace", "diff", tmp.file("d.jsonl"), tmp.file("d.log")}).status == 0);
  std::string text = apptest::read_file(tmp.file("d.log"));
  const auto at = text.find("state=DISABLE_IRQ");
  REQUIRE(at != std::string::npos);
  text.replace(at, 17, "state=RUN");
  apptest::write_file(tmp.file("e.log"), text);
  const auto d = smpsim({"trace", "diff", tmp.file("d.jsonl"), tmp.file("e.log")});
  CHECK(d.status == 1);
  CHECK(contains(d.out, "first divergence at line "));
}

TEST_CASE("trace diff: a file that trace show refuses (garbage, Chrome JSON, missing) is trouble: status 2 naming the file and line") {
  apptest::TempDir tmp;
  smpsim({"run", apptest::scenario_path("default"), "--trace", tmp.file("d.log")});
  smpsim({"run", apptest::scenario_path("default"), "--trace", tmp.file("d.json"), "--trace-format", "chrome"});
  apptest::write_file(tmp.file("garbage.txt"), "[    0.000000] cpu0 swapper/0 sched.switch cpu=0\nnot a trace\n");
  for (const std::string other : {"d.json", "garbage.txt", "missing.log"}) {
    CAPTURE(other);
    const auto r = smpsim({"trace", "diff", tmp.file("d.log"), tmp.file(other)});
    CHECK(r.status == 2);
    CHECK(r.out.empty());
    CHECK(contains(r.err, "smpsim: error: " + tmp.file(other)));
  }
  CHECK(contains(smpsim({"trace", "diff", tmp.file("garbage.txt"), tmp.file("d.log")}).err, "garbage.txt:2: not a trace line"));
  CHECK(contains(smpsim({"trace", "diff", tmp.file("d.json"), tmp.file("d.log")}).err, "d.json:1: not a trace line"));
}

TEST_CASE("chrome trace: valid Trace Event JSON with a process, CPU tracks, task slices, irq/preempt windows, "
          "msm states, hotplug states and failures") {
  apptest::TempDir tmp;
  const std::string t = tmp.file("t.json");
  CHECK(smpsim({"run", apptest::scenario_path("default"), "--bug", "B18", "--trace", t, "--trace-format", "chrome",
                "--artifact", tmp.file("a.json")})
            .status == 1);
  const auto j = nlohmann::json::parse(apptest::read_file(t));
  REQUIRE(j.is_object());
  REQUIRE(j["traceEvents"].is_array());
  std::set<std::string> names, thread_names, phases;
  bool process = false, failure = false;
  for (const auto& e : j["traceEvents"]) {
    REQUIRE(e.contains("ph"));
    REQUIRE(e.contains("pid"));
    REQUIRE(e.contains("tid"));
    REQUIRE(e.contains("ts"));
    REQUIRE(e.contains("name"));
    CHECK(e["pid"] == 1);
    CHECK(e["ts"].is_number());
    CHECK(e["ts"].get<double>() >= 0);
    const std::string ph = e["ph"];
    phases.insert(ph);
    CHECK(std::string("XiMC").find(ph) != std::string::npos);
    if (ph == "X") {
      REQUIRE(e.contains("dur"));
      CHECK(e["dur"].get<double>() >= 0);
    }
    if (ph == "C") CHECK(e["args"]["state"].is_number());
    if (ph == "M" && e["name"] == "process_name") process = true;
    if (ph == "M" && e["name"] == "thread_name") thread_names.insert(e["args"]["name"].get<std::string>());
    if (ph == "i" && e["name"] == "FAILURE I-SM-6") failure = true;
    names.insert(e["name"].get<std::string>());
  }
  CHECK(process);
  CHECK(failure);
  CHECK(phases == std::set<std::string>{"X", "i", "M", "C"});
  for (const char* tn : {"cpu0", "cpu3", "cpu0 irqs off", "cpu1 preempt off", "cpu2 stopper", "cpu3 hotplug", "RCU"})
    CHECK_MESSAGE(thread_names.count(tn) == 1, tn);
  for (const char* n : {"init", "migration/1", "irqs off", "preempt off", "msm PREPARE", "msm RUN", "stop: multi_cpu_stop",
                        "cpu_down", "cpu_up", "cpu3 hotplug state", "offline"})
    CHECK_MESSAGE(names.count(n) == 1, n);
}
