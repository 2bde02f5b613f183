// Chaos: the agent is SIGKILLed at random moments during a burst of job
// registrations, job stops, allocation restarts and task exits, restarted,
// and checked, over and over.
//
// After every restart:
//   - every job whose registration was acknowledged (200) is there, and so
//     is its allocation; every acknowledged stop is there;
//   - no task runs twice: live processes are counted per allocation and
//     task (by the NOMAD_ALLOC_ID / NOMAD_TASK_NAME the agent puts in every
//     task's environment) and grouped by process group (one per run: the
//     executor starts each run in a group of its own); never more than one;
//   - none is lost: within a deadline, every allocation of a job that is
//     not stopped runs its task, and no allocation of a stopped job does;
//   - X-Nomad-Index values (of the job and allocation lists, and each job's
//     and allocation's ModifyIndex) never go down;
//   - every task's events are in time order.
//
// The CI form runs 50 kill cycles; DROVER_CHAOS_CYCLES=<n> runs more by
// hand. The randomness is seeded; the seed is printed, and
// DROVER_CHAOS_SEED=<seed> replays the same choices (thread timing still
// varies from run to run).
#include <dirent.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/agent_process.h"
#include "tests/support/json_assert.h"
#include "tests/support/http_client.h"

namespace drover::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::int64_t kSecond = 1'000'000'000;  // Nomad durations are ns
constexpr int kDefaultCycles = 50;
// The agent is killed this long (uniformly drawn) into each burst.
constexpr auto kMaxBurst = 300ms;
// Jobs registered and not stopped; past it, the burst stops jobs instead.
constexpr std::size_t kMaxLiveJobs = 40;
// After a restart, every allocation runs (or stops) its task within this.
constexpr auto kConvergeDeadline = 20s;

// ---- Helpers --------------------------------------------------------------

std::uint64_t EnvNumber(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

std::uint64_t IndexHeader(const HttpResponse& r) {
  const auto h = r.headers.Get("X-Nomad-Index");
  return h ? std::strtoull(std::string(*h).c_str(), nullptr, 10) : 0;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A service job of one task that sleeps until stopped; tiny resources, so
// that the node never runs out, and a restart policy that always restarts.
std::string JobBody(const std::string& id) {
  const json::object task{
      {"Name", "t"},
      {"Driver", "raw_exec"},
      {"Config", json::object{{"command", "/bin/sleep"}, {"args", json::array{"3600"}}}},
      {"Resources", json::object{{"CPU", 1}, {"MemoryMB", 10}}},
      {"KillTimeout", kSecond},
  };
  const json::object group{
      {"Name", "g"},
      {"Count", 1},
      {"RestartPolicy", json::object{{"Attempts", 10'000},
                                     {"Interval", 3600 * kSecond},
                                     {"Delay", kSecond / 20},
                                     {"Mode", "delay"}}},
      {"ReschedulePolicy", json::object{{"Attempts", 0}, {"Unlimited", false}}},
      {"Tasks", json::array{task}},
  };
  return json::serialize(json::object{{"Job", json::object{{"ID", id},
                                                           {"Name", id},
                                                           {"Type", "service"},
                                                           {"Datacenters", json::array{"dc1"}},
                                                           {"TaskGroups", json::array{group}}}}});
}

// ---- Task processes ---------------------------------------------------------

// "<alloc id>/<task>" -> the process groups (one per run) of its live
// processes, found by the NOMAD_ALLOC_ID and NOMAD_TASK_NAME in their
// environment.
using RunsByTask = std::map<std::string, std::set<pid_t>>;

RunsByTask ScanTaskProcesses() {
  static constexpr std::string_view kAlloc = "NOMAD_ALLOC_ID=";
  static constexpr std::string_view kTask = "NOMAD_TASK_NAME=";
  RunsByTask runs;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return runs;
  while (const dirent* d = ::readdir(dir)) {
    char* end = nullptr;
    const long pid = std::strtol(d->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    const std::string proc = std::string("/proc/") + d->d_name;
    const std::string environ = ReadFile(proc + "/environ");
    std::string_view alloc, task;
    for (std::size_t begin = 0; begin < environ.size();) {
      const std::size_t stop = std::min(environ.find('\0', begin), environ.size());
      const std::string_view var(environ.data() + begin, stop - begin);
      if (var.starts_with(kAlloc)) alloc = var.substr(kAlloc.size());
      if (var.starts_with(kTask)) task = var.substr(kTask.size());
      begin = stop + 1;
    }
    if (alloc.empty() || task.empty()) continue;
    // "<pid> (<comm>) <state> <ppid> <pgrp> ...": comm may hold spaces.
    const std::string stat = ReadFile(proc + "/stat");
    const auto paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream rest(stat.substr(paren + 1));
    char state = '?';
    pid_t ppid = 0, pgrp = 0;
    if (!(rest >> state >> ppid >> pgrp) || state == 'Z' || state == 'X') continue;
    runs[std::string(alloc) + "/" + std::string(task)].insert(pgrp);
  }
  ::closedir(dir);
  return runs;
}

// ---- What the API acknowledged ----------------------------------------------

// Shared by the burst thread (writes) and the checks (reads).
class Ledger {
 public:
  void Registered(const std::string& job) {
    std::lock_guard lock(mu_);
    registered_.insert(job);
  }
  void Stopped(const std::string& job) {
    std::lock_guard lock(mu_);
    stopped_.insert(job);
  }
  std::set<std::string> registered() const {
    std::lock_guard lock(mu_);
    return registered_;
  }
  std::set<std::string> stopped() const {
    std::lock_guard lock(mu_);
    return stopped_;
  }
  std::size_t live() const {
    std::lock_guard lock(mu_);
    return registered_.size() - stopped_.size();
  }

 private:
  mutable std::mutex mu_;
  std::set<std::string> registered_;  // PUT /v1/jobs answered 200
  std::set<std::string> stopped_;     // DELETE /v1/job/:id answered 200
};

// Index high-water marks: every value observed for a key must be at least
// the highest observed for it before, across restarts.
class IndexWatch {
 public:
  // An empty string, or what went wrong.
  std::string Observe(const std::string& key, std::uint64_t index) {
    std::lock_guard lock(mu_);
    std::uint64_t& high = high_[key];
    if (index < high) {
      return key + " went down from " + std::to_string(high) + " to " + std::to_string(index);
    }
    high = index;
    return "";
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::uint64_t> high_;
};

struct BurstCounts {
  int registered = 0, stopped = 0, restarts = 0, task_kills = 0, failed_requests = 0;
};

// ---- The test ---------------------------------------------------------------

class ChaosE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    AgentOptions options;
    options.log_level = "info";
    auto agent = AgentProcess::Launch(std::move(options));
    ASSERT_TRUE(agent.ok()) << agent.status().ToString();
    agent_ = std::move(agent).value();
  }

  void TearDown() override {
    if (HasFailure() && agent_) {
      std::cerr << "---- agent log tail ----\n" << agent_->LogTail(8000) << "\n";
    }
    agent_.reset();  // kills the agent and every task process
  }

  // One burst of API calls and task kills, until `stop` is set. Requests
  // that fail (the agent died under them) are not acknowledged: whether
  // they took effect is for the checks to accept either way.
  void Burst(std::uint64_t seed, const std::vector<std::string>& allocs,
             const std::atomic<bool>& stop, BurstCounts& counts) {
    std::mt19937_64 rng(seed);
    HttpClient client = agent_->Client(2s);
    auto pick = [&](const auto& items) {
      return items[std::uniform_int_distribution<std::size_t>(0, items.size() - 1)(rng)];
    };
    while (!stop) {
      const int roll = std::uniform_int_distribution<int>(0, 99)(rng);
      if (roll < 40 || allocs.empty()) {
        if (ledger_.live() >= kMaxLiveJobs) {
          StopSomeJob(client, rng, counts);
        } else {
          const std::string id = "chaos-" + std::to_string(next_job_++);
          auto r = client.Put("/v1/jobs", JobBody(id));
          if (r.ok() && r->status == 200) {
            ledger_.Registered(id);
            NoteViolation(indexes_.Observe("job " + id, JobModifyIndex(r->body)));
            ++counts.registered;
          } else {
            ++counts.failed_requests;
          }
        }
      } else if (roll < 65) {
        auto r = client.Request("POST", "/v1/client/allocation/" + pick(allocs) + "/restart", "{}");
        if (r.ok()) ++counts.restarts;
        else ++counts.failed_requests;
      } else if (roll < 90) {
        const RunsByTask runs = ScanTaskProcesses();
        auto it = runs.find(pick(allocs) + "/t");
        if (it != runs.end() && !it->second.empty()) {
          ::kill(-*it->second.begin(), SIGKILL);  // the task's whole run
          ++counts.task_kills;
        }
      } else {
        StopSomeJob(client, rng, counts);
      }
      std::this_thread::sleep_for(
          std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 15)(rng)));
    }
  }

  void StopSomeJob(HttpClient& client, std::mt19937_64& rng, BurstCounts& counts) {
    const std::set<std::string> registered = ledger_.registered();
    const std::set<std::string> stopped = ledger_.stopped();
    std::vector<std::string> candidates;
    std::set_difference(registered.begin(), registered.end(), stopped.begin(), stopped.end(),
                        std::back_inserter(candidates));
    if (candidates.empty()) return;
    const std::string& id =
        candidates[std::uniform_int_distribution<std::size_t>(0, candidates.size() - 1)(rng)];
    auto r = client.Delete("/v1/job/" + id);
    if (r.ok() && r->status == 200) {
      ledger_.Stopped(id);
      ++counts.stopped;
    } else {
      ++counts.failed_requests;
    }
  }

  static std::uint64_t JobModifyIndex(const std::string& body) {
    auto v = ParseJson(body);
    return v.ok() ? static_cast<std::uint64_t>(std::max<std::int64_t>(0, Int(*v, "/JobModifyIndex")))
                  : 0;
  }

  void NoteViolation(const std::string& what) {
    if (what.empty()) return;
    std::lock_guard lock(violations_mu_);
    violations_.insert(what);
  }

  bool HasViolations() {
    std::lock_guard lock(violations_mu_);
    return !violations_.empty();
  }

  std::set<std::string> TakeViolations() {
    std::lock_guard lock(violations_mu_);
    return std::exchange(violations_, {});
  }

  // GET `path`, which must answer 200 with JSON; its index is watched.
  Result<json::value> Get(HttpClient& client, const std::string& path) {
    ASSIGN_OR_RETURN(HttpResponse r, client.Get(path));
    if (r.status != 200) {
      return Internal("GET " + path + " -> " + std::to_string(r.status) + " " + r.body.substr(0, 300));
    }
    NoteViolation(indexes_.Observe("X-Nomad-Index of GET " + path, IndexHeader(r)));
    return ParseJson(r.body);
  }

  // Allocation ids of jobs that are not stopped, for the next burst.
  std::vector<std::string> LiveAllocs() {
    HttpClient client = agent_->Client();
    auto list = Get(client, "/v1/allocations");
    std::vector<std::string> ids;
    if (!list.ok() || !list->is_array()) return ids;
    for (const auto& a : list->get_array()) {
      if (Str(a, "/DesiredStatus") == "run") ids.push_back(Str(a, "/ID"));
    }
    return ids;
  }

  // One look at the agent and the processes. Returns the problems that must
  // go away on their own (a task not yet restarted); hard violations (a
  // lost acknowledged write, a task running twice, an index going down,
  // events out of order) go to NoteViolation.
  std::vector<std::string> Inspect() {
    std::vector<std::string> pending;
    HttpClient client = agent_->Client();
    auto jobs = Get(client, "/v1/jobs");
    auto allocs = Get(client, "/v1/allocations");
    const RunsByTask runs = ScanTaskProcesses();
    if (!jobs.ok() || !allocs.ok() || !jobs->is_array() || !allocs->is_array()) {
      pending.push_back("the job or allocation list did not answer: " +
                        (jobs.ok() ? allocs.status() : jobs.status()).ToString());
      return pending;
    }

    std::map<std::string, const json::value*> job_by_id;
    for (const auto& j : jobs->get_array()) {
      const std::string id = Str(j, "/ID");
      job_by_id[id] = &j;
      NoteViolation(indexes_.Observe("job " + id, static_cast<std::uint64_t>(Int(j, "/JobModifyIndex"))));
      NoteViolation(indexes_.Observe("job " + id + " ModifyIndex", static_cast<std::uint64_t>(Int(j, "/ModifyIndex"))));
    }
    for (const std::string& id : ledger_.registered()) {
      if (!job_by_id.count(id)) NoteViolation("acknowledged job " + id + " is gone");
    }
    for (const std::string& id : ledger_.stopped()) {
      auto it = job_by_id.find(id);
      if (it != job_by_id.end() && At(*it->second, "/Stop") != json::value(true)) {
        NoteViolation("acknowledged stop of job " + id + " is gone");
      }
    }

    std::map<std::string, int> running_allocs;  // job -> allocations that should run
    for (const auto& a : allocs->get_array()) {
      const std::string id = Str(a, "/ID");
      const std::string job = Str(a, "/JobID");
      NoteViolation(indexes_.Observe("alloc " + id + " ModifyIndex",
                                     static_cast<std::uint64_t>(Int(a, "/ModifyIndex"))));
      CheckEventOrder(a);

      const auto found = runs.find(id + "/t");
      const std::size_t live_runs = found == runs.end() ? 0 : found->second.size();
      if (live_runs > 1) {
        std::string groups;
        for (pid_t g : found->second) groups += " " + std::to_string(g);
        NoteViolation("task t of alloc " + id + " (job " + job + ") runs " +
                      std::to_string(live_runs) + " times: process groups" + groups);
      }
      const auto j = job_by_id.find(job);
      const bool job_stopped = j == job_by_id.end() || At(*j->second, "/Stop") == json::value(true);
      if (Str(a, "/DesiredStatus") == "run" && !job_stopped) {
        ++running_allocs[job];
        if (live_runs != 1 || Str(a, "/TaskStates/t/State") != "running") {
          pending.push_back("alloc " + id + " of job " + job + ": task " +
                            Str(a, "/TaskStates/t/State") + ", " + std::to_string(live_runs) +
                            " live runs");
        }
      } else if (live_runs != 0) {
        pending.push_back("alloc " + id + " of stopped job " + job + " still runs its task");
      }
    }
    for (const auto& [id, j] : job_by_id) {
      if (At(*j, "/Stop") != json::value(true) && running_allocs[id] != 1) {
        pending.push_back("job " + id + " has " + std::to_string(running_allocs[id]) +
                          " allocations to run, not 1");
      }
    }
    return pending;
  }

  // Events of each task of `alloc` (a list stub with task states) are in
  // time order.
  void CheckEventOrder(const json::value& alloc) {
    const json::value& states = At(alloc, "/TaskStates");
    if (!states.is_object()) return;
    for (const auto& [task, state] : states.get_object()) {
      const json::value& events = At(state, "/Events");
      if (!events.is_array()) continue;
      std::int64_t last = 0;
      for (const auto& e : events.get_array()) {
        const std::int64_t t = Int(e, "/Time");
        if (t < last) {
          NoteViolation("events of task " + std::string(task) + " of alloc " + Str(alloc, "/ID") +
                        " are out of time order: " + json::serialize(events));
          break;
        }
        last = t;
      }
    }
  }

  // Inspects until nothing is pending (or a violation is found); the
  // problems left at the deadline.
  std::vector<std::string> AwaitConverged() {
    const auto deadline = Clock::now() + kConvergeDeadline;
    for (;;) {
      std::vector<std::string> pending = Inspect();
      if (HasViolations()) return {};
      if (pending.empty() || Clock::now() >= deadline) return pending;
      std::this_thread::sleep_for(50ms);
    }
  }

  std::unique_ptr<AgentProcess> agent_;
  Ledger ledger_;
  IndexWatch indexes_;
  std::mutex violations_mu_;
  std::set<std::string> violations_;  // each reported once
  int next_job_ = 0;  // touched by the burst thread only, one burst at a time
};

TEST_F(ChaosE2ETest, AgentSurvivesRepeatedSigkillDuringABurstOfChanges) {
  const auto cycles = static_cast<int>(EnvNumber("DROVER_CHAOS_CYCLES", kDefaultCycles));
  const std::uint64_t seed = EnvNumber("DROVER_CHAOS_SEED", std::random_device{}());
  std::cout << "chaos: seed " << seed << " (DROVER_CHAOS_SEED=" << seed << " replays it), "
            << cycles << " kill cycles" << std::endl;
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 rng(seed);

  const auto started = Clock::now();
  BurstCounts counts;
  for (int cycle = 1; cycle <= cycles; ++cycle) {
    SCOPED_TRACE("cycle " + std::to_string(cycle) + " of seed " + std::to_string(seed));
    const std::vector<std::string> allocs = LiveAllocs();
    const std::uint64_t burst_seed = rng();
    const auto kill_after = std::chrono::milliseconds(
        std::uniform_int_distribution<int>(0, static_cast<int>(kMaxBurst.count()))(rng));

    std::atomic<bool> stop{false};
    std::thread burst([&] { Burst(burst_seed, allocs, stop, counts); });
    std::this_thread::sleep_for(kill_after);
    const Status killed = agent_->Kill();
    stop = true;
    burst.join();
    ASSERT_TRUE(killed.ok()) << killed.ToString();
    const Status restarted = agent_->Restart();
    ASSERT_TRUE(restarted.ok()) << restarted.ToString();

    const std::vector<std::string> pending = AwaitConverged();
    const std::set<std::string> violations = TakeViolations();
    for (const auto& v : violations) ADD_FAILURE() << v;
    for (const auto& p : pending) {
      ADD_FAILURE() << "not settled " << kConvergeDeadline.count() << " s after the restart: " << p;
    }
    if (!violations.empty() || !pending.empty()) return;
  }

  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  std::cout << "chaos: " << cycles << " cycles in " << seconds << " s: " << counts.registered
            << " jobs registered, " << counts.stopped << " stopped, " << counts.restarts
            << " alloc restarts, " << counts.task_kills << " task kills, "
            << counts.failed_requests << " requests cut off by a kill; "
            << ledger_.registered().size() << " jobs, " << ledger_.live() << " live" << std::endl;
  // Every acknowledged job, one final time, after a clean stop and start.
  ASSERT_TRUE(agent_->Restart().ok());
  EXPECT_TRUE(AwaitConverged().empty());
  for (const auto& v : TakeViolations()) ADD_FAILURE() << v;
}

}  // namespace
}  // namespace drover::testing
