// app/chrome_trace.cpp — see chrome_trace.hpp. Events are kept compact while the run goes and
// serialised once at the end (nlohmann::json for escaping; keys sorted, so output is stable).
#include "app/chrome_trace.hpp"

#include "model/cpu.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/details/log_msg.h>
#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>

#include <algorithm>
#include <charconv>
#include <set>

namespace app {

namespace {

constexpr std::size_t kMaxEvents = 4'000'000;

class ChromeSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  explicit ChromeSink(ChromeTrace& ct) : ct_(ct) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const sim::Sim* s = sim::Sim::current_or_null();
    const sim::TraceContext ctx = s ? s->trace_context() : sim::TraceContext{};
    ct_.on_event(ctx, std::string_view(msg.logger_name.data(), msg.logger_name.size()),
                 sim::to_string(static_cast<sim::Level>(msg.level)),
                 std::string_view(msg.payload.data(), msg.payload.size()));
  }
  void flush_() override {}

 private:
  ChromeTrace& ct_;
};

using Fields = std::vector<std::pair<std::string, std::string>>;

std::string field(const Fields& f, std::string_view key) {
  for (const auto& [k, v] : f)
    if (k == key) return v;
  return {};
}

int field_int(const Fields& f, std::string_view key, int def = -1) {
  const std::string v = field(f, key);
  int out = def;
  const auto r = std::from_chars(v.data(), v.data() + v.size(), out);
  return r.ec == std::errc{} && r.ptr == v.data() + v.size() ? out : def;
}

}  // namespace

ChromeTrace::ChromeTrace(std::string process_name) : process_name_(std::move(process_name)) {}
ChromeTrace::~ChromeTrace() = default;

void ChromeTrace::attach(sim::Trace& trace, unsigned nr_cpus) {
  cpus_.resize(nr_cpus);
  trace.add_sink(std::make_shared<ChromeSink>(*this));
}

ChromeTrace::CpuTracks& ChromeTrace::cpu(int c) {
  if (c < 0) c = 0;
  if (static_cast<std::size_t>(c) >= cpus_.size()) cpus_.resize(static_cast<std::size_t>(c) + 1);
  return cpus_[static_cast<std::size_t>(c)];
}

void ChromeTrace::push(Ev e) {
  if (events_.size() >= kMaxEvents) {
    truncated_ = true;
    return;
  }
  events_.push_back(std::move(e));
}

void ChromeTrace::open(Open& o, std::int64_t t, std::string name, std::vector<std::pair<std::string, std::string>> args) {
  o.open = true;
  o.since = t;
  o.name = std::move(name);
  o.args = std::move(args);
}

void ChromeTrace::close(Open& o, std::int64_t t, std::int64_t track) {
  if (!o.open) return;
  o.open = false;
  push(Ev{'X', o.since, std::max<std::int64_t>(0, t - o.since), track, std::move(o.name), std::move(o.args)});
}

std::int64_t ChromeTrace::action_tid(const std::string& name) {
  auto it = action_tids_.find(name);
  if (it == action_tids_.end())
    it = action_tids_.emplace(name, kActionTid + static_cast<std::int64_t>(action_tids_.size())).first;
  return it->second;
}

void ChromeTrace::cpu_state(unsigned c, sim::Time time, bool irqs_off, bool preempt_off) {
  CpuTracks& ct = cpu(static_cast<int>(c));
  const std::int64_t t = time.ns_since_boot();
  if (irqs_off != ct.irq.open) {
    if (irqs_off) open(ct.irq, t, "irqs off");
    else close(ct.irq, t, tid(c, kIrq));
  }
  if (preempt_off != ct.preempt.open) {
    if (preempt_off) open(ct.preempt, t, "preempt off");
    else close(ct.preempt, t, tid(c, kPreempt));
  }
}

void ChromeTrace::on_event(const sim::TraceContext& ctx, std::string_view subsys, std::string_view level,
                           std::string_view payload) {
  (void)subsys;
  std::string name;
  Fields f;
  if (!sim::parse_event_payload(payload, name, f)) return;
  if (!cpu_event(ctx, name, f)) global_event(ctx, level, name, f);
}

bool ChromeTrace::cpu_event(const sim::TraceContext& ctx, const std::string& name, const Fields& f) {
  const std::int64_t t = ctx.time_ns;
  const int ev_cpu = field_int(f, "cpu", ctx.cpu);
  const unsigned uc = static_cast<unsigned>(ev_cpu < 0 ? 0 : ev_cpu);
  if (name == "sched.switch" || name == "sched.exit") {
    CpuTracks& c = cpu(ev_cpu);
    close(c.task, t, tid(uc, kTask));
    const std::string next = field(f, "next");
    if (next.rfind("swapper/", 0) != 0) open(c.task, t, next);
  } else if (name == "stop.start") {
    open(cpu(ev_cpu).work, t, "stop: " + field(f, "fn"), {{"fn", field(f, "fn")}, {"work", field(f, "work")}});
  } else if (name == "stop.done") {
    CpuTracks& c = cpu(ev_cpu);
    c.work.args.emplace_back("ret", field(f, "ret"));
    close(c.work, t, tid(uc, kStopper));
  } else if (name == "msm.state") {
    if (field(f, "to") == "PREPARE") msdata_prepare_[field(f, "msdata")] = t;
  } else if (name == "msm.ack") {
    CpuTracks& c = cpu(ev_cpu);
    const std::string state = field(f, "state"), msdata = field(f, "msdata");
    std::int64_t start = c.last_ack;
    if (state == "PREPARE") {
      auto it = msdata_prepare_.find(msdata);
      start = it != msdata_prepare_.end() ? it->second : t;
      if (c.work.open) start = std::max(start, c.work.since);
    }
    push(Ev{'X', start, std::max<std::int64_t>(0, t - start), tid(uc, kStopper), "msm " + state,
            {{"msdata", msdata}, {"acked", state}}});
    c.last_ack = t;
    if (state == "EXIT") msdata_prepare_.erase(msdata);
  } else if (name == "msm.fn") {
    push(Ev{'i', t, 0, tid(uc, kStopper), "fn " + field(f, "fn"), {{"msdata", field(f, "msdata")}}, 't'});
  } else if (name == "cpuhp.op") {
    open(cpu(ev_cpu).op, t, "cpu_" + field(f, "op"), {{"from", field(f, "from")}, {"target", field(f, "target")}});
  } else if (name == "cpuhp.done") {
    CpuTracks& c = cpu(ev_cpu);
    c.op.args.emplace_back("ret", field(f, "ret"));
    c.op.args.emplace_back("state", field(f, "state"));
    close(c.op, t, tid(uc, kHotplug));
    push(Ev{'C', t, 0, tid(uc, kHotplug), fmt::format("cpu{} hotplug state", uc),
            {{"state", std::to_string(model::cpuhp_state_from_name(field(f, "state")))}}});
  } else if (name == "cpuhp.invoke" || name == "cpuhp.fail" || name == "cpuhp.rollback") {
    push(Ev{'i', t, 0, tid(uc, kHotplug), name == "cpuhp.invoke" ? field(f, "state") : name, f, 't'});
    if (name == "cpuhp.invoke") {
      // After a teardown callback the CPU is below that state; show it one step lower.
      const int s = model::cpuhp_state_from_name(field(f, "state")) - (field(f, "bringup") == "1" ? 0 : 1);
      push(Ev{'C', t, 0, tid(uc, kHotplug), fmt::format("cpu{} hotplug state", uc), {{"state", std::to_string(s)}}});
    }
  } else if (name == "cpu.online" || name == "cpu.active") {
    const bool on = field(f, name == "cpu.online" ? "online" : "active") == "1";
    const char* what = name == "cpu.online" ? (on ? "online" : "offline") : (on ? "active" : "inactive");
    push(Ev{'i', t, 0, tid(uc, kHotplug), what, {}, 't'});
  } else {
    return false;
  }
  return true;
}

void ChromeTrace::global_event(const sim::TraceContext& ctx, std::string_view level, const std::string& name,
                               const Fields& f) {
  const std::int64_t t = ctx.time_ns;
  if (name == "rcu.gp.start") {
    open(gp_, t, "GP " + field(f, "seq"), {{"waiting", field(f, "waiting")}});
  } else if (name == "rcu.gp.end") {
    close(gp_, t, kRcuTid);
  } else if (name == "scn.call") {
    const std::string a = field(f, "name");
    action_tid(a);
    open(action_open_[a], t, fmt::format("{} #{}", field(f, "do"), field(f, "n")), {{"cpu", std::to_string(ctx.cpu)}});
  } else if (name == "scn.ret") {
    const std::string a = field(f, "name");
    Open& o = action_open_[a];
    o.args.emplace_back("ret", field(f, "ret"));
    close(o, t, action_tid(a));
  } else if (name == "scn.skip" || name == "scn.trigger") {
    push(Ev{'i', t, 0, action_tid(field(f, "name")), name, f, 't'});
  } else if (name == "kernel.report") {
    push(Ev{'i', t, 0, tid(static_cast<unsigned>(std::max(ctx.cpu, 0)), kTask), field(f, "kind"),
            {{"message", field(f, "msg")}}, 't'});
  } else if (name == "sim.failure" || level == "error") {
    push(Ev{'i', t, 0, tid(static_cast<unsigned>(std::max(ctx.cpu, 0)), kTask), "FAILURE " + field(f, "kind"),
            {{"place", field(f, "place")}, {"message", field(f, "msg")}, {"task", std::string(ctx.task)}}, 'g'});
  }
}

void ChromeTrace::finish(sim::Time end) {
  const std::int64_t t = end.ns_since_boot();
  for (std::size_t i = 0; i < cpus_.size(); ++i) {
    const auto c = static_cast<unsigned>(i);
    close(cpus_[i].task, t, tid(c, kTask));
    close(cpus_[i].irq, t, tid(c, kIrq));
    close(cpus_[i].preempt, t, tid(c, kPreempt));
    close(cpus_[i].work, t, tid(c, kStopper));
    close(cpus_[i].op, t, tid(c, kHotplug));
  }
  close(gp_, t, kRcuTid);
  for (auto& [name, o] : action_open_) close(o, t, action_tid(name));
}

void ChromeTrace::write(std::ostream& os) const {
  using nlohmann::json;
  const auto us = [](std::int64_t ns) { return static_cast<double>(ns) / 1000.0; };
  std::set<std::int64_t> tids;
  for (std::size_t c = 0; c < cpus_.size(); ++c) tids.insert(tid(static_cast<unsigned>(c), kTask));
  for (const auto& e : events_) tids.insert(e.tid);
  os << "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"generator\":\"smpsim\",\"truncated\":"
     << (truncated_ ? "true" : "false") << "},\"traceEvents\":[\n";
  bool first = true;
  const auto emit = [&](const json& j) {
    os << (first ? "" : ",\n") << j.dump();
    first = false;
  };
  emit(json{{"name", "process_name"}, {"ph", "M"}, {"pid", 1}, {"tid", 0}, {"ts", 0}, {"args", {{"name", process_name_}}}});
  std::map<std::int64_t, std::string> action_names;
  for (const auto& [n, t] : action_tids_) action_names[t] = n;
  static constexpr const char* kinds[] = {"", " irqs off", " preempt off", " stopper", " hotplug"};
  for (std::int64_t t : tids) {
    std::string tname;
    if (t == kRcuTid) tname = "RCU";
    else if (t >= kActionTid) tname = "action " + action_names[t];
    else tname = fmt::format("cpu{}{}", (t - 1) / 8, kinds[(t - 1) % 8]);
    emit(json{{"name", "thread_name"}, {"ph", "M"}, {"pid", 1}, {"tid", t}, {"ts", 0}, {"args", {{"name", tname}}}});
    emit(json{{"name", "thread_sort_index"}, {"ph", "M"}, {"pid", 1}, {"tid", t}, {"ts", 0},
              {"args", {{"sort_index", t}}}});
  }
  for (const auto& e : events_) {
    json j{{"name", e.name}, {"cat", "smpsim"}, {"ph", std::string(1, e.ph)}, {"ts", us(e.ts_ns)}, {"pid", 1},
           {"tid", e.tid}};
    if (e.ph == 'X') j["dur"] = us(e.dur_ns);
    if (e.scope) j["s"] = std::string(1, e.scope);
    json args = json::object();
    for (const auto& [k, v] : e.args) {
      if (e.ph == 'C') {
        // Counter values must be numbers: the hotplug state as its enum value.
        int n = -1;
        const auto r = std::from_chars(v.data(), v.data() + v.size(), n);
        args[k] = r.ec == std::errc{} ? n : 0;
      } else {
        args[k] = v;
      }
    }
    if (!args.empty()) j["args"] = args;
    emit(j);
  }
  os << "\n]}\n";
}

}  // namespace app
