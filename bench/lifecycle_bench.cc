// Task lifecycle figures of a real `drover agent` (issue 12), each run
// three times and printed as min/median/max:
//   start100   register one job of 100 tasks -> every task running (ms)
//   start1000  the same with 1,000 tasks (ms)
//   one        register -> one task running, p50 over 20 jobs (ms)
//   crash      task SIGKILLed -> running again (restart Delay 0), p50 and
//              p99 over 50 crashes (ms)
//   stop100    stop (deregister) a job of 100 running tasks -> every
//              allocation complete (ms)
//   pss        PSS of the agent plus its executors holding 100 tasks (MB,
//              the sum of /proc/<pid>/smaps_rollup Pss)
//   restore    1,000 running tasks, the agent SIGKILLed and started
//              again -> every allocation listed running (ms)
//   idle       CPU of an agent that adopted 1,000 tasks (SIGKILLed and
//              started again), utime+stime over 10 s (% of one core)
// Aggregate times are wall clock from the request to the moment a blocking
// query shows the result; per-task latencies (one, crash) are the task's
// "Started" event time minus the wall clock before the request or kill.
//
//   lifecycle_bench [--binary PATH] [--only NAME[,NAME]]
//
// --binary runs another build (its drover-executor must sit next to it).
// Every agent and all its tasks are killed on the way out.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/agent_process.h"
#include "tests/support/http_client.h"

namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using drover::Result;
using drover::Status;
using drover::testing::AgentOptions;
using drover::testing::AgentProcess;
using drover::testing::HttpClient;
using drover::testing::HttpResponse;
using drover::testing::ParseJson;
using Clock = std::chrono::steady_clock;

constexpr int kRuns = 3;
constexpr std::int64_t kSecond = 1'000'000'000;
constexpr auto kBudget = 300s;

std::string g_binary = DROVER_BINARY;

double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::int64_t WallNanos() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * kSecond + ts.tv_nsec;
}

double Rank(std::vector<double> v, double q) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::clamp<std::size_t>(i, 1, v.size()) - 1];
}

void PrintRuns(const char* name, const char* unit, const std::vector<double>& runs) {
  if (runs.empty()) {
    std::printf("%-34s no result\n", name);
    return;
  }
  std::vector<double> s = runs;
  std::sort(s.begin(), s.end());
  std::printf("%-34s min %9.2f  median %9.2f  max %9.2f %s  (%zu runs)\n", name, s.front(),
              s[s.size() / 2], s.back(), unit, s.size());
  std::fflush(stdout);
}

std::string JobBody(const std::string& id, int count, const std::string& script) {
  const json::object task{
      {"Name", "t"},
      {"Driver", "raw_exec"},
      {"Config", json::object{{"command", "/bin/sh"}, {"args", json::array{"-c", script}}}},
      {"Resources", json::object{{"CPU", 1}, {"MemoryMB", 10}}},
      {"KillTimeout", kSecond},
  };
  const json::object group{
      {"Name", "g"},
      {"Count", count},
      {"RestartPolicy", json::object{{"Attempts", 10000},
                                     {"Interval", 24 * 3600 * kSecond},
                                     {"Delay", 0},
                                     {"Mode", "fail"}}},
      {"ReschedulePolicy", json::object{{"Attempts", 0}, {"Unlimited", false}}},
      {"Tasks", json::array{task}},
  };
  return json::serialize(json::object{{"Job", json::object{{"ID", id},
                                                           {"Name", id},
                                                           {"Type", "service"},
                                                           {"Datacenters", json::array{"dc1"}},
                                                           {"TaskGroups", json::array{group}}}}});
}

std::unique_ptr<AgentProcess> StartAgent() {
  AgentOptions o;
  o.binary = g_binary;
  o.log_level = "warn";
  auto agent = AgentProcess::Launch(o);
  if (!agent.ok()) {
    std::fprintf(stderr, "agent: %s\n", agent.status().ToString().c_str());
    return nullptr;
  }
  return std::move(agent).value();
}

std::uint64_t IndexOf(const HttpResponse& r) {
  const auto h = r.headers.Get("X-Nomad-Index");
  return h ? std::strtoull(std::string(*h).c_str(), nullptr, 10) : 0;
}

// Blocks on `path` until `done` holds for its JSON; false after kBudget.
bool WaitQuery(AgentProcess& agent, const std::string& path,
               const std::function<bool(const json::value&)>& done) {
  HttpClient client = agent.Client(std::chrono::milliseconds(70'000));
  std::uint64_t index = 0;
  const auto deadline = Clock::now() + kBudget;
  while (Clock::now() < deadline) {
    const std::string sep = path.find('?') == std::string::npos ? "?" : "&";
    auto r = client.Get(path + (index ? sep + "index=" + std::to_string(index) + "&wait=30s" : ""));
    if (!r.ok() || r->status != 200) {
      std::this_thread::sleep_for(20ms);
      continue;
    }
    index = IndexOf(*r);
    auto v = ParseJson(r->body);
    if (v.ok() && done(*v)) return true;
  }
  return false;
}

std::string StrAt(const json::value& v, std::string_view ptr) {
  boost::system::error_code ec;
  const json::value* p = v.find_pointer(ptr, ec);
  return p && p->is_string() ? std::string(p->get_string()) : "";
}

std::int64_t IntAt(const json::value& v, std::string_view ptr) {
  boost::system::error_code ec;
  const json::value* p = v.find_pointer(ptr, ec);
  return p && p->is_number() ? p->to_number<std::int64_t>() : -1;
}

// The time of the task's last "Started" event, or -1.
std::int64_t LastStarted(const json::value& alloc) {
  boost::system::error_code ec;
  const json::value* ev = alloc.find_pointer("/TaskStates/t/Events", ec);
  if (!ev || !ev->is_array()) return -1;
  std::int64_t t = -1;
  for (const json::value& e : ev->get_array()) {
    if (StrAt(e, "/Type") == "Started") t = IntAt(e, "/Time");
  }
  return t;
}

bool AllStatus(const json::value& allocs, int count, const char* ptr, const char* want) {
  if (!allocs.is_array() || static_cast<int>(allocs.get_array().size()) != count) return false;
  for (const json::value& a : allocs.get_array()) {
    if (StrAt(a, ptr) != want) return false;
  }
  return true;
}

bool Put(AgentProcess& agent, const std::string& body) {
  auto r = agent.Client().Put("/v1/jobs", body);
  if (!r.ok() || r->status != 200) {
    std::fprintf(stderr, "register: %s\n", r.ok() ? r->body.c_str() : r.status().ToString().c_str());
    return false;
  }
  return true;
}

// Registers `count` tasks and waits until all run; ms, or -1.
double StartMany(AgentProcess& agent, const std::string& id, int count) {
  const auto t0 = Clock::now();
  if (!Put(agent, JobBody(id, count, "exec sleep 600"))) return -1;
  if (!WaitQuery(agent, "/v1/job/" + id + "/allocations", [&](const json::value& v) {
        return AllStatus(v, count, "/ClientStatus", "running");
      })) {
    return -1;
  }
  return Millis(Clock::now() - t0);
}

std::vector<pid_t> Executors(pid_t agent) {
  std::vector<pid_t> out;
  for (pid_t pid : drover::testing::ChildrenOf(agent)) {
    std::ifstream cmd("/proc/" + std::to_string(pid) + "/cmdline");
    std::string argv0;
    std::getline(cmd, argv0, '\0');
    if (argv0.find("drover-executor") != std::string::npos) out.push_back(pid);
  }
  return out;
}

double PssMb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Pss:", 0) == 0) return std::strtod(line.c_str() + 4, nullptr) / 1024.0;
  }
  return 0;
}

// utime + stime of `pid`, in clock ticks.
long CpuTicks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  const auto close = line.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15; ++i) {
    rest >> field;
    if (i == 14) utime = std::atol(field.c_str());
    if (i == 15) stime = std::atol(field.c_str());
  }
  return utime + stime;
}

void BenchStart(int count, const char* name) {
  std::vector<double> runs;
  for (int run = 0; run < kRuns; ++run) {
    auto agent = StartAgent();
    if (!agent) return;
    double ms = StartMany(*agent, "many", count);
    if (ms >= 0) runs.push_back(ms);
  }
  PrintRuns(name, "ms", runs);
}

void BenchOne() {
  std::vector<double> runs;
  for (int run = 0; run < kRuns; ++run) {
    auto agent = StartAgent();
    if (!agent) return;
    std::vector<double> samples;
    for (int i = 0; i < 20; ++i) {
      const std::string id = "one" + std::to_string(i);
      const std::int64_t t0 = WallNanos();
      if (!Put(*agent, JobBody(id, 1, "exec sleep 600"))) break;
      std::int64_t started = -1;
      WaitQuery(*agent, "/v1/job/" + id + "/allocations", [&](const json::value& v) {
        if (!AllStatus(v, 1, "/ClientStatus", "running")) return false;
        auto a = agent->Client().Get("/v1/allocation/" + StrAt(v.get_array()[0], "/ID"));
        if (!a.ok()) return false;
        auto av = ParseJson(a->body);
        started = av.ok() ? LastStarted(*av) : -1;
        return true;
      });
      if (started > 0) samples.push_back(static_cast<double>(started - t0) / 1e6);
    }
    if (!samples.empty()) runs.push_back(Rank(samples, 0.5));
  }
  PrintRuns("one task running, p50", "ms", runs);
}

void BenchCrash() {
  std::vector<double> p50s, p99s;
  for (int run = 0; run < kRuns; ++run) {
    auto agent = StartAgent();
    if (!agent) return;
    if (StartMany(*agent, "crash", 1) < 0) return;
    auto list = agent->Client().Get("/v1/job/crash/allocations");
    if (!list.ok()) return;
    auto lv = ParseJson(list->body);
    if (!lv.ok() || !lv->is_array() || lv->get_array().empty()) return;
    const std::string alloc_id = StrAt(lv->get_array()[0], "/ID");
    // The task's pid: the one child of the executor.
    std::vector<double> samples;
    for (int i = 0; i < 50; ++i) {
      std::vector<pid_t> executors = Executors(agent->pid());
      pid_t task = -1;
      for (pid_t e : executors) {
        std::ifstream children("/proc/" + std::to_string(e) + "/task/" + std::to_string(e) + "/children");
        children >> task;
      }
      if (task <= 0) {
        // The executor of an adopted or restarted task may not be ours
        // yet: wait a moment and look again.
        std::this_thread::sleep_for(5ms);
        continue;
      }
      const std::int64_t t0 = WallNanos();
      if (::kill(task, SIGKILL) != 0) continue;
      std::int64_t started = -1;
      WaitQuery(*agent, "/v1/allocation/" + alloc_id, [&](const json::value& a) {
        if (IntAt(a, "/TaskStates/t/Restarts") < i + 1) return false;
        if (StrAt(a, "/TaskStates/t/State") != "running") return false;
        started = LastStarted(a);
        return true;
      });
      if (started > 0) samples.push_back(static_cast<double>(started - t0) / 1e6);
    }
    if (!samples.empty()) {
      p50s.push_back(Rank(samples, 0.5));
      p99s.push_back(Rank(samples, 0.99));
    }
  }
  PrintRuns("crash -> restarted, p50", "ms", p50s);
  PrintRuns("crash -> restarted, p99", "ms", p99s);
}

void BenchStop() {
  std::vector<double> runs;
  for (int run = 0; run < kRuns; ++run) {
    auto agent = StartAgent();
    if (!agent) return;
    if (StartMany(*agent, "stop", 100) < 0) return;
    const auto t0 = Clock::now();
    auto r = agent->Client().Delete("/v1/job/stop");
    if (!r.ok() || r->status != 200) return;
    if (!WaitQuery(*agent, "/v1/job/stop/allocations", [&](const json::value& v) {
          return AllStatus(v, 100, "/ClientStatus", "complete");
        })) {
      return;
    }
    runs.push_back(Millis(Clock::now() - t0));
  }
  PrintRuns("stop 100 tasks", "ms", runs);
}

void BenchPss() {
  std::vector<double> runs;
  for (int run = 0; run < kRuns; ++run) {
    auto agent = StartAgent();
    if (!agent) return;
    if (StartMany(*agent, "pss", 100) < 0) return;
    std::this_thread::sleep_for(1s);  // let start-up allocations settle
    double mb = PssMb(agent->pid());
    std::vector<pid_t> executors = Executors(agent->pid());
    for (pid_t e : executors) mb += PssMb(e);
    if (executors.size() != 100) std::fprintf(stderr, "pss: %zu executors\n", executors.size());
    runs.push_back(mb);
  }
  PrintRuns("PSS agent + executors, 100 tasks", "MB", runs);
}

// The agent holding 1,000 running tasks is SIGKILLed and started again:
// from the new process's start (AgentProcess::Restart includes its wait
// for the first 200, polled every 25 ms) to a list showing every
// allocation running.
void BenchRestore() {
  auto agent = StartAgent();
  if (!agent) return;
  if (StartMany(*agent, "restore", 1000) < 0) return;
  std::vector<double> runs;
  for (int run = 0; run < kRuns; ++run) {
    if (!agent->Kill().ok()) return;
    const auto t0 = Clock::now();
    if (!agent->Restart().ok()) return;
    if (!WaitQuery(*agent, "/v1/job/restore/allocations", [&](const json::value& v) {
          return AllStatus(v, 1000, "/ClientStatus", "running");
        })) {
      return;
    }
    runs.push_back(Millis(Clock::now() - t0));
  }
  PrintRuns("restore 1,000 running -> listed", "ms", runs);
}

void BenchIdle() {
  auto agent = StartAgent();
  if (!agent) return;
  if (StartMany(*agent, "idle", 1000) < 0) return;
  const long hz = ::sysconf(_SC_CLK_TCK);
  std::vector<double> runs;
  for (int run = 0; run < kRuns; ++run) {
    if (!agent->Kill().ok() || !agent->Restart().ok()) return;
    std::this_thread::sleep_for(2s);  // past the restore and the first turns
    const long before = CpuTicks(agent->pid());
    std::this_thread::sleep_for(10s);
    const long after = CpuTicks(agent->pid());
    runs.push_back(100.0 * static_cast<double>(after - before) / static_cast<double>(hz) / 10.0);
  }
  PrintRuns("idle CPU, 1,000 adopted tasks", "% core", runs);
}

}  // namespace

int main(int argc, char** argv) {
  std::set<std::string> only;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--binary" && i + 1 < argc) {
      g_binary = argv[++i];
    } else if (a == "--only" && i + 1 < argc) {
      std::stringstream ss(argv[++i]);
      for (std::string n; std::getline(ss, n, ',');) only.insert(n);
    } else {
      std::fprintf(stderr, "usage: %s [--binary PATH] [--only start100,start1000,one,crash,stop100,pss,restore,idle]\n", argv[0]);
      return 2;
    }
  }
  auto want = [&](const char* n) { return only.empty() || only.count(n) > 0; };
  std::printf("binary: %s\n", g_binary.c_str());
  if (want("start100")) BenchStart(100, "register 100 tasks -> all running");
  if (want("start1000")) BenchStart(1000, "register 1,000 tasks -> all running");
  if (want("one")) BenchOne();
  if (want("crash")) BenchCrash();
  if (want("stop100")) BenchStop();
  if (want("pss")) BenchPss();
  if (want("restore")) BenchRestore();
  if (want("idle")) BenchIdle();
  return 0;
}
