// End-to-end: the agent is killed (-9) while its tasks run and comes back
// to exactly the world it left.
//
// Each task is held by its own drover-executor, so a crashed agent leaves
// tasks and their logs running; the restarted agent restores every
// allocation before it serves the API. These tests check what a user sees:
// the same pids and no new "Started" event after a restart, logs written
// during the downtime, the true exit code of a task that ended meanwhile
// (and its restart policy applied from there), no re-run of a completed
// task, a lost executor handled as a lost task, and `--dev` stopping its
// tasks on SIGTERM where a normal agent leaves them running.
//
// Tasks are /bin/sh scripts that leave markers in ${NOMAD_ALLOC_DIR}; the
// tests read them from <data-dir>/alloc/<alloc-id>/alloc/. Tasks that must
// end while the agent is down wait for a "go" file the test creates once
// the agent is dead, so no timing decides whether they ended before or
// after the kill. Every wait polls with a generous timeout (the machine is
// shared). Whatever a test leaves running, the AgentProcess destructor
// kills.
#include <dirent.h>
#include <signal.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/agent_process.h"
#include "tests/support/json_assert.h"
#include "tests/support/http_client.h"

namespace drover::testing {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::int64_t kSecond = 1'000'000'000;  // Nomad durations are ns
constexpr auto kWait = 30s;                        // generous: the machine is shared

// ---- Job building ---------------------------------------------------------

struct TaskSpec {
  std::string name;
  std::string script;  // run by /bin/sh -c
};

struct JobSpec {
  std::string type = "service";
  std::vector<TaskSpec> tasks;
  int restart_attempts = 0;  // within a minute, mode "fail"
};

json::value JobRequest(std::string_view id, const JobSpec& spec) {
  json::array tasks;
  for (const TaskSpec& t : spec.tasks) {
    tasks.push_back(json::object{
        {"Name", t.name},
        {"Driver", "raw_exec"},
        {"Config",
         json::object{{"command", "/bin/sh"}, {"args", json::array{"-c", t.script}}}},
        {"KillTimeout", 2 * kSecond},
    });
  }
  json::object group{
      {"Name", "g"},
      {"Count", 1},
      {"RestartPolicy", json::object{{"Attempts", spec.restart_attempts},
                                     {"Interval", 60 * kSecond},
                                     {"Delay", kSecond / 10},
                                     {"Mode", "fail"}}},
      // No rescheduling: a failed allocation stays the one the test watches.
      {"ReschedulePolicy", json::object{{"Attempts", 0}, {"Unlimited", false}}},
      {"Tasks", std::move(tasks)},
  };
  return json::object{{"Job", json::object{{"ID", id},
                                           {"Name", id},
                                           {"Type", spec.type},
                                           {"Datacenters", json::array{"dc1"}},
                                           {"TaskGroups", json::array{group}}}}};
}

// Script fragments. $A is the shared alloc dir.
const std::string kPre = "A=\"$NOMAD_ALLOC_DIR\"; ";
// Publishes the shell's pid in $A/<name>.pid (atomically).
std::string WritePid(const std::string& name) {
  return "echo $$ > \"$A/" + name + ".pid.tmp\"; mv \"$A/" + name + ".pid.tmp\" \"$A/" + name +
         ".pid\"; ";
}
// Appends one line to $A/<name>.runs: one per run of the task.
std::string CountRun(const std::string& name) { return "echo run >> \"$A/" + name + ".runs\"; "; }
// Blocks until the test creates $A/go.
const std::string kAwaitGo = "while [ ! -e \"$A/go\" ]; do sleep 0.05; done; ";

// ---- JSON access ----------------------------------------------------------

std::string TaskPtr(std::string_view task, std::string_view field) {
  return "/TaskStates/" + std::string(task) + "/" + std::string(field);
}

std::string State(const json::value& alloc, std::string_view task) {
  return Str(alloc, TaskPtr(task, "State"));
}

const json::array& Events(const json::value& alloc, std::string_view task) {
  static const json::array kNone;
  const json::value& events = At(alloc, TaskPtr(task, "Events"));
  return events.is_array() ? events.get_array() : kNone;
}

std::vector<std::string> EventTypes(const json::value& alloc, std::string_view task) {
  std::vector<std::string> types;
  for (const auto& e : Events(alloc, task)) types.push_back(Str(e, "/Type"));
  return types;
}

int CountEvents(const json::value& alloc, std::string_view task, std::string_view type) {
  const auto types = EventTypes(alloc, task);
  return static_cast<int>(std::count(types.begin(), types.end(), type));
}

// The `nth` event of `type` of `task`, or null.
const json::value& Event(const json::value& alloc, std::string_view task, std::string_view type,
                         int nth = 0) {
  static const json::value kNull;
  for (const auto& e : Events(alloc, task)) {
    if (Str(e, "/Type") == type && nth-- == 0) return e;
  }
  return kNull;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return "[" + out + "]";
}

// ---- Files and processes ---------------------------------------------------

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<std::string> Lines(const fs::path& path) {
  std::vector<std::string> lines;
  std::istringstream in(ReadFile(path));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// True if `pid`'s environment holds exactly `var` ("NAME=value").
bool HasEnv(pid_t pid, std::string_view var) {
  const std::string environ = ReadFile("/proc/" + std::to_string(pid) + "/environ");
  for (std::size_t begin = 0; begin < environ.size();) {
    const std::size_t end = std::min(environ.find('\0', begin), environ.size());
    if (std::string_view(environ).substr(begin, end - begin) == var) return true;
    begin = end + 1;
  }
  return false;
}

// Live processes whose environment holds NOMAD_ALLOC_ID=<alloc_id>: the
// task processes of that allocation, wherever its data dir is.
std::vector<pid_t> ProcessesOfAlloc(const std::string& alloc_id) {
  const std::string marker = "NOMAD_ALLOC_ID=" + alloc_id;
  std::vector<pid_t> pids;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return pids;
  while (const dirent* d = ::readdir(dir)) {
    char* end = nullptr;
    const long pid = std::strtol(d->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    if (HasEnv(static_cast<pid_t>(pid), marker) && ProcessAlive(static_cast<pid_t>(pid))) {
      pids.push_back(static_cast<pid_t>(pid));
    }
  }
  ::closedir(dir);
  return pids;
}

// SIGKILLs, on the way out of a scope, processes that no agent's data dir
// finds: those of a `--dev` agent, whose data dir is its own.
class KillOnExit {
 public:
  KillOnExit() = default;
  KillOnExit(const KillOnExit&) = delete;
  KillOnExit& operator=(const KillOnExit&) = delete;
  ~KillOnExit() {
    for (pid_t pid : pids_) {
      if (ProcessAlive(pid)) ::kill(pid, SIGKILL);
    }
  }
  void Add(pid_t pid) { pids_.insert(pid); }

 private:
  std::set<pid_t> pids_;
};

// ---- Fixture --------------------------------------------------------------

class RestartSafetyE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto agent = AgentProcess::Launch();
    ASSERT_TRUE(agent.ok()) << agent.status().ToString();
    agent_ = std::move(agent).value();
  }

  void TearDown() override {
    if (HasFailure() && agent_) {
      std::cerr << "---- agent log tail ----\n" << agent_->LogTail(6000) << "\n";
    }
    agent_.reset();  // kills the agent and every task process
  }

  // A request that must answer 200 with JSON.
  static Result<json::value> Call(AgentProcess& agent, std::string_view method,
                                  std::string_view path, std::string_view body = {}) {
    HttpClient client = agent.Client();
    ASSIGN_OR_RETURN(HttpResponse r, client.Request(method, path, body));
    if (r.status != 200) {
      return Internal(std::string(method) + " " + std::string(path) + " -> " +
                      std::to_string(r.status) + " " + r.body.substr(0, 500));
    }
    return ParseJson(r.body);
  }

  Result<json::value> Get(std::string_view path) { return Call(*agent_, "GET", path); }

  // Registers the job and returns the id of its allocation.
  static Result<std::string> RegisterAndPlace(AgentProcess& agent, std::string_view id,
                                              const JobSpec& spec) {
    RETURN_IF_ERROR(
        Call(agent, "PUT", "/v1/jobs", json::serialize(JobRequest(id, spec))).status());
    std::string alloc_id;
    std::string last;
    WaitFor(
        [&] {
          auto allocs = Call(agent, "GET", "/v1/job/" + std::string(id) + "/allocations");
          last = allocs.ok() ? json::serialize(*allocs) : allocs.status().ToString();
          if (!allocs.ok() || !allocs->is_array() || allocs->get_array().empty()) return false;
          alloc_id = Str(allocs->get_array().front(), "/ID");
          return true;
        },
        kWait, 50ms);
    if (alloc_id.empty()) return Internal("job " + std::string(id) + " got no allocation: " + last);
    return alloc_id;
  }

  Result<std::string> RegisterAndPlace(std::string_view id, const JobSpec& spec) {
    return RegisterAndPlace(*agent_, id, spec);
  }

  struct Polled {
    bool met = false;
    json::value last;
  };

  // Polls the allocation until `done` holds for it.
  Polled PollAlloc(const std::string& alloc_id,
                   const std::function<bool(const json::value&)>& done,
                   std::chrono::milliseconds timeout = kWait) {
    Polled polled;
    polled.met = WaitFor(
        [&] {
          auto v = Get("/v1/allocation/" + alloc_id);
          polled.last = v.ok() ? *v : json::value(v.status().ToString());
          return v.ok() && done(*v);
        },
        timeout, 50ms);
    return polled;
  }

  fs::path AllocDir(const std::string& alloc_id) const {
    return agent_->data_dir() / "alloc" / alloc_id / "alloc";
  }

  // The live pid in $A/<name>.pid that is not `old_pid`; -1 if none shows.
  pid_t TaskPid(const std::string& alloc_id, const std::string& name, pid_t old_pid = 0) {
    const fs::path path = AllocDir(alloc_id) / (name + ".pid");
    pid_t pid = -1;
    WaitFor(
        [&] {
          pid_t read = -1;
          std::ifstream(path) >> read;
          if (read <= 0 || read == old_pid || !ProcessAlive(read)) return false;
          pid = read;
          return true;
        },
        kWait);
    return pid;
  }

  // Creates $A/go: tasks blocked in kAwaitGo go on.
  void Go(const std::string& alloc_id) { std::ofstream(AllocDir(alloc_id) / "go") << "go\n"; }

  std::unique_ptr<AgentProcess> agent_;
};

// ---- Reattach -------------------------------------------------------------

TEST_F(RestartSafetyE2ETest, KilledAgentReattachesToRunningTasksAndLogsKeepFlowing) {
  JobSpec spec;
  spec.tasks = {
      // Prints 0, 1, 2, ... every 50 ms: a gap or a restart shows in its log.
      {"counter", kPre + WritePid("counter") +
                      "i=0; while :; do echo \"$i\"; i=$((i+1)); sleep 0.05; done"},
      {"sleeper", kPre + WritePid("sleeper") + "exec sleep 300"},
  };
  spec.restart_attempts = 1;
  ASSERT_OK_AND_ASSIGN(const std::string alloc_id, RegisterAndPlace("reattach", spec));
  const pid_t counter = TaskPid(alloc_id, "counter");
  const pid_t sleeper = TaskPid(alloc_id, "sleeper");
  ASSERT_GT(counter, 0) << "counter never ran";
  ASSERT_GT(sleeper, 0) << "sleeper never ran";
  // Each task's parent is its executor.
  const pid_t counter_executor = ParentOf(counter);
  const pid_t sleeper_executor = ParentOf(sleeper);
  for (const pid_t executor : {counter_executor, sleeper_executor}) {
    EXPECT_NE(ReadFile("/proc/" + std::to_string(executor) + "/cmdline").find("drover-executor"),
              std::string::npos)
        << "the task's parent " << executor << " is not a drover-executor";
  }
  EXPECT_NE(counter_executor, sleeper_executor) << "one executor per task";

  const fs::path log = AllocDir(alloc_id) / "logs" / "counter.stdout.0";
  ASSERT_TRUE(WaitFor([&] { return Lines(log).size() >= 5; }, kWait)) << ReadFile(log);
  const Polled running = PollAlloc(alloc_id, [](const json::value& a) {
    return State(a, "counter") == "running" && State(a, "sleeper") == "running";
  });
  ASSERT_TRUE(running.met) << json::serialize(running.last);
  const json::value before = running.last;

  ASSERT_OK(agent_->Kill());
  const std::size_t lines_at_kill = Lines(log).size();
  std::this_thread::sleep_for(1500ms);  // the agent is down
  const std::size_t lines_while_down = Lines(log).size();
  // 30 lines in 1.5 s when idle; a loaded machine may manage fewer.
  EXPECT_GE(lines_while_down, lines_at_kill + 5)
      << "the log stopped growing while the agent was down";
  ASSERT_OK(agent_->Restart());

  // Reattached: the same processes, the same state, no new event.
  EXPECT_TRUE(ProcessAlive(counter)) << "the restarted agent replaced or stopped the task";
  EXPECT_TRUE(ProcessAlive(sleeper)) << "the restarted agent replaced or stopped the task";
  EXPECT_EQ(ParentOf(counter), counter_executor) << "the counter's executor changed";
  EXPECT_EQ(ParentOf(sleeper), sleeper_executor) << "the sleeper's executor changed";
  ASSERT_OK_AND_ASSIGN(const json::value after, Get("/v1/allocation/" + alloc_id));
  EXPECT_EQ(At(after, "/TaskStates"), At(before, "/TaskStates"))
      << "before: " << json::serialize(At(before, "/TaskStates"))
      << "\nafter: " << json::serialize(At(after, "/TaskStates"));
  for (const char* task : {"counter", "sleeper"}) {
    EXPECT_EQ(CountEvents(after, task, "Started"), 1) << task << ": " << Join(EventTypes(after, task));
    EXPECT_EQ(State(after, task), "running") << task;
  }
  EXPECT_EQ(Str(after, "/ClientStatus"), "running");

  // The log holds every line, written before, during and after the
  // downtime, once each and in order: 0, 1, 2, ...
  std::this_thread::sleep_for(300ms);
  const std::vector<std::string> lines = Lines(log);
  ASSERT_GT(lines.size(), lines_while_down);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    ASSERT_EQ(lines[i], std::to_string(i)) << "line " << i << " of " << log;
  }

  // The restored agent still watches both tasks: a death restarts the task.
  std::this_thread::sleep_for(1s);  // a task restored as running is still running
  ASSERT_OK_AND_ASSIGN(const json::value settled, Get("/v1/allocation/" + alloc_id));
  EXPECT_EQ(At(settled, "/TaskStates"), At(before, "/TaskStates"));
  ASSERT_EQ(::kill(sleeper, SIGKILL), 0);
  const Polled restarted = PollAlloc(alloc_id, [](const json::value& a) {
    return Int(a, TaskPtr("sleeper", "Restarts")) == 1;
  });
  EXPECT_TRUE(restarted.met) << json::serialize(restarted.last);
  EXPECT_EQ(Int(Event(restarted.last, "sleeper", "Terminated"), "/Signal"), SIGKILL)
      << Join(EventTypes(restarted.last, "sleeper"));
}

// ---- Exits during the downtime --------------------------------------------

// A task that ends while no agent watches shows its real exit code, and
// the restart policy applies from there: it restarts while attempts are
// left, and fails the task when none are.
TEST_F(RestartSafetyE2ETest, TaskThatExitedWhileAgentWasDownShowsItsExitCode) {
  // The first run waits for "go", then exits 7 a second later; later runs
  // stay up.
  const std::string script = kPre + CountRun("t") + WritePid("t") +
                             "if [ \"$(wc -l < \"$A/t.runs\")\" -gt 1 ]; then exec sleep 300; fi; " +
                             kAwaitGo + "sleep 1; exit 7";
  JobSpec restarts;
  restarts.tasks = {{"t", script}};
  restarts.restart_attempts = 1;
  JobSpec fails = restarts;
  fails.restart_attempts = 0;
  ASSERT_OK_AND_ASSIGN(const std::string restarting_id, RegisterAndPlace("restarts", restarts));
  ASSERT_OK_AND_ASSIGN(const std::string failing_id, RegisterAndPlace("fails", fails));
  const pid_t restarting_pid = TaskPid(restarting_id, "t");
  const pid_t failing_pid = TaskPid(failing_id, "t");
  ASSERT_GT(restarting_pid, 0);
  ASSERT_GT(failing_pid, 0);
  for (const auto& id : {restarting_id, failing_id}) {
    ASSERT_TRUE(PollAlloc(id, [](const json::value& a) { return State(a, "t") == "running"; }).met);
  }

  ASSERT_OK(agent_->Kill());
  Go(restarting_id);
  Go(failing_id);
  // Both exit about a second after "go"; the agent stays down for two.
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(restarting_pid) && !ProcessAlive(failing_pid); },
                      kWait));
  std::this_thread::sleep_for(2s);
  ASSERT_OK(agent_->Restart());

  {
    SCOPED_TRACE("attempts left: restarts");
    const Polled polled = PollAlloc(restarting_id, [](const json::value& a) {
      return Int(a, TaskPtr("t", "Restarts")) == 1 && State(a, "t") == "running";
    });
    ASSERT_TRUE(polled.met) << json::serialize(polled.last);
    const json::value& alloc = polled.last;
    EXPECT_EQ(EventTypes(alloc, "t"),
              (std::vector<std::string>{"Received", "Task Setup", "Started", "Terminated",
                                        "Restarting", "Started"}))
        << Join(EventTypes(alloc, "t"));
    const json::value& terminated = Event(alloc, "t", "Terminated");
    EXPECT_EQ(Int(terminated, "/ExitCode"), 7) << json::serialize(terminated);
    EXPECT_EQ(Int(terminated, "/Signal"), 0) << json::serialize(terminated);
    EXPECT_EQ(At(alloc, TaskPtr("t", "Failed")), json::value(false));
    EXPECT_EQ(Str(alloc, "/ClientStatus"), "running");
    EXPECT_GT(TaskPid(restarting_id, "t", restarting_pid), 0) << "no second run";
    EXPECT_EQ(Lines(AllocDir(restarting_id) / "t.runs").size(), 2u);
  }
  {
    SCOPED_TRACE("no attempts left: fails");
    const Polled polled = PollAlloc(failing_id, [](const json::value& a) {
      return State(a, "t") == "dead" && Str(a, "/ClientStatus") == "failed";
    });
    ASSERT_TRUE(polled.met) << json::serialize(polled.last);
    const json::value& alloc = polled.last;
    EXPECT_EQ(Int(Event(alloc, "t", "Terminated"), "/ExitCode"), 7)
        << json::serialize(Event(alloc, "t", "Terminated"));
    EXPECT_EQ(CountEvents(alloc, "t", "Not Restarting"), 1) << Join(EventTypes(alloc, "t"));
    EXPECT_EQ(CountEvents(alloc, "t", "Started"), 1) << Join(EventTypes(alloc, "t"));
    EXPECT_EQ(At(alloc, TaskPtr("t", "Failed")), json::value(true));
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(Lines(AllocDir(failing_id) / "t.runs").size(), 1u) << "a failed task ran again";
  }
}

// A batch task whose run is complete never runs again: neither one that
// completed before the crash nor one that completed during the downtime.
TEST_F(RestartSafetyE2ETest, CompletedBatchTaskIsNotRerun) {
  JobSpec before_crash;
  before_crash.type = "batch";
  before_crash.tasks = {{"t", kPre + CountRun("t") + "exit 0"}};
  JobSpec during_downtime = before_crash;
  during_downtime.tasks = {{"t", kPre + CountRun("t") + WritePid("t") + kAwaitGo + "exit 0"}};
  ASSERT_OK_AND_ASSIGN(const std::string done_id, RegisterAndPlace("done", before_crash));
  ASSERT_OK_AND_ASSIGN(const std::string later_id, RegisterAndPlace("later", during_downtime));
  const Polled done = PollAlloc(done_id, [](const json::value& a) {
    return Str(a, "/ClientStatus") == "complete" && State(a, "t") == "dead";
  });
  ASSERT_TRUE(done.met) << json::serialize(done.last);
  const pid_t later_pid = TaskPid(later_id, "t");
  ASSERT_GT(later_pid, 0);

  ASSERT_OK(agent_->Kill());
  Go(later_id);
  ASSERT_TRUE(WaitFor([&] { return !ProcessAlive(later_pid); }, kWait));
  std::this_thread::sleep_for(500ms);  // the executor records the exit and ends
  ASSERT_OK(agent_->Restart());

  const Polled later = PollAlloc(later_id, [](const json::value& a) {
    return Str(a, "/ClientStatus") == "complete" && State(a, "t") == "dead";
  });
  ASSERT_TRUE(later.met) << json::serialize(later.last);
  EXPECT_EQ(Int(Event(later.last, "t", "Terminated"), "/ExitCode"), 0)
      << Join(EventTypes(later.last, "t"));
  EXPECT_EQ(At(later.last, TaskPtr("t", "Failed")), json::value(false));
  EXPECT_EQ(CountEvents(later.last, "t", "Restarting"), 0) << Join(EventTypes(later.last, "t"));

  // Once more, now that both runs are recorded complete.
  ASSERT_OK(agent_->Kill());
  ASSERT_OK(agent_->Restart());
  std::this_thread::sleep_for(1500ms);  // room for a wrong re-run to show
  EXPECT_EQ(Lines(AllocDir(done_id) / "t.runs").size(), 1u) << "the completed task ran again";
  EXPECT_EQ(Lines(AllocDir(later_id) / "t.runs").size(), 1u) << "the completed task ran again";
  ASSERT_OK_AND_ASSIGN(const json::value done_after, Get("/v1/allocation/" + done_id));
  EXPECT_EQ(At(done_after, "/TaskStates"), At(done.last, "/TaskStates"));
  ASSERT_OK_AND_ASSIGN(const json::value later_after, Get("/v1/allocation/" + later_id));
  EXPECT_EQ(At(later_after, "/TaskStates"), At(later.last, "/TaskStates"));
}

// ---- A lost executor -------------------------------------------------------

// The executor was SIGKILLed while the agent was down: nothing recorded how
// the task ended. The restored agent reports the loss in an event, applies
// the restart policy, and leaves no orphan of the old run behind: the task
// never runs twice.
TEST_F(RestartSafetyE2ETest, ExecutorKilledWhileAgentWasDownIsHandledAsLost) {
  JobSpec spec;
  spec.tasks = {{"t", kPre + CountRun("t") + WritePid("t") + "exec sleep 300"}};
  spec.restart_attempts = 1;
  ASSERT_OK_AND_ASSIGN(const std::string alloc_id, RegisterAndPlace("lost", spec));
  const pid_t task = TaskPid(alloc_id, "t");
  ASSERT_GT(task, 0);
  ASSERT_TRUE(PollAlloc(alloc_id, [](const json::value& a) { return State(a, "t") == "running"; }).met);
  const pid_t executor = ParentOf(task);
  ASSERT_NE(ReadFile("/proc/" + std::to_string(executor) + "/cmdline").find("drover-executor"),
            std::string::npos);

  ASSERT_OK(agent_->Kill());
  ASSERT_EQ(::kill(executor, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] { return !ProcessAlive(executor); }, kWait));
  ASSERT_OK(agent_->Restart());

  const Polled polled = PollAlloc(alloc_id, [](const json::value& a) {
    return Int(a, TaskPtr("t", "Restarts")) == 1 && State(a, "t") == "running";
  });
  ASSERT_TRUE(polled.met) << json::serialize(polled.last);
  const json::value& alloc = polled.last;
  const std::vector<std::string> types = EventTypes(alloc, "t");
  EXPECT_EQ(types, (std::vector<std::string>{"Received", "Task Setup", "Started", "Terminated",
                                             "Restarting", "Started"}))
      << Join(types);
  const json::value& lost = Event(alloc, "t", "Terminated");
  EXPECT_NE(Str(lost, "/DisplayMessage").find("executor"), std::string::npos)
      << "the event does not say the executor was lost: " << json::serialize(lost);
  EXPECT_EQ(Str(alloc, "/ClientStatus"), "running");

  const pid_t second = TaskPid(alloc_id, "t", task);
  ASSERT_GT(second, 0) << "no second run";
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(task); }, 10s))
      << "the first run (pid " << task << ") still runs next to the second (pid " << second << ")";
  EXPECT_EQ(ProcessesOfAlloc(alloc_id), std::vector<pid_t>{second});
  EXPECT_EQ(Lines(AllocDir(alloc_id) / "t.runs").size(), 2u);
}

// ---- A node with a long history ---------------------------------------------

// Most allocations a busy node holds are finished. A restarted agent builds
// no runner for them (it picks the live ones from the list stubs), yet
// serves every one as before; the live allocation is reattached, a
// reschedule that was waiting when the agent died still happens, and the
// garbage collector still frees the finished allocations' directories.
TEST_F(RestartSafetyE2ETest, FinishedAllocsStayServedWhileLiveOnesReattachAfterAKill) {
  constexpr int kFinished = 30;
  JobSpec batch;
  batch.type = "batch";
  batch.tasks = {{"t", kPre + CountRun("t") + "exit 0"}};
  json::value finished_job = JobRequest("finished", batch);
  finished_job.at_pointer("/Job/TaskGroups/0/Count") = kFinished;
  ASSERT_OK(Call(*agent_, "PUT", "/v1/jobs", json::serialize(finished_job)).status());

  JobSpec live;
  live.tasks = {{"t", kPre + WritePid("t") + "exec sleep 300"}};
  ASSERT_OK_AND_ASSIGN(const std::string live_id, RegisterAndPlace("live", live));

  // Fails at once; its replacement is due 10 s later, long after the kill.
  JobSpec failing;
  failing.tasks = {{"t", kPre + CountRun("t") + "exit 1"}};
  json::value failing_job = JobRequest("resched", failing);
  failing_job.at_pointer("/Job/TaskGroups/0/ReschedulePolicy") =
      json::object{{"Attempts", 1},          {"Interval", 3600 * kSecond},
                   {"Delay", 10 * kSecond},  {"DelayFunction", "constant"},
                   {"Unlimited", false}};
  ASSERT_OK(Call(*agent_, "PUT", "/v1/jobs", json::serialize(failing_job)).status());

  // Every finished allocation as the agent served it before the kill.
  std::map<std::string, json::value> finished;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto allocs = Get("/v1/job/finished/allocations");
        if (!allocs.ok() || !allocs->is_array() || allocs->get_array().size() != kFinished) return false;
        for (const auto& stub : allocs->get_array()) {
          if (Str(stub, "/ClientStatus") != "complete") return false;
        }
        for (const auto& stub : allocs->get_array()) {
          auto full = Get("/v1/allocation/" + Str(stub, "/ID"));
          if (!full.ok()) return false;
          finished[Str(stub, "/ID")] = *full;
        }
        return true;
      },
      kWait, 100ms))
      << "the batch allocations did not all complete";
  const pid_t live_pid = TaskPid(live_id, "t");
  ASSERT_GT(live_pid, 0);
  ASSERT_TRUE(PollAlloc(live_id, [](const json::value& a) { return State(a, "t") == "running"; }).met);
  std::string failed_id, followup;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto allocs = Get("/v1/job/resched/allocations");
        if (!allocs.ok() || !allocs->is_array() || allocs->get_array().empty()) return false;
        failed_id = Str(allocs->get_array().front(), "/ID");
        auto full = Get("/v1/allocation/" + failed_id);
        if (!full.ok() || Str(*full, "/ClientStatus") != "failed") return false;
        followup = Str(*full, "/FollowupEvalID");
        return !followup.empty();
      },
      kWait, 50ms))
      << "the failing allocation got no follow-up evaluation";
  ASSERT_OK_AND_ASSIGN(const json::value before_kill, Get("/v1/job/resched/allocations"));
  ASSERT_EQ(before_kill.get_array().size(), 1u) << "replaced before the kill: the test shows nothing";

  ASSERT_OK(agent_->Kill());
  ASSERT_OK(agent_->Restart());

  // The live allocation: the same process, no new run.
  EXPECT_TRUE(ProcessAlive(live_pid)) << "the restarted agent replaced or stopped the live task";
  ASSERT_OK_AND_ASSIGN(const json::value live_after, Get("/v1/allocation/" + live_id));
  EXPECT_EQ(State(live_after, "t"), "running");
  EXPECT_EQ(CountEvents(live_after, "t", "Started"), 1) << Join(EventTypes(live_after, "t"));

  // Every finished allocation reads back exactly as before, none ran again,
  // and each still answers as a finished allocation does.
  ASSERT_OK_AND_ASSIGN(const json::value listed, Get("/v1/job/finished/allocations"));
  EXPECT_EQ(listed.get_array().size(), static_cast<std::size_t>(kFinished));
  for (const auto& [id, before] : finished) {
    ASSERT_OK_AND_ASSIGN(const json::value after, Get("/v1/allocation/" + id));
    EXPECT_EQ(after, before) << id;
    EXPECT_EQ(Str(after, "/Job/ID"), "finished") << id;
    EXPECT_EQ(Lines(AllocDir(id) / "t.runs").size(), 1u) << id << " ran again";
  }
  HttpClient client = agent_->Client();
  ASSERT_OK_AND_ASSIGN(const HttpResponse signal,
                       client.Request("POST", "/v1/client/allocation/" + finished.begin()->first +
                                                  "/signal",
                                      R"({"Task":"t","Signal":"SIGUSR1"})"));
  EXPECT_NE(signal.status, 200) << "a finished task took a signal: " << signal.body;

  // The reschedule that was pending when the agent died still happens.
  std::string replacement;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto allocs = Get("/v1/job/resched/allocations");
        if (!allocs.ok()) return false;
        for (const auto& stub : allocs->get_array()) {
          if (Str(stub, "/ID") != failed_id) replacement = Str(stub, "/ID");
        }
        return !replacement.empty();
      },
      kWait, 100ms))
      << "the pending reschedule was lost in the restart";
  ASSERT_OK_AND_ASSIGN(const json::value next, Get("/v1/allocation/" + replacement));
  EXPECT_EQ(Str(next, "/PreviousAllocation"), failed_id);

  // A full collection frees every finished directory and keeps the live one.
  ASSERT_OK_AND_ASSIGN(const HttpResponse gc, client.Request("GET", "/v1/client/gc"));
  EXPECT_EQ(gc.status, 200) << gc.body;
  for (const auto& [id, before] : finished) {
    EXPECT_FALSE(fs::exists(agent_->data_dir() / "alloc" / id)) << id << " was not collected";
  }
  EXPECT_TRUE(fs::exists(agent_->data_dir() / "alloc" / live_id));
  EXPECT_TRUE(ProcessAlive(live_pid));
  ASSERT_OK_AND_ASSIGN(const json::value all, Get("/v1/allocations"));
  EXPECT_EQ(all.get_array().size(), static_cast<std::size_t>(kFinished + 3));
}

// ---- SIGTERM: dev mode stops tasks, a normal agent does not ----------------

TEST_F(RestartSafetyE2ETest, SigtermStopsTasksOnlyInDevMode) {
  JobSpec spec;
  spec.tasks = {{"t", kPre + WritePid("t") + "exec sleep 300"}};

  // A normal agent leaves its task running, and finds it again.
  ASSERT_OK_AND_ASSIGN(const std::string alloc_id, RegisterAndPlace("kept", spec));
  const pid_t task = TaskPid(alloc_id, "t");
  ASSERT_GT(task, 0);
  ASSERT_TRUE(PollAlloc(alloc_id, [](const json::value& a) { return State(a, "t") == "running"; }).met);
  ASSERT_OK(agent_->Stop());
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(ProcessAlive(task)) << "SIGTERM of a normal agent stopped its task";
  ASSERT_OK(agent_->Restart());
  EXPECT_TRUE(ProcessAlive(task));
  ASSERT_OK_AND_ASSIGN(const json::value after, Get("/v1/allocation/" + alloc_id));
  EXPECT_EQ(State(after, "t"), "running");
  EXPECT_EQ(CountEvents(after, "t", "Started"), 1) << Join(EventTypes(after, "t"));

  // A dev agent (its data dir is its own) stops its task and executor.
  AgentOptions options;
  options.extra_args = {"--dev"};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<AgentProcess> dev, AgentProcess::Launch(options));
  ASSERT_OK_AND_ASSIGN(const std::string dev_alloc, RegisterAndPlace(*dev, "stopped", spec));
  KillOnExit leftovers;
  std::vector<pid_t> processes;
  ASSERT_TRUE(WaitFor(
      [&] {
        processes = ProcessesOfAlloc(dev_alloc);
        return processes.size() == 1;  // the shell has become `sleep`
      },
      kWait))
      << "the dev agent's task never ran alone: " << processes.size() << " processes";
  const pid_t dev_task = processes.front();
  const pid_t dev_executor = ParentOf(dev_task);
  leftovers.Add(dev_task);
  leftovers.Add(dev_executor);
  ASSERT_OK(dev->Stop());
  EXPECT_FALSE(ProcessAlive(dev_task)) << "the dev agent exited and left its task running";
  EXPECT_FALSE(ProcessAlive(dev_executor)) << "the dev agent exited and left its executor running";
}

}  // namespace
}  // namespace drover::testing
