// app::trace_events() is the list scenario triggers and --log are checked against; it must hold
// exactly the events the model emits. Two views keep it from going stale: the trace calls in the
// sources (every event name there is listed, every listed name is there), and real runs of every
// bundled scenario at every level (each event is listed under the subsystem and level it has).
#include "app_fixture.hpp"

#include "app/trace_events.hpp"

#include <set>
#include <streambuf>
#include <tuple>

namespace {

/// The event-name literals of the trace calls in one source file: the names passed to
/// `.event(` / `->event(` and to the subsystems' trace_xx( helpers, and "<subsys>.warn" for each
/// Kernel::warn("<subsys>", ...) call.
std::set<std::string> event_names_in(const std::string& src) {
  const auto is_event_name = [](const std::string& s) {
    if (s.find('.') == std::string::npos || s.front() == '.' || s.back() == '.') return false;
    return s.find_first_not_of("abcdefghijklmnopqrstuvwxyz_.") == std::string::npos;
  };
  std::set<std::string> out;
  for (const std::string opener : {".event(", ">event(", " trace_hp(", " trace_rcu(", " trace_sm(", " trace_sb(",
                                   " trace_scn(", ".warn("}) {
    for (std::size_t at = src.find(opener); at != std::string::npos; at = src.find(opener, at + 1)) {
      const std::size_t end = src.find(';', at);
      const std::string call = src.substr(at, end - at);
      std::vector<std::string> literals;
      for (std::size_t q = call.find('"'); q != std::string::npos; q = call.find('"', q + 1)) {
        const std::size_t close = call.find('"', q + 1);
        if (close == std::string::npos) break;
        literals.push_back(call.substr(q + 1, close - q - 1));
        q = close;
      }
      if (opener == ".warn(") {
        if (!literals.empty()) out.insert(literals.front() + ".warn");
        continue;
      }
      for (const auto& l : literals)
        if (is_event_name(l)) out.insert(l);
    }
  }
  return out;
}

/// Collects (subsystem, level, event) of each JSON Lines trace line written to it, holding one
/// line at a time (a run at trace level writes megabytes).
class EventCollector : public std::streambuf {
 public:
  std::set<std::tuple<std::string, std::string, std::string>> seen;

 protected:
  int_type overflow(int_type c) override {
    if (c == traits_type::eof()) return c;
    if (c != '\n') {
      line_ += static_cast<char>(c);
      return c;
    }
    // An event whose payload is not "name k=v..." is written as event "text" with the payload as
    // msg (sim.failure with a quote in its message): its name is the payload's first word.
    std::string event = field("event");
    if (event == "text") event = field("msg").substr(0, field("msg").find(' '));
    seen.emplace(field("subsys"), field("level"), event);
    line_.clear();
    return c;
  }

 private:
  std::string field(const std::string& key) const {
    const std::string tag = "\"" + key + "\":\"";
    const std::size_t at = line_.find(tag);
    if (at == std::string::npos) return "?";
    const std::size_t from = at + tag.size();
    return line_.substr(from, line_.find('"', from) - from);
  }
  std::string line_;
};

std::vector<std::filesystem::path> every_bundled_scenario() {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(apptest::source_dir() / "scenarios"))
    if (e.path().extension() == ".toml") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("trace events: the list holds exactly the event names of the trace calls in model/, sim/ and the runner") {
  std::set<std::string> in_sources;
  std::vector<std::filesystem::path> files = {apptest::source_dir() / "app" / "runner.cpp"};
  for (const char* dir : {"model", "sim"})
    for (const auto& e : std::filesystem::directory_iterator(apptest::source_dir() / dir))
      if (e.path().extension() == ".cpp") files.push_back(e.path());
  for (const auto& f : files) in_sources.merge(event_names_in(apptest::read_file(f)));
  std::set<std::string> listed;
  for (const auto& e : app::trace_events()) listed.insert(e.name);
  for (const auto& n : in_sources) CHECK_MESSAGE(listed.count(n) == 1, n << " is emitted but not in app::trace_events()");
  for (const auto& n : listed) CHECK_MESSAGE(in_sources.count(n) == 1, n << " is in app::trace_events() but never emitted");
  CHECK(in_sources.size() > 50);
}

TEST_CASE("trace events: every event of every bundled scenario, at every level, is listed under its subsystem and level") {
  std::set<std::tuple<std::string, std::string, std::string>> listed;
  for (const auto& e : app::trace_events()) listed.emplace(e.subsys, sim::to_string(e.level), e.name);
  EventCollector events;
  std::ostream sink(&events);
  for (const auto& path : every_bundled_scenario()) {
    const app::Scenario sc = app::load_scenario(path.string());
    app::RunOptions o;
    o.jsonl_trace = &sink;
    o.log_levels = {{"*", sim::Level::Trace}};
    app::run_scenario(sc, o);
  }
  for (const auto& [subsys, level, name] : events.seen)
    CHECK_MESSAGE(listed.count({subsys, level, name}) == 1,
                  name << " (subsystem " << subsys << ", level " << level << ") is not in app::trace_events()");
  CHECK(events.seen.size() > 40);
}

TEST_CASE("trace events: the subsystems are those of the list, sorted, each once") {
  const auto& subs = app::trace_subsystems();
  CHECK(std::is_sorted(subs.begin(), subs.end()));
  CHECK(std::adjacent_find(subs.begin(), subs.end()) == subs.end());
  CHECK(std::find(subs.begin(), subs.end(), "stop_machine") != subs.end());
  CHECK(std::is_sorted(app::trace_events().begin(), app::trace_events().end(), [](const auto& a, const auto& b) {
    return std::pair(std::string_view(a.subsys), std::string_view(a.name)) <
           std::pair(std::string_view(b.subsys), std::string_view(b.name));
  }));
}
