// Restart-safety figures of a real `drover agent`:
//   1. memory: RSS (VmRSS) of the executors holding kRssTasks `sleep`
//      tasks (min/avg/max, plus their private anonymous memory), and the
//      agent's;
//   2. restore: with kAllocs running allocations, the agent is SIGKILLed
//      and started again; the time from its start to the first 200 from
//      GET /v1/agent/self (the agent restores every allocation before it
//      serves), against the same for an agent with nothing to restore:
//        a. every executor alive: all reattached;
//        b. every executor and task killed while the agent was down: all
//           handled as lost (an event each, the restart policy scheduled).
// "Ready" is observed by polling every 25 ms (AgentProcess), so times are
// accurate to about that. The agent and all its task processes are killed
// on the way out, whatever happened.
#include <signal.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/agent_process.h"
#include "tests/support/http_client.h"

namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using drover::Status;
using drover::testing::AgentOptions;
using drover::testing::AgentProcess;
using drover::testing::HttpClient;
using drover::testing::ParseJson;
using drover::testing::ProcessesUsing;
using drover::testing::WaitFor;
using Clock = std::chrono::steady_clock;

constexpr int kRssTasks = 20;
constexpr int kAllocs = 1000;
constexpr int kAllocsPerJob = 100;  // kAllocs / kAllocsPerJob jobs
constexpr int kRestoreSamples = 3;
constexpr auto kPlacementBudget = 300s;
constexpr std::int64_t kSecond = 1'000'000'000;

double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// A service job of `count` allocations of one `sleep` task, each asking
// for little so that a thousand fit on a small node. A task that dies is
// restarted only after a minute: long after any measurement here.
std::string JobBody(const std::string& id, int count) {
  const json::object task{
      {"Name", "t"},
      {"Driver", "raw_exec"},
      {"Config", json::object{{"command", "/bin/sleep"}, {"args", json::array{"3600"}}}},
      {"Resources", json::object{{"CPU", 1}, {"MemoryMB", 10}}},
  };
  const json::object group{
      {"Name", "g"},
      {"Count", count},
      {"RestartPolicy", json::object{{"Attempts", 2},
                                     {"Interval", 600 * kSecond},
                                     {"Delay", 60 * kSecond},
                                     {"Mode", "fail"}}},
      {"Tasks", json::array{task}},
  };
  return json::serialize(json::object{{"Job", json::object{{"ID", id},
                                                           {"Name", id},
                                                           {"Type", "service"},
                                                           {"Datacenters", json::array{"dc1"}},
                                                           {"TaskGroups", json::array{group}}}}});
}

bool Register(AgentProcess& agent, const std::string& id, int count) {
  HttpClient client = agent.Client(60s);
  auto r = client.Put("/v1/jobs", JobBody(id, count));
  if (r.ok() && r->status == 200) return true;
  std::fprintf(stderr, "register %s: %s\n", id.c_str(),
               r.ok() ? (std::to_string(r->status) + " " + r->body.substr(0, 300)).c_str()
                      : r.status().ToString().c_str());
  return false;
}

// How many allocations report ClientStatus "running"; -1 on error.
int RunningAllocs(AgentProcess& agent) {
  HttpClient client = agent.Client(60s);
  auto r = client.Get("/v1/allocations?task_states=false");
  if (!r.ok() || r->status != 200) return -1;
  auto list = ParseJson(r->body);
  if (!list.ok() || !list->is_array()) return -1;
  return static_cast<int>(std::count_if(
      list->get_array().begin(), list->get_array().end(),
      [](const json::value& a) { return a.at("ClientStatus") == "running"; }));
}

bool AwaitRunning(AgentProcess& agent, int n) {
  int last = 0;
  const bool ok = WaitFor(
      [&] {
        last = RunningAllocs(agent);
        return last >= n;
      },
      kPlacementBudget, 250ms);
  if (!ok) std::fprintf(stderr, "only %d of %d allocations running\n", last, n);
  return ok;
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// VmRSS or RssAnon (`field`) of `pid` in KiB; -1 if unknown.
long StatusKiB(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
  }
  return -1;
}

// The agent's executors: processes using its data dir whose program is
// drover-executor.
std::vector<pid_t> Executors(const AgentProcess& agent) {
  std::vector<pid_t> out;
  for (pid_t pid : ProcessesUsing(agent.data_dir())) {
    const std::string cmdline = ReadWholeFile("/proc/" + std::to_string(pid) + "/cmdline");
    const std::string argv0 = cmdline.substr(0, cmdline.find('\0'));
    if (argv0.size() >= 15 && argv0.compare(argv0.size() - 15, 15, "drover-executor") == 0) {
      out.push_back(pid);
    }
  }
  return out;
}

void PrintStats(const char* what, std::vector<long> kib) {
  std::erase(kib, -1);
  if (kib.empty()) {
    std::printf("%-34s no samples\n", what);
    return;
  }
  std::sort(kib.begin(), kib.end());
  const double avg = static_cast<double>(std::accumulate(kib.begin(), kib.end(), 0L)) /
                     static_cast<double>(kib.size());
  std::printf("%-34s n=%-5zu min=%6ld KiB  avg=%8.1f KiB  max=%6ld KiB\n", what, kib.size(),
              kib.front(), avg, kib.back());
}

void ReportRss(const AgentProcess& agent, const std::string& when) {
  std::vector<long> rss, anon;
  for (pid_t pid : Executors(agent)) {
    rss.push_back(StatusKiB(pid, "VmRSS"));
    anon.push_back(StatusKiB(pid, "RssAnon"));
  }
  std::printf("-- %s\n", when.c_str());
  PrintStats("executor VmRSS", rss);
  PrintStats("executor RssAnon (private)", anon);
  std::printf("%-34s %ld KiB (RssAnon %ld KiB)\n", "agent VmRSS", StatusKiB(agent.pid(), "VmRSS"),
              StatusKiB(agent.pid(), "RssAnon"));
}

// SIGKILL, then `between` (the agent is down), then start and time until
// ready. Negative on failure.
double TimedCrashRestart(AgentProcess& agent, const std::function<void()>& between = [] {}) {
  if (Status st = agent.Kill(); !st.ok()) {
    std::fprintf(stderr, "kill: %s\n", st.ToString().c_str());
    return -1;
  }
  between();
  const auto start = Clock::now();
  if (Status st = agent.Restart(); !st.ok()) {
    std::fprintf(stderr, "restart: %s\n", st.ToString().c_str());
    return -1;
  }
  return Millis(Clock::now() - start);
}

void PrintTimes(const char* what, const std::vector<double>& ms) {
  if (ms.empty()) return;
  std::printf("%-44s", what);
  for (double m : ms) std::printf(" %8.1f ms", m);
  std::printf("   (min %.1f ms)\n", *std::min_element(ms.begin(), ms.end()));
}

// Kills every executor and task of the agent (which is down).
void KillAllTasks(const AgentProcess& agent) {
  for (int round = 0; round < 100; ++round) {
    const auto left = ProcessesUsing(agent.data_dir());
    if (left.empty()) return;
    for (pid_t pid : left) ::kill(pid, SIGKILL);
    std::this_thread::sleep_for(20ms);
  }
}

}  // namespace

int main() {
  AgentOptions options;
  options.log_level = "warn";
  options.ready_timeout = 120s;
  auto launched = AgentProcess::Launch(std::move(options));
  if (!launched.ok()) {
    std::fprintf(stderr, "drover agent: %s\n", launched.status().ToString().c_str());
    return 1;
  }
  AgentProcess& agent = **launched;
  std::printf("drover agent pid %d on 127.0.0.1:%u\n", agent.pid(), agent.port());

  // Baseline: an agent with nothing to restore.
  std::vector<double> empty;
  for (int i = 0; i < kRestoreSamples; ++i) empty.push_back(TimedCrashRestart(agent));

  // 1. Memory with kRssTasks tasks.
  if (!Register(agent, "rss", kRssTasks) || !AwaitRunning(agent, kRssTasks)) return 1;
  std::this_thread::sleep_for(1s);  // settled
  ReportRss(agent, std::to_string(kRssTasks) + " sleep tasks");

  // 2. Restore of kAllocs allocations.
  const auto placing = Clock::now();
  for (int placed = kRssTasks, job = 0; placed < kAllocs; placed += kAllocsPerJob, ++job) {
    if (!Register(agent, "restore-" + std::to_string(job), std::min(kAllocsPerJob, kAllocs - placed)))
      return 1;
  }
  if (!AwaitRunning(agent, kAllocs)) return 1;
  std::printf("-- %d allocations running (placed in %.1f s)\n", kAllocs,
              Millis(Clock::now() - placing) / 1000);
  ReportRss(agent, std::to_string(kAllocs) + " sleep tasks");

  std::vector<double> adopted;
  for (int i = 0; i < kRestoreSamples; ++i) adopted.push_back(TimedCrashRestart(agent));
  const int still_running = RunningAllocs(agent);
  std::printf("%-34s %ld KiB after restoring %d allocations\n", "agent VmRSS",
              StatusKiB(agent.pid(), "VmRSS"), kAllocs);

  std::vector<double> lost{TimedCrashRestart(agent, [&] { KillAllTasks(agent); })};

  std::printf("-- agent start to ready (GET /v1/agent/self 200), after SIGKILL\n");
  PrintTimes("nothing to restore", empty);
  PrintTimes((std::to_string(kAllocs) + " allocations, executors reattached").c_str(), adopted);
  PrintTimes((std::to_string(kAllocs) + " allocations, executors lost").c_str(), lost);
  std::printf("%d of %d allocations still running after the reattaching restarts\n", still_running,
              kAllocs);
  // The destructor kills the agent and every task process.
  return still_running == kAllocs ? 0 : 1;
}
