// app/fuzz.cpp — campaigns, exploration and shrinking on top of app::run_scenario.
#include "app/fuzz.hpp"

#include "app/interrupt.hpp"
#include "app/output.hpp"
#include "app/trace_tools.hpp"
#include "app/words.hpp"
#include "model/bugs.hpp"
#include "model/coverage.hpp"
#include "model/cpu.hpp"
#include "sim/rng.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

namespace app {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;  // SIM-OK: wall time for progress and budgets only

const char* to_string(FuzzStrategy s) {
  switch (s) {
    case FuzzStrategy::Random: return "random";
    case FuzzStrategy::Pct: return "pct";
    case FuzzStrategy::Swarm: return "swarm";
    case FuzzStrategy::Monkey: return "monkey";
    case FuzzStrategy::Portfolio: return "portfolio";
  }
  return "?";
}

std::optional<FuzzStrategy> fuzz_strategy_from_string(const std::string& s) {
  for (auto k : {FuzzStrategy::Random, FuzzStrategy::Pct, FuzzStrategy::Swarm, FuzzStrategy::Monkey,
                 FuzzStrategy::Portfolio})
    if (s == to_string(k)) return k;
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Text-level scenario edits: the artifact embeds the scenario text, so every variant a strategy
// or the shrinker runs must exist as text.

static std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream ss(text);
  std::string l;
  while (std::getline(ss, l)) lines.push_back(l);
  return lines;
}

static std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

static std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// The name a `[table]` header line opens ("" for any other line, `[[array]]` headers included).
// TOML allows blanks inside the brackets and a comment after them.
static std::string table_header_name(const std::string& raw) {
  std::string t = trim(raw);
  if (t.size() < 2 || t[0] != '[' || t[1] == '[') return "";
  const auto close = t.find(']');
  if (close == std::string::npos) return "";
  const std::string rest = trim(t.substr(close + 1));
  if (!rest.empty() && rest[0] != '#') return "";
  return trim(t.substr(1, close - 1));
}

// The line that sets `key` in the table or array element whose header is lines[header], if any.
static std::optional<std::size_t> find_key(const std::vector<std::string>& lines, std::size_t header,
                                           const std::string& key) {
  for (std::size_t j = header + 1; j < lines.size(); ++j) {
    const std::string t = trim(lines[j]);
    if (!t.empty() && t[0] == '[') break;
    const auto eq = t.find('=');
    if (eq != std::string::npos && trim(t.substr(0, eq)) == key) return j;
  }
  return std::nullopt;
}

std::string scenario_set_key(const std::string& text, const std::string& table, const std::string& key,
                             const std::string& value) {
  auto lines = split_lines(text);
  const std::string header = "[" + table + "]", line = fmt::format("{} = {}", key, value);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (table_header_name(lines[i]) != table) continue;
    if (const auto j = find_key(lines, i, key)) lines[*j] = line;
    else lines.insert(lines.begin() + static_cast<long>(i) + 1, line);  // the table lacks the key
    return join_lines(lines);
  }
  return join_lines(lines) + fmt::format("\n{}\n{}\n", header, line);
}

std::string scenario_remove_key(const std::string& text, const std::string& table, const std::string& key) {
  auto lines = split_lines(text);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (table_header_name(lines[i]) != table) continue;
    const auto j = find_key(lines, i, key);
    if (!j) return text;
    lines.erase(lines.begin() + static_cast<long>(*j));
    return join_lines(lines);
  }
  return text;
}

std::string scenario_set_action_key(const std::string& text, int header_line, const std::string& key,
                                    const std::optional<std::string>& value) {
  auto lines = split_lines(text);
  const std::size_t header = static_cast<std::size_t>(header_line - 1);
  if (header_line < 1 || header >= lines.size()) return text;
  const auto j = find_key(lines, header, key);
  if (!value) {
    if (j) lines.erase(lines.begin() + static_cast<long>(*j));
  } else if (j) {
    lines[*j] = fmt::format("{} = {}", key, *value);
  } else {
    lines.insert(lines.begin() + static_cast<long>(header) + 1, fmt::format("{} = {}", key, *value));
  }
  return join_lines(lines);
}

std::string scenario_set_cpus(const std::string& text, unsigned cpus) {
  return scenario_set_key(text, "machine", "cpus", std::to_string(cpus));
}

std::string scenario_remove_action(const std::string& text, int header_line) {
  auto lines = split_lines(text);
  const std::size_t start = static_cast<std::size_t>(header_line - 1);
  if (start >= lines.size()) return text;
  std::size_t end = start + 1;
  while (end < lines.size() && (trim(lines[end]).empty() || trim(lines[end])[0] != '[')) ++end;
  lines.erase(lines.begin() + static_cast<long>(start), lines.begin() + static_cast<long>(end));
  return join_lines(lines);
}

std::string scenario_append(const std::string& text, const std::string& block) {
  std::string out = text;
  if (!out.empty() && out.back() != '\n') out += '\n';
  return out + "\n" + block;
}

// ---------------------------------------------------------------------------------------------
// One run of a campaign

namespace {

sim::ChoiceLog parse_log(const std::string& text);

struct Job {
  std::uint64_t seed = 0;
  std::string strategy;
  std::string config;
  /// A swarm or monkey run's own scenario; other runs use the campaign's without copying it
  /// (a copy is ~100 allocations).
  std::unique_ptr<Scenario> variant;
  RunOptions opts;
  void set_variant(Scenario v) { variant = std::make_unique<Scenario>(std::move(v)); }
  const Scenario& scenario(const Scenario& campaign) const { return variant ? *variant : campaign; }
};

struct Done {
  FuzzResult res;
  std::optional<Artifact> artifact;
};

std::string signature_of(const RunReport& rep) {
  if (rep.signature) return rep.signature->text();
  return {};
}

std::string artifact_name(const std::string& signature) {
  const std::string kind = signature.substr(0, signature.find(' '));
  std::string safe;
  for (char c : kind) safe += std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '_';
  return fmt::format("{}-{:08x}.json", safe, static_cast<std::uint32_t>(sim::fnv1a64(signature)));
}

/// Runs `work` on `threads` threads, this one among them. The first exception any of them throws
/// is rethrown here once all have stopped; `stop_others` is called when one is caught, so the
/// others stop taking work.
template <class Work, class StopOthers>
void run_on_threads(unsigned threads, const Work& work, const StopOthers& stop_others) {
  std::mutex mu;
  std::exception_ptr error;
  auto guarded = [&] {
    try {
      work();
    } catch (...) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (!error) error = std::current_exception();
      }
      stop_others();
    }
  };
  std::vector<std::thread> pool;
  for (unsigned j = 1; j < std::max(1u, threads); ++j) pool.emplace_back(guarded);
  guarded();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

/// A bucket's artifact is its run with the fewest steps, the lowest seed among equals: the same
/// run whatever order the runs end in (--jobs) and whichever invocation ran it (--resume).
bool better_than_best(const FuzzResult& r, const FuzzBucket& b) {
  return r.steps < b.best_steps || (r.steps == b.best_steps && r.seed < b.best_seed);
}

/// The seeds of a campaign, taken one at a time: those of [first, last] in this shard
/// (seed % count == index) that an earlier invocation did not run. Nothing is listed ahead, so a
/// campaign over 2^64 seeds (--time) costs no memory, and the last seed may be UINT64_MAX.
class SeedCursor {
 public:
  SeedCursor(std::uint64_t first, std::uint64_t last, unsigned index, unsigned count, const std::set<std::uint64_t>& done)
      : last_(last), count_(count), done_(done) {
    const std::uint64_t r = first % count, skip = (std::uint64_t{index} + count - r) % count;
    exhausted_ = first > last || last - first < skip;
    next_ = first + (exhausted_ ? 0 : skip);
  }
  std::optional<std::uint64_t> take() {
    while (!exhausted_) {
      const std::uint64_t s = next_;
      if (last_ - s < count_) exhausted_ = true;
      else next_ = s + count_;
      if (!done_.count(s)) return s;
    }
    return std::nullopt;
  }
  /// How many seeds of [first, last] fall in the shard (done or not).
  static std::uint64_t in_shard(std::uint64_t first, std::uint64_t last, unsigned index, unsigned count) {
    auto upto = [&](std::uint64_t x) -> std::uint64_t { return x < index ? 0 : (x - index) / count + 1; };  // [0, x]
    return upto(last) - (first == 0 ? 0 : upto(first - 1));
  }

 private:
  std::uint64_t next_ = 0, last_;
  std::uint64_t count_;
  bool exhausted_ = false;
  const std::set<std::uint64_t>& done_;
};

/// PCT's k: how many scheduling choices (picks among two or more ready CPUs) a PCT run of this
/// scenario makes. It comes from pilot runs that depend only on the scenario and the options,
/// never on which seeds this campaign, its other shards or an earlier invocation ran, so a seed
/// runs the same in any of them: one random run (seed 1) gives a first k, then kPctPilots PCT runs
/// (seeds 1, 2, ...) with it; k is the median of their counts, at least 10. An over-estimate
/// spreads the change points past the end of most runs (each lands in the run with probability
/// actual/k); an under-estimate never puts one in the tail of the longer runs. The median found
/// the depth-2 zoo knobs in fewer runs than the 90th percentile, the minimum or the random
/// pilot's count (docs/performance.md, session 10).
constexpr unsigned kPctPilots = 8;
std::uint64_t estimate_pct_k(const Scenario& sc, const FuzzOptions& o) {
  RunOptions pilot;
  pilot.seed = 1;
  pilot.strategy = sim::PolicyKind::Random;
  pilot.bugs = o.bugs;
  pilot.trace_hash = false;
  pilot.tail_lines = 0;
  pilot.record_choices = false;  // only the count of picks is wanted
  const std::uint64_t k0 = std::max<std::uint64_t>(run_scenario(sc, pilot).picks, 10);
  std::vector<std::uint64_t> counts;
  for (unsigned i = 1; i <= kPctPilots; ++i) {
    RunOptions r = pilot;
    r.seed = i;
    r.strategy = sim::PolicyKind::Pct;
    r.pct_depth = o.pct_depth;
    r.pct_steps = k0;
    counts.push_back(run_scenario(sc, r).picks);
  }
  std::sort(counts.begin(), counts.end());
  return std::max<std::uint64_t>(counts[(counts.size() - 1) / 2], 10);
}

/// Swarm: this run's own configuration, drawn from its seed and printed.
Job make_swarm_job(const Scenario& sc, std::uint64_t seed, Job job) {
  sim::Rng rng = sim::Rng(seed).fork("swarm");
  // Which actions this run keeps (each dropped with probability 1/4, never all of them);
  // removed bottom-up so the header lines of the remaining ones stay valid.
  std::vector<bool> drop(sc.actions.size(), false);
  for (std::size_t i = 0; i < sc.actions.size(); ++i) drop[i] = sc.actions.size() > 1 && rng.chance(sim::Ratio{1, 4});
  if (!drop.empty() && std::all_of(drop.begin(), drop.end(), [](bool d) { return d; })) drop[0] = false;
  std::string text = sc.text;
  Scenario variant = sc;  // the parse of `text`, kept so the last edit need not be parsed again
  unsigned max_cpu = 0;
  // A variant must stay a valid scenario: an action referenced by an expectation or a trigger
  // is kept (the removal is undone when the text no longer parses).
  auto parses = [&](const std::string& t) {
    try {
      variant = parse_scenario(t, sc.path);
      return true;
    } catch (const ScenarioError&) {
      return false;
    }
  };
  for (std::size_t i = sc.actions.size(); i-- > 0;) {
    const Action& a = sc.actions[i];
    if (drop[i]) {
      const std::string cand = scenario_remove_action(text, a.line);
      if (parses(cand)) {
        text = cand;
        continue;
      }
      drop[i] = false;
    }
    max_cpu = std::max(max_cpu, a.cpu);
    for (unsigned t : a.targets) max_cpu = std::max(max_cpu, t);
    if (a.cpus) for (unsigned t : *a.cpus) max_cpu = std::max(max_cpu, t);
  }
  const unsigned min_cpus = std::max(2u, max_cpu + 1);
  unsigned cpus = sc.cpus;
  if (sc.cpus > min_cpus && sc.present == 0 && sc.online_at_boot == 0)
    cpus = static_cast<unsigned>(rng.range(min_cpus, sc.cpus));
  if (cpus != sc.cpus) {
    const std::string cand = scenario_set_cpus(text, cpus);
    if (parses(cand)) text = cand;
    else cpus = sc.cpus;
  }
  const bool pct = rng.chance(sim::Ratio{1, 2});
  const bool shared = rng.chance(sim::Ratio{1, 3});
  job.opts.strategy = pct ? sim::PolicyKind::Pct : sim::PolicyKind::Random;
  job.opts.pct_depth = static_cast<std::uint32_t>(rng.range(2, 4));
  job.opts.granularity = shared ? sim::Granularity::Shared : sim::Granularity::Locks;
  // Fault ratios, each off in a third of the runs: host stalls of the CPU about to run, late
  // visibility of writes to spinners, and hotplug calls made to fail. They go into the variant's
  // text, so its artifact replays them.
  static constexpr sim::Ratio kStalls[] = {{0, 1}, {1, 2000}, {1, 200}};
  static constexpr const char* kDelays[] = {"0ns", "300ns", "3us"};
  static constexpr sim::Ratio kHotplugFaults[] = {{0, 1}, {1, 8}, {1, 3}};
  const sim::Ratio stalls = kStalls[rng.range(0, 2)];
  const char* delay = kDelays[rng.range(0, 2)];
  const sim::Ratio hotplug_faults = kHotplugFaults[rng.range(0, 2)];
  auto quoted = [](const std::string& v) { return fmt::format("\"{}\"", v); };
  std::string faulty = text;
  if (stalls.num != 0) faulty = scenario_set_key(faulty, "sim", "vcpu_stall_ratio", quoted(format_ratio(stalls)));
  if (std::string_view(delay) != "0ns") faulty = scenario_set_key(faulty, "sim", "propagation_delay", quoted(delay));
  if (hotplug_faults.num != 0)
    faulty = scenario_set_key(faulty, "kernel", "hotplug_fault_ratio", quoted(format_ratio(hotplug_faults)));
  const bool faults_kept = faulty == text || parses(faulty);
  if (faults_kept) text = faulty;
  // A [kernel] model option the scenario leaves off is turned on in half the runs.
  auto draw_kernel_option = [&](bool in_scenario, const char* key) {
    if (in_scenario || !rng.chance(sim::Ratio{1, 2})) return in_scenario;
    const std::string cand = scenario_set_key(text, "kernel", key, "true");
    if (!parses(cand)) return false;
    text = cand;
    return true;
  };
  // ksoftirqd/N: RCU callbacks then wait for the CPU's softirq thread (what B21 needs).
  const bool softirq = draw_kernel_option(sc.ksoftirqd, "ksoftirqd");
  // A CPU about to idle queues stopper work on a busy CPU from inside schedule() (what B3 needs).
  const bool balance = draw_kernel_option(sc.idle_balance, "idle_balance");
  std::size_t dropped = 0;
  for (bool d : drop) dropped += d ? 1 : 0;
  job.config = fmt::format("cpus={} actions={}/{} strategy={} depth={} granularity={}", cpus,
                           sc.actions.size() - dropped, sc.actions.size(), pct ? "pct" : "random", *job.opts.pct_depth,
                           shared ? "shared" : "locks");
  job.config += fmt::format(" ksoftirqd={} idle_balance={}", softirq ? "on" : "off", balance ? "on" : "off");
  if (faults_kept)
    job.config += fmt::format(" vcpu_stalls={} propagation_delay={} hotplug_faults={}", format_ratio(stalls), delay,
                              format_ratio(hotplug_faults));
  job.set_variant(std::move(variant));
  return job;
}

}  // namespace

/// Monkey decision points: the distinct times of the trace events of one reference run.
static std::vector<std::int64_t> monkey_points(const Scenario& sc, const FuzzOptions& o) {
  std::ostringstream trace;
  RunOptions opts;
  opts.seed = 1;  // fixed, like PCT's pilots: a fifo run still draws seeded faults, and the points
                  // must not depend on where the campaign's seed range starts
  opts.strategy = sim::PolicyKind::Fifo;
  opts.bugs = o.bugs;
  opts.text_trace = &trace;
  run_scenario(sc, opts);
  std::set<std::int64_t> times;
  std::stringstream ss(trace.str());
  std::string line;
  TraceLine tl;
  while (std::getline(ss, line))
    if (parse_trace_line(line, tl)) times.insert(tl.t_ns);
  std::vector<std::int64_t> all(times.begin(), times.end());
  std::vector<std::int64_t> pts;
  const std::size_t cap = 48;  // sampled evenly: cost stays linear in run length
  for (std::size_t i = 0; i < std::min(cap, all.size()); ++i) pts.push_back(all[i * all.size() / std::min(cap, all.size())]);
  return pts;
}

namespace {

/// What a monkey run injects at its point: the three faults, cpu_down in two forms.
enum class MonkeyFault { DownUp, DownStay, FailedUp, Stall };
constexpr MonkeyFault kMonkeyFaults[] = {MonkeyFault::DownUp, MonkeyFault::DownStay, MonkeyFault::FailedUp,
                                         MonkeyFault::Stall};

constexpr std::int64_t kMonkeyGapNs = 2'000'000;  // a downed CPU comes back, a stall lasts, this long

std::string monkey_action(const char* name, const char* kind, unsigned victim, const std::string& when,
                          const std::string& extra = "") {
  return fmt::format("\n[[action]]\nname = \"{}\"\ndo = \"{}\"\ncpu = 0\n{}\ntarget = {}\n{}", name, kind, when,
                     victim, extra);
}

}  // namespace

static Job make_monkey_job(const Scenario& sc, std::uint64_t seed, const std::vector<std::int64_t>& pts, Job job) {
  const unsigned cpus = sc.boot_cpus();
  if (pts.empty() || cpus < 2) return job;
  // One run per (point, cpu, fault): systematic, in seed order. The injector runs on CPU 0, so
  // the victims are the other CPUs.
  const std::uint64_t slot = seed - 1;
  const std::size_t p = slot % pts.size();
  const unsigned victim = 1 + static_cast<unsigned>((slot / pts.size()) % (cpus - 1));
  const MonkeyFault fault = kMonkeyFaults[(slot / pts.size() / (cpus - 1)) % std::size(kMonkeyFaults)];
  const std::int64_t t = pts[p];
  const std::string at = fmt::format("at = \"{}ns\"", t), later = fmt::format("at = \"{}ns\"", t + kMonkeyGapNs);
  std::string block;
  switch (fault) {
    case MonkeyFault::DownUp:
    case MonkeyFault::DownStay:
      block = monkey_action("monkey_down", "cpu_down", victim, at);
      if (fault == MonkeyFault::DownUp) block += monkey_action("monkey_up", "cpu_up", victim, later);
      job.config = fmt::format("monkey: cpu_down({}) at {}ns{}", victim, t,
                               fault == MonkeyFault::DownUp ? ", cpu_up 2ms later" : "");
      break;
    case MonkeyFault::FailedUp: {
      // The CPU goes down at the point and is brought up again as soon as that returns, with one
      // bring-up state told to fail (which one varies with the point); a clean cpu_up follows.
      const auto& states = failable_bringup_states();
      const int state = states[p % states.size()];
      const std::string name = model::cpuhp_state_name(state);
      block = monkey_action("monkey_down", "cpu_down", victim, at);
      block += monkey_action("monkey_failed_up", "cpu_up", victim, "on = \"scn.ret name=monkey_down\"",
                             fmt::format("fail_state = \"{}\"\n", name));
      block += monkey_action("monkey_up", "cpu_up", victim, later);
      job.config = fmt::format("monkey: cpu_down({0}) at {1}ns, cpu_up({0}) failing at {2}, cpu_up 2ms later", victim, t,
                               name);
      break;
    }
    case MonkeyFault::Stall:
      block = monkey_action("monkey_stall", "vcpu_stall", victim, at, "duration = \"2ms\"\n");
      job.config = fmt::format("monkey: vcpu_stall({}) at {}ns for 2ms", victim, t);
      break;
  }
  job.set_variant(parse_scenario(scenario_append(sc.text, block), sc.path));
  job.opts.strategy = sim::PolicyKind::Random;
  return job;
}

namespace {

/// What makes two invocations one campaign: a seed runs the same in both only if these match.
nlohmann::json campaign_identity(const Scenario& sc, const FuzzOptions& o) {
  std::vector<std::string> bugs = o.bugs;
  std::sort(bugs.begin(), bugs.end());
  return {{"scenario", sc.path},
          {"scenario_text_fnv1a64", fmt::format("{:016x}", sim::fnv1a64(sc.text))},
          {"strategy", to_string(o.strategy)},
          {"pct_depth", o.pct_depth ? nlohmann::json(*o.pct_depth) : nlohmann::json("scenario")},
          {"bugs", bugs}};
}

/// DIR/campaign.json names the campaign whose runs DIR/results.jsonl holds: a new campaign does
/// not append to another's results, and --resume continues only the same campaign (any seed
/// range, shard or job count).
/// Returns true when DIR holds runs of this campaign, which --resume continues.
bool claim_out_dir(const Scenario& sc, const FuzzOptions& o, const std::string& results_path) {
  const std::string id_path = (fs::path(o.out_dir) / "campaign.json").string();
  const nlohmann::json id = campaign_identity(sc, o);
  std::error_code ec;
  const bool has_runs = fs::is_regular_file(results_path, ec) && fs::file_size(results_path, ec) > 0;
  if (has_runs && !o.resume)
    throw std::runtime_error(fmt::format(
        "{}: holds the runs of an earlier campaign; add --resume to continue it, or give another --out", results_path));
  if (has_runs) {
    nlohmann::json old;
    try {
      old = nlohmann::json::parse(read_text_file(id_path).value_or(""));
    } catch (const std::exception&) {
      throw std::runtime_error(fmt::format("{}: missing or unreadable, so the runs in {} cannot be told to belong to "
                                           "this campaign; give another --out",
                                           id_path, results_path));
    }
    for (const char* key : {"scenario_text_fnv1a64", "strategy", "pct_depth", "bugs"}) {
      const nlohmann::json was = old.value(key, nlohmann::json());
      if (was != id[key])
        throw std::runtime_error(fmt::format("{}: --resume continues the same campaign only, and its {} was {}, not {}; "
                                             "give another --out",
                                             id_path, key, was.dump(), id[key].dump()));
    }
    return true;
  }
  write_file_atomically(id_path, id.dump(2) + "\n");
  return false;
}

/// DIR/probes.json: the probe hits of the campaign's earlier invocations, so a resumed
/// campaign's coverage includes them (written at the end of each invocation).
std::map<std::string, std::uint64_t> read_probe_counts(const std::string& path) {
  std::map<std::string, std::uint64_t> probes;
  std::error_code ec;
  if (!fs::exists(path, ec)) return probes;
  try {
    const nlohmann::json j = nlohmann::json::parse(read_text_file(path).value_or(""));  // outlives the loop over it
    for (const auto& [name, n] : j.at("reached").items()) probes[name] = n.get<std::uint64_t>();
  } catch (const std::exception&) {
    throw std::runtime_error(fmt::format("{}: not a probe count file (remove it to resume without the earlier coverage)", path));
  }
  return probes;
}

/// How many probes a campaign can report on: the model's declared ones and any other a run hit
/// (a state a scenario registers, say), so "reached" and "never reached" add up to it.
std::size_t probe_universe(const std::vector<std::string>& declared, const std::map<std::string, std::uint64_t>& reached) {
  std::size_t n = declared.size();
  for (const auto& [p, hits] : reached) n += std::binary_search(declared.begin(), declared.end(), p) ? 0 : 1;
  return n;
}

std::string coverage_json(const std::map<std::string, std::uint64_t>& reached, const std::vector<std::string>& never) {
  nlohmann::json cov = {{"reached", nlohmann::json::object()}, {"never_reached", never}};
  for (const auto& [p, n] : reached) cov["reached"][p] = n;
  return cov.dump(2) + "\n";
}

}  // namespace

FuzzSummary run_campaign(const Scenario& sc, const FuzzOptions& o, std::ostream& progress) {
  FuzzSummary sum;
  fs::create_directories(fs::path(o.out_dir) / "artifacts");
  const std::string results_path = (fs::path(o.out_dir) / "results.jsonl").string();
  const std::string probes_path = (fs::path(o.out_dir) / "probes.json").string();
  const bool continuing = claim_out_dir(sc, o, results_path);
  std::set<std::uint64_t> done_seeds;
  std::vector<FuzzResult> results;
  std::map<std::string, std::uint64_t> probes;
  if (o.resume) {
    std::ifstream in(results_path);
    std::string line;
    while (std::getline(in, line)) {
      try {
        const auto j = nlohmann::json::parse(line);
        FuzzResult r{j.at("seed"), j.at("strategy"), j.value("config", ""), j.at("failed"), j.value("signature", ""),
                     j.at("steps"), j.value("wall_s", 0.0), j.value("picks", std::uint64_t{0})};
        if (done_seeds.insert(r.seed).second) results.push_back(r);
      } catch (const std::exception&) {
        // a line torn by a kill: that seed simply runs again
      }
    }
    if (continuing) probes = read_probe_counts(probes_path);  // another campaign's are not ours
  }
  sum.resumed = results.size();
  SeedCursor cursor(o.seed_first, o.seed_last, o.shard_index, o.shard_count, done_seeds);
  std::optional<std::uint64_t> to_run;  // unknown for --time
  if (!o.time_budget_s) {
    std::uint64_t already = 0;
    for (std::uint64_t s : done_seeds)
      already += s >= o.seed_first && s <= o.seed_last && s % o.shard_count == o.shard_index ? 1 : 0;
    to_run = SeedCursor::in_shard(o.seed_first, o.seed_last, o.shard_index, o.shard_count) - already;
  }

  // PCT draws its change points among the run's scheduling choices, so it needs k, the number
  // of such choices a PCT run makes: estimated once, from pilot runs (estimate_pct_k).
  const bool uses_pct = o.strategy == FuzzStrategy::Pct || o.strategy == FuzzStrategy::Swarm ||
                        o.strategy == FuzzStrategy::Portfolio;
  const bool will_run = to_run.value_or(1) > 0;  // a resume with nothing left needs no pilots
  const std::uint64_t k = uses_pct && will_run ? estimate_pct_k(sc, o) : 0;
  const std::vector<std::int64_t> points =
      (o.strategy == FuzzStrategy::Monkey || o.strategy == FuzzStrategy::Portfolio) && will_run
          ? monkey_points(sc, o)
          : std::vector<std::int64_t>{};
  static constexpr FuzzStrategy portfolio[] = {FuzzStrategy::Random, FuzzStrategy::Pct, FuzzStrategy::Swarm,
                                               FuzzStrategy::Monkey};
  auto make_job = [&](std::uint64_t seed) {
    Job job;
    job.seed = seed;
    job.opts.seed = seed;
    job.opts.bugs = o.bugs;
    job.opts.pct_depth = o.pct_depth;
    FuzzStrategy st = o.strategy;
    if (st == FuzzStrategy::Portfolio) st = portfolio[seed % 4];
    job.strategy = to_string(st);
    switch (st) {
      case FuzzStrategy::Random: job.opts.strategy = sim::PolicyKind::Random; break;
      case FuzzStrategy::Pct: job.opts.strategy = sim::PolicyKind::Pct; break;
      case FuzzStrategy::Swarm: job = make_swarm_job(sc, seed, std::move(job)); break;
      case FuzzStrategy::Monkey: job = make_monkey_job(sc, seed, points, std::move(job)); break;
      case FuzzStrategy::Portfolio: break;
    }
    job.opts.pct_steps = k;
    return job;
  };

  std::mutex mu;
  std::string append_error;  // set (under mu) by the first failed results.jsonl append
  // A line torn by a kill is ended first, so the next run's line is not glued to it (the torn
  // one is skipped when the campaign is resumed, and its seed runs again).
  const bool torn = [&] {
    std::ifstream in(results_path, std::ios::binary | std::ios::ate);
    if (!in || in.tellg() <= 0) return false;
    in.seekg(-1, std::ios::end);
    return in.get() != '\n';
  }();
  std::ofstream results_out(results_path, std::ios::app);
  if (!results_out) throw std::runtime_error(fmt::format("{}: cannot write: {}", results_path, std::strerror(errno)));
  if (torn) results_out << "\n" << std::flush;
  std::map<std::string, FuzzBucket> buckets;
  for (const auto& r : results) {
    if (!r.failed) continue;
    auto& b = buckets[r.signature];
    if (b.count == 0 || r.seed < b.first_seed) b.first_seed = r.seed;
    ++b.count;
    b.signature = r.signature;
    b.artifact = (fs::path(o.out_dir) / "artifacts" / artifact_name(r.signature)).string();
    if (b.count == 1 || better_than_best(r, b)) {
      b.best_steps = r.steps;
      b.best_seed = r.seed;
    }
  }
  // An artifact lost from an earlier invocation (removed by hand, say) is written again by the
  // next run of its signature, whatever its length.
  for (auto& [sig, b] : buckets) {
    std::error_code ec;
    if (!fs::exists(b.artifact, ec)) b.best_steps = UINT64_MAX;
  }
  bool stop = false;         // under mu
  bool interrupted = false;  // under mu: a worker stopped on a signal with seeds left
  const auto t0 = Clock::now();
  auto last_print = t0;
  std::uint64_t finished = 0;
  const std::vector<std::string> model_probes = model::model_probe_names();

  auto save_probes = [&] { write_file_atomically(probes_path, coverage_json(probes, {})); };  // with mu held
  auto report_progress = [&](bool final) {
    const double el = std::chrono::duration<double>(Clock::now() - t0).count();
    const std::string done = to_run ? fmt::format("{}/{}", finished, *to_run) : fmt::format("{}", finished);
    const std::string line =
        fmt::format("fuzz: {} runs{}, {:.0f} runs/s, {}, coverage {}/{} probes", done,
                    sum.resumed ? fmt::format(" (+{} resumed)", sum.resumed) : "", el > 0 ? finished / el : 0.0,
                    plural(buckets.size(), "distinct failure"), probes.size(), probe_universe(model_probes, probes));
    if (o.progress_tty) progress << "\r" << line << (final ? "\n" : "") << std::flush;
    else progress << line << "\n" << std::flush;
  };

  // Workers share `probes` and the buckets under `mu`, with the results file: a run's probe hits
  // are a few dozen map updates, little next to the run itself.
  auto worker = [&] {
    for (;;) {
      std::uint64_t seed = 0;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (stop) return;
        if (o.time_budget_s && std::chrono::duration<double>(Clock::now() - t0).count() > *o.time_budget_s) return;
        const std::optional<std::uint64_t> next = cursor.take();
        if (!next) return;
        // Only a stop that leaves a seed unrun is an interruption (that seed is not recorded, so
        // --resume runs it); a signal after the last seed was taken changes nothing.
        if (interrupt_requested()) {
          interrupted = true;
          return;
        }
        seed = *next;
      }
      Job job = make_job(seed);
      const auto r0 = Clock::now();
      // The campaign run skips the trace hash, the tail and the choice log; a failing run is run
      // again in full for its artifact (the same run: none of them changes a scheduling choice).
      RunOptions quick = job.opts;
      quick.trace_hash = false;
      quick.tail_lines = 0;
      quick.record_choices = false;
      RunReport rep = run_scenario(job.scenario(sc), quick);
      Done d;
      d.res.seed = job.seed;
      d.res.strategy = job.strategy;
      d.res.config = job.config;
      d.res.failed = rep.failed;
      d.res.signature = d.res.failed ? signature_of(rep) : "";
      d.res.steps = rep.result.steps;
      if (job.opts.strategy == sim::PolicyKind::Pct && job.strategy == "pct") d.res.picks = rep.picks;
      d.res.wall_s = std::chrono::duration<double>(Clock::now() - r0).count();
      // Only a run that may become its signature's artifact is run again in full: a bucket's
      // best (steps, seed) only decreases, so a run that is not better now never will be.
      bool may_be_best = d.res.failed;
      if (may_be_best) {
        std::lock_guard<std::mutex> lock(mu);
        const auto it = buckets.find(d.res.signature);
        if (it != buckets.end() && it->second.count > 0) may_be_best = better_than_best(d.res, it->second);
      }
      if (may_be_best) {
        const RunReport full = run_scenario(job.scenario(sc), job.opts);
        if (signature_of(full) != d.res.signature || full.result.steps != rep.result.steps || full.picks != rep.picks)
          throw std::runtime_error(fmt::format("internal: seed {} ran differently with the trace hash on", job.seed));
        d.artifact = make_artifact(job.scenario(sc), full);
      }
      nlohmann::json j = {{"seed", d.res.seed},     {"strategy", d.res.strategy}, {"config", d.res.config},
                          {"failed", d.res.failed}, {"signature", d.res.signature}, {"steps", d.res.steps},
                          {"wall_s", d.res.wall_s}};
      if (d.res.picks) j["picks"] = d.res.picks;
      const std::string line = j.dump();
      std::lock_guard<std::mutex> lock(mu);
      for (const auto& [p, n] : rep.result.probes) probes[p] += n;
      // The artifact goes to disk before the run's line: a kill in between leaves a run that a
      // resumed campaign runs again, never a recorded failure without its artifact.
      if (d.res.failed) {
        auto& b = buckets[d.res.signature];
        const bool better = b.count == 0 || better_than_best(d.res, b);
        if (b.count == 0 || d.res.seed < b.first_seed) b.first_seed = d.res.seed;
        ++b.count;
        b.signature = d.res.signature;
        b.artifact = (fs::path(o.out_dir) / "artifacts" / artifact_name(d.res.signature)).string();
        if (better) {
          b.best_steps = d.res.steps;
          b.best_seed = d.res.seed;
          write_artifact(b.artifact, *d.artifact);  // the shortest run that showed this signature (may_be_best held)
        }
        if (o.stop_on_first) stop = true;
      }
      // The first failed append names its errno; a worker that finds the stream already failed
      // (before the first one's error is recorded) repeats that message, not its own errno.
      if (append_error.empty()) {
        results_out << line << "\n" << std::flush;  // a SIGKILL loses no finished run
        if (!results_out)
          append_error = fmt::format("{}: cannot append a result: {}", results_path, std::strerror(errno));
      }
      if (!append_error.empty()) throw std::runtime_error(append_error);
      results.push_back(std::move(d.res));
      ++finished;
      if (std::chrono::duration<double>(Clock::now() - last_print).count() >= (o.progress_tty ? 0.2 : 2.0)) {
        last_print = Clock::now();
        report_progress(false);
        save_probes();  // a killed invocation keeps the coverage of its recorded runs (near enough)
      }
    }
  };
  // An exception in a worker (an unwritable output, an internal error) stops the campaign and
  // is rethrown here, on the calling thread, once every worker has stopped.
  run_on_threads(o.jobs, worker, [&] {
    std::lock_guard<std::mutex> lock(mu);
    stop = true;
  });
  report_progress(true);

  sum.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
  sum.runs = finished;
  sum.interrupted = interrupted;
  for (const auto& r : results) sum.failures += r.failed ? 1 : 0;
  for (auto& [sig, b] : buckets) sum.buckets.push_back(b);
  std::sort(sum.buckets.begin(), sum.buckets.end(),
            [](const FuzzBucket& a, const FuzzBucket& b) { return a.first_seed < b.first_seed; });
  sum.probes = probes;
  for (const auto& p : model::model_probe_names())
    if (!probes.count(p)) sum.never_reached.push_back(p);
  write_file_atomically(probes_path, coverage_json(sum.probes, sum.never_reached));
  return sum;
}

void write_coverage(const FuzzSummary& s, const std::string& path) {
  write_file_atomically(path, coverage_json(s.probes, s.never_reached));
}

void print_fuzz_table(const FuzzSummary& s, std::ostream& out, const std::string& smpsim) {
  const std::uint64_t all = s.runs + s.resumed;
  out << fmt::format("fuzz: {}{}, {} failing, {}, {:.1f}s wall ({:.0f} runs/s)\n", plural(all, "run"),
                     s.resumed ? fmt::format(" ({} resumed from an earlier invocation)", s.resumed) : "", s.failures,
                     plural(s.buckets.size(), "distinct signature"), s.wall_s, s.wall_s > 0 ? s.runs / s.wall_s : 0.0);
  if (!s.buckets.empty()) {
    out << fmt::format("{:<70} {:>6} {:>10}  {}\n", "signature", "count", "first seed", "replay");
    for (const auto& b : s.buckets)
      out << fmt::format("{:<70} {:>6} {:>10}  {} replay {}\n", b.signature, b.count, b.first_seed, shell_quote(smpsim),
                         shell_quote(b.artifact));
  }
  if (s.interrupted)
    out << "interrupted: the runs above are recorded; the same command with --resume goes on from there\n";
  if (!s.never_reached.empty()) {
    out << fmt::format("never reached ({} of {} probes):", s.never_reached.size(), s.never_reached.size() + s.probes.size());
    for (const auto& p : s.never_reached) out << "\n  " << p;
    out << "\n";
  }
}

// ---------------------------------------------------------------------------------------------
// Bounded exhaustive exploration

namespace {

std::size_t nondefault_picks(const sim::ChoiceLog& log) {
  std::size_t n = 0;
  for (const auto& c : log.entries()) n += (c.kind == sim::ChoiceKind::Pick && c.value != 0) ? 1 : 0;
  return n;
}

// The scenario-wide faults a run injects: the ones swarm draws, each off when its key is absent,
// and the kind of choice each one's draws are recorded as.
struct ScenarioFault {
  const char* table;
  const char* key;
  bool (*on)(const Scenario&);
  sim::ChoiceKind kind;
};
constexpr ScenarioFault kScenarioFaults[] = {
    {"sim", "vcpu_stall_ratio", [](const Scenario& s) { return s.vcpu_stall_ratio.num != 0; }, sim::ChoiceKind::Stall},
    {"sim", "propagation_delay", [](const Scenario& s) { return s.propagation_delay > sim::Duration{}; },
     sim::ChoiceKind::Delay},
    {"kernel", "hotplug_fault_ratio", [](const Scenario& s) { return s.hotplug_fault_ratio.num != 0; },
     sim::ChoiceKind::Fault},
};

}  // namespace

// The picks then line up with the run as it was; kinds other faults share (a bug knob's 'f'
// draws) go too, which is why the shrinker also tries the log unchanged.
sim::ChoiceLog without_draws(const sim::ChoiceLog& log, sim::ChoiceKind kind) {
  sim::ChoiceLog out;
  bool stall_taken = false;
  for (const auto& c : log.entries()) {
    const bool drop = c.kind == kind || (stall_taken && c.kind == sim::ChoiceKind::StallLen);
    stall_taken = c.kind == sim::ChoiceKind::Stall && kind == sim::ChoiceKind::Stall && c.value == 1;
    if (!drop) out.push(c);
  }
  return out;
}

namespace {
// An action's own fault: a cpu_down whose __cpu_disable refuses, a cpu_up told to fail at a state.
struct ActionFault {
  const char* key;
  bool (*on)(const Action&);
};
constexpr ActionFault kActionFaults[] = {
    {"disable_fails", [](const Action& a) { return a.disable_fails.has_value(); }},
    {"fail_state", [](const Action& a) { return a.fail_state.has_value(); }},
};

std::size_t injected_faults(const Scenario& sc) {
  std::size_t n = 0;
  for (const auto& f : kScenarioFaults) n += f.on(sc) ? 1 : 0;
  for (const auto& a : sc.actions)
    for (const auto& f : kActionFaults) n += f.on(a) ? 1 : 0;
  return n;
}

std::uint64_t action_calls(const Scenario& sc) {
  std::uint64_t n = 0;
  for (const auto& a : sc.actions) n += a.count;
  return n;
}

}  // namespace

namespace {

sim::ChoiceLog parse_log(const std::string& text) {
  std::string err;
  auto log = sim::ChoiceLog::parse(text, err);
  if (!log) throw std::runtime_error("internal: recorded choice log does not parse: " + err);
  return *log;
}

std::string end_state_key(const RunReport& rep) {
  std::string key = fmt::format("{}|{}|{}|{}", sim::to_string(rep.result.outcome), signature_of(rep), rep.online,
                                rep.active);
  for (const auto& [c, v] : rep.counts) key += fmt::format("|{}={}", c, v);
  for (const auto& a : rep.actions)
    for (int r : a.rets) key += fmt::format("|{}:{}", a.name, r);
  return key;
}

}  // namespace

// Schedules run in batches of kExploreBatch taken from the top of the stack, spread over the jobs;
// the results are then taken in the batch's order, so which schedules are visited (under a cut at
// --max-schedules too), their ordinals and the artifacts are the same for any --jobs.
constexpr std::size_t kExploreBatch = 128;

// A schedule to visit: the first `keep` choices of an earlier run, then one deviation. Its log is
// built only when it runs: a run of n choices has up to n children, and copying each prefix up
// front cost O(n^2) per run on the thread that hands out the work.
struct Prefix {
  std::shared_ptr<const sim::ChoiceLog> run;  // null: the empty prefix (the default schedule)
  std::size_t keep = 0;
  sim::Choice deviation{};
  unsigned deviations = 0;
  std::size_t size() const { return run ? keep + 1 : 0; }
  sim::ChoiceLog log() const {
    sim::ChoiceLog l;
    if (!run) return l;
    for (std::size_t k = 0; k < keep; ++k) l.push(run->entries()[k]);
    l.push(deviation);
    return l;
  }
};

// One schedule visited: what the serial part needs of its run.
struct Visited {
  std::string end_state;
  std::optional<RunReport> failure;  // the run, when it failed (for its signature and artifact)
  std::vector<Prefix> children;      // the schedules one more deviation away, in visiting order
};

// Runs each prefix (then the default choices) on `jobs` threads, each thread also working out
// its runs' end states and children, so that only the merge is serial; an exception in any run is
// rethrown here once every thread has stopped.
std::vector<Visited> visit(const Scenario& sc, const ExploreOptions& o, const std::vector<Prefix>& batch) {
  std::vector<Visited> out(batch.size());
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < batch.size();) {
      const Prefix& prefix = batch[i];
      RunOptions opts;
      opts.seed = sc.seed;
      opts.bugs = o.bugs;
      opts.replay = prefix.log();
      RunReport rep = run_scenario(sc, opts);
      Visited& v = out[i];
      v.end_state = end_state_key(rep);
      if (prefix.deviations < o.preemption_bound) {
        // A failed run keeps its log for its artifact; any other hands it over to its children.
        const auto run = std::make_shared<const sim::ChoiceLog>(rep.failed ? rep.choices : std::move(rep.choices));
        const auto& e = run->entries();
        for (std::size_t c = prefix.size(); c < e.size(); ++c) {
          if (e[c].kind != sim::ChoiceKind::Pick || e[c].value != 0) continue;
          for (std::uint32_t alt = 1; alt < e[c].options; ++alt)
            v.children.push_back(Prefix{run, c, sim::Choice{sim::ChoiceKind::Pick, alt, e[c].options}, prefix.deviations + 1});
        }
      }
      if (rep.failed) v.failure = std::move(rep);
    }
  };
  run_on_threads(static_cast<unsigned>(std::min<std::size_t>(o.jobs, batch.size())), worker,
                 [&] { next = batch.size(); });
  return out;
}

ExploreSummary explore(const Scenario& sc, const ExploreOptions& o, std::ostream& progress) {
  ExploreSummary sum;
  fs::create_directories(fs::path(o.out_dir) / "artifacts");
  std::set<std::string> end_states;
  std::map<std::string, FuzzBucket> buckets;
  // Depth-first over choice prefixes; after its prefix a run takes the default choice (the
  // earliest ready CPU) everywhere. A deviation is a non-default pick; at most B per schedule.
  std::vector<Prefix> stack{Prefix{}};
  while (!stack.empty()) {
    if (sum.schedules >= o.max_schedules) {
      sum.complete = false;
      break;
    }
    if (interrupt_requested()) {
      sum.complete = false;
      sum.interrupted = true;
      break;
    }
    std::vector<Prefix> batch(std::min<std::uint64_t>({kExploreBatch, stack.size(), o.max_schedules - sum.schedules}));
    for (auto& prefix : batch) {
      prefix = std::move(stack.back());
      stack.pop_back();
    }
    std::vector<Visited> visited = visit(sc, o, batch);
    const std::uint64_t progress_mark = sum.schedules / 500;
    for (Visited& v : visited) {
      ++sum.schedules;
      end_states.insert(std::move(v.end_state));
      if (!v.failure) continue;
      ++sum.failures;
      const std::string sig = signature_of(*v.failure);
      auto& bucket = buckets[sig];
      if (bucket.count++ == 0) {
        bucket.signature = sig;
        bucket.first_seed = sum.schedules;
        bucket.best_steps = v.failure->result.steps;
        bucket.artifact = (fs::path(o.out_dir) / "artifacts" / artifact_name(sig)).string();
        write_artifact(bucket.artifact, make_artifact(sc, *v.failure));
      }
    }
    // The first schedule's children end on top of the stack, as if the batch had run one by one.
    for (std::size_t b = visited.size(); b-- > 0;)
      for (auto c = visited[b].children.rbegin(); c != visited[b].children.rend(); ++c) stack.push_back(std::move(*c));
    if (sum.schedules / 500 != progress_mark)
      progress << fmt::format("explore: {} schedules, {} end states, {} failing, {} pending\n", sum.schedules,
                              end_states.size(), sum.failures, stack.size());
  }
  sum.end_states = end_states.size();
  for (auto& [sig, b] : buckets) sum.buckets.push_back(b);
  return sum;
}

// ---------------------------------------------------------------------------------------------
// Shrinking

ShrinkSummary shrink_artifact(const Artifact& in, Artifact& out, std::ostream& progress, const ShrinkOptions& so) {
  ShrinkSummary sum;
  std::string text = in.scenario_text;
  Scenario sc = parse_scenario(text, in.scenario_path);
  sim::ChoiceLog log = parse_log(in.choices);
  const Signature target = in.signature;
  RunOptions base;
  base.seed = in.seed;
  base.bugs = in.bugs;
  base.pct_depth = in.pct_depth;
  // The shrunk artifact records the strategy that found the failure, not the scenario's default;
  // it also decides the engine's configuration (a PCT run stalls at its change points).
  if (auto st = sim::policy_from_string(in.strategy)) base.strategy = *st;
  if (auto g = sim::granularity_from_string(in.granularity)) base.granularity = *g;
  sum.choices_before = log.size();
  sum.nondefault_before = nondefault_picks(log);
  sum.actions_before = sc.actions.size();
  sum.calls_before = action_calls(sc);
  sum.faults_before = injected_faults(sc);
  sum.cpus_before = sc.cpus;

  // What is shrunk is what replays: an artifact that does not replay exactly (`smpsim replay`
  // would say so) is refused rather than shrunk into something else.
  auto replay_exactly = [&](const Scenario& s, const sim::ChoiceLog& l) {
    RunOptions exact = base;
    exact.replay = l;
    ++sum.runs;
    return run_scenario(s, exact);
  };
  auto reproduces = [&](const RunReport& rep, std::uint64_t trace_hash) {
    return !rep.result.replay_diverged_at && rep.signature && *rep.signature == target &&
           rep.result.trace_hash == trace_hash;
  };
  std::optional<RunReport> best;
  {
    RunReport first = replay_exactly(sc, log);
    if (!reproduces(first, in.trace_hash))
      throw ShrinkNotReproduced(fmt::format(
          "the artifact does not replay exactly ({}); `smpsim replay` shows where it departs; nothing to shrink",
          first.signature && *first.signature == target ? fmt::format("trace hash {:016x}, the artifact says {:016x}",
                                                                      first.result.trace_hash, in.trace_hash)
                                                        : "another signature"));
    best = std::move(first);
  }

  // The budget counts every run: the first replay, the candidates, and the final exact check,
  // for which one run is kept back.
  bool changed = false;
  auto budget_left = [&] {
    if (interrupt_requested()) {
      sum.interrupted = true;
      return false;
    }
    if (sum.runs + 1 < so.max_runs) return true;
    sum.cut = true;
    return false;
  };
  auto report = [&](const char* phase) {
    progress << fmt::format("shrink: {}: {} runs, {} non-default choices of {}, {}, {}\n", phase, sum.runs,
                            nondefault_picks(log), log.size(), plural(sc.actions.size(), "action"), plural(sc.cpus, "cpu"));
  };
  // A candidate is kept if replaying it (leniently: after a mismatch the run takes the default
  // choices) shows the same signature (a failure, or the same unmet expectation) and its actual
  // recorded log replaces ours. A scenario candidate is smaller by construction; its log must be
  // no longer. A schedule candidate must have fewer non-default choices (its log no longer than
  // the input's), or as many and a shorter log: (non-default choices, length) decreases at every
  // kept step, so the search ends, and a run with no preemption at all beats a shorter one with
  // some.
  auto attempt = [&](const Scenario& cand, const sim::ChoiceLog& cand_log, bool schedule) -> bool {
    RunOptions opts = base;
    opts.replay = cand_log;
    RunReport rep = run_scenario(cand, opts);
    ++sum.runs;
    if (sum.runs % 200 == 0) report("progress");
    if (!rep.signature || !(*rep.signature == target)) return false;
    const std::size_t nd = nondefault_picks(rep.choices), nd_now = nondefault_picks(log);
    const std::size_t len = rep.choices.size();
    const bool keep = schedule ? (nd < nd_now && len <= sum.choices_before) || (nd == nd_now && len < log.size())
                               : len <= log.size();
    if (!keep) return false;
    log = rep.choices;
    best = std::move(rep);
    changed = true;
    return true;
  };

  // A scenario edit is kept when the edited text still parses (an action referenced by a trigger
  // or an expectation cannot go) and the failure stays.
  auto try_text = [&](const std::string& cand_text, const std::optional<sim::ChoiceLog>& cand_log = std::nullopt) {
    try {
      Scenario cand = parse_scenario(cand_text, in.scenario_path);
      if (!attempt(cand, cand_log ? *cand_log : log, false)) return false;
      text = cand_text;
      sc = std::move(cand);
      return true;
    } catch (const ScenarioError&) {
      return false;
    }
  };
  // 1. The scenario's actions, last first (few candidates, and each one it loses shortens every
  // later replay, so the scenario phases go before the schedule's many).
  for (std::size_t i = sc.actions.size(); i-- > 0 && sc.actions.size() > 1 && budget_left();)
    try_text(scenario_remove_action(text, sc.actions[i].line));
  report("actions");
  // 2. Injected faults the failure does not need: the scenario-wide ratios and delays (swarm's),
  // then each action's own (a refused __cpu_disable, a failing bring-up state), each removed in turn.
  // Without its draws first (the rest of the schedule then stays as it was), then as it is.
  for (const auto& f : kScenarioFaults) {
    if (!f.on(sc)) continue;
    const std::string cand_text = scenario_remove_key(text, f.table, f.key);
    if (budget_left() && try_text(cand_text, without_draws(log, f.kind))) continue;
    if (budget_left()) try_text(cand_text);
  }
  for (std::size_t i = sc.actions.size(); i-- > 0;)
    for (const auto& f : kActionFaults)
      if (f.on(sc.actions[i]) && budget_left()) try_text(scenario_set_action_key(text, sc.actions[i].line, f.key, std::nullopt));
  report("faults");
  // 3. Fewer calls: each action's count, halved while the failure stays, then bisected between the
  // last count that kept it and the first that lost it.
  for (std::size_t i = sc.actions.size(); i-- > 0;) {
    std::uint32_t lost = 0;  // a count known to lose the failure (0: none tried yet)
    while (budget_left()) {
      const std::uint32_t kept = sc.actions[i].count;
      const std::uint32_t n = lost == 0 ? kept / 2 : lost + (kept - lost) / 2;
      if (n < 1 || n == lost || n >= kept) break;
      if (!try_text(scenario_set_action_key(text, sc.actions[i].line, "count", std::to_string(n)))) lost = n;
    }
  }
  report("calls");
  // 4. Fewer CPUs, while the scenario still parses.
  for (unsigned cpus = sc.cpus; cpus-- > 1 && budget_left();)
    if (!try_text(scenario_set_cpus(text, cpus))) break;
  report("cpus");
  // 5. The schedule: reset non-default picks to the default, in halving chunks (ddmin), the first
  // chunk being all of them (a failure that needs no preemption at all shrinks in one replay).
  for (std::size_t chunks = 1; budget_left();) {
    std::vector<std::size_t> idx;
    for (std::size_t i = 0; i < log.size(); ++i)
      if (log.entries()[i].value != 0) idx.push_back(i);
    if (idx.empty()) break;
    chunks = std::min(chunks, idx.size());
    bool reduced = false;
    for (std::size_t c = 0; c < chunks && !reduced && budget_left(); ++c) {
      sim::ChoiceLog cand;
      const std::size_t lo = idx.size() * c / chunks, hi = idx.size() * (c + 1) / chunks;
      std::set<std::size_t> zero(idx.begin() + static_cast<long>(lo), idx.begin() + static_cast<long>(hi));
      for (std::size_t i = 0; i < log.size(); ++i) {
        sim::Choice ch = log.entries()[i];
        if (zero.count(i)) ch.value = 0;
        cand.push(ch);
      }
      reduced = attempt(sc, cand, true);
    }
    if (reduced) {
      chunks = std::max<std::size_t>(chunks - 1, 2);
    } else if (chunks >= idx.size()) {
      break;
    } else {
      chunks = std::min(idx.size(), chunks * 2);
    }
  }
  report("schedule");
  if (!changed) {  // nothing smaller was found: the input, as it replayed
    out = make_artifact(sc, *best);
  } else {
    // The final recorded log must replay exactly: check before writing.
    const RunReport check = replay_exactly(sc, log);
    if (!reproduces(check, best->result.trace_hash))
      throw std::runtime_error("internal: the shrunk schedule does not replay exactly");
    out = make_artifact(sc, check);
  }
  sum.choices_after = log.size();
  sum.nondefault_after = nondefault_picks(log);
  sum.actions_after = sc.actions.size();
  sum.calls_after = action_calls(sc);
  sum.faults_after = injected_faults(sc);
  sum.cpus_after = sc.cpus;
  return sum;
}

}  // namespace app
