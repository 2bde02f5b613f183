// End-to-end: the task lifecycle with the real `drover agent` and real
// processes.
//
// Tasks are /bin/sh scripts that leave markers (pids, `date +%s%N`
// timestamps, lines) in ${NOMAD_ALLOC_DIR} or ${NOMAD_TASK_DIR}; the tests
// read them from <data-dir>/alloc/<alloc-id>/alloc/... (or
// .../<task>/local/...) and compare them with what the HTTP API reports.
// Nothing here asserts on durations: only on order. Every wait polls with a
// generous timeout, because the machine is shared. Whatever a test leaves
// running, the AgentProcess destructor kills.
#include <signal.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <optional>
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
  TaskSpec(std::string name, std::string script, std::string hook = "", bool sidecar = false,
           bool leader = false)
      : name(std::move(name)),
        script(std::move(script)),
        hook(std::move(hook)),
        sidecar(sidecar),
        leader(leader) {}
  std::string name;
  std::string script;  // run by /bin/sh -c
  std::string hook;    // "", "prestart", "poststart", "poststop"
  bool sidecar;
  bool leader;
};

struct GroupSpec {
  std::string type = "service";
  std::vector<TaskSpec> tasks;
  int restart_attempts = 0;  // with Mode "fail"
  // Default: no rescheduling, so a failed allocation stays the one we watch.
  json::object reschedule{{"Attempts", 0}, {"Unlimited", false}};
};

json::value JobRequest(std::string_view id, const GroupSpec& spec) {
  json::array tasks;
  for (const TaskSpec& t : spec.tasks) {
    json::object task{
        {"Name", t.name},
        {"Driver", "raw_exec"},
        {"Config",
         json::object{{"command", "/bin/sh"}, {"args", json::array{"-c", t.script}}}},
        // Short, so that stopping a task that ignores SIGINT stays quick.
        {"KillTimeout", 2 * kSecond},
    };
    if (!t.hook.empty()) {
      task["Lifecycle"] = json::object{{"Hook", t.hook}, {"Sidecar", t.sidecar}};
    }
    if (t.leader) task["Leader"] = true;
    tasks.push_back(std::move(task));
  }
  json::object group{
      {"Name", "g"},
      {"Count", 1},
      {"RestartPolicy", json::object{{"Attempts", spec.restart_attempts},
                                     {"Interval", 60 * kSecond},
                                     {"Delay", kSecond / 10},
                                     {"Mode", "fail"}}},
      {"ReschedulePolicy", spec.reschedule},
      {"Tasks", std::move(tasks)},
  };
  return json::object{{"Job", json::object{{"ID", id},
                                           {"Name", id},
                                           {"Type", spec.type},
                                           {"Datacenters", json::array{"dc1"}},
                                           {"TaskGroups", json::array{group}}}}};
}

// Script fragments. $A is the shared alloc dir, $L the task's local dir.
const std::string kPre = "A=\"$NOMAD_ALLOC_DIR\"; L=\"$NOMAD_TASK_DIR\"; ";
// Writes the shell's pid to $A/<name>.pid, then sleeps under the same pid.
std::string PidThenSleep(const std::string& name) {
  return kPre + "echo $$ > \"$A/" + name + ".pid.tmp\"; mv \"$A/" + name + ".pid.tmp\" \"$A/" +
         name + ".pid\"; exec sleep 300";
}
// Appends a `date +%s%N` line to $A/<file>.
std::string Stamp(const std::string& file) {
  return "date +%s%N >> \"$A/" + file + "\"; ";
}

// ---- JSON access ----------------------------------------------------------

std::string TaskPtr(std::string_view task, std::string_view field) {
  return "/TaskStates/" + std::string(task) + "/" + std::string(field);
}

std::string State(const json::value& alloc, std::string_view task) {
  return Str(alloc, TaskPtr(task, "State"));
}

std::vector<std::string> EventTypes(const json::value& alloc, std::string_view task) {
  std::vector<std::string> types;
  const json::value& events = At(alloc, TaskPtr(task, "Events"));
  if (!events.is_array()) return types;
  for (const auto& e : events.get_array()) types.push_back(Str(e, "/Type"));
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
  const json::value& events = At(alloc, TaskPtr(task, "Events"));
  if (!events.is_array()) return kNull;
  for (const auto& e : events.get_array()) {
    if (Str(e, "/Type") == type && nth-- == 0) return e;
  }
  return kNull;
}

// The first event of `task` whose RestartReason is `reason`, or null. Nomad
// types a user restart "Restart Signaled"; newer versions type the running
// and all-tasks variants "Restart Running Signaled" / "Restart All
// Signaled", so the reason is what identifies the request.
const json::value& RestartEvent(const json::value& alloc, std::string_view task,
                                std::string_view reason) {
  static const json::value kNull;
  const json::value& events = At(alloc, TaskPtr(task, "Events"));
  if (!events.is_array()) return kNull;
  for (const auto& e : events.get_array()) {
    if (Str(e, "/RestartReason") == reason) return e;
  }
  return kNull;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return "[" + out + "]";
}

std::string Describe(std::string_view method, std::string_view path, const HttpResponse& r) {
  return std::string(method) + " " + std::string(path) + " -> " + std::to_string(r.status) +
         " " + r.body.substr(0, 500);
}

// ---- Files ----------------------------------------------------------------

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

std::vector<std::int64_t> Stamps(const fs::path& path) {
  std::vector<std::int64_t> out;
  for (const auto& l : Lines(path)) out.push_back(std::strtoll(l.c_str(), nullptr, 10));
  return out;
}

// ---- Fixture --------------------------------------------------------------

class LifecycleE2ETest : public ::testing::Test {
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

  HttpResponse Send(std::string_view method, std::string_view path, std::string_view body = {}) {
    HttpClient client = agent_->Client();
    auto r = client.Request(method, path, body);
    EXPECT_TRUE(r.ok()) << method << " " << path << ": " << r.status().ToString();
    return r.ok() ? *r : HttpResponse{};
  }

  // A request that must answer 200 with JSON.
  Result<json::value> Call(std::string_view method, std::string_view path,
                           std::string_view body = {}) {
    HttpClient client = agent_->Client();
    ASSIGN_OR_RETURN(HttpResponse r, client.Request(method, path, body));
    if (r.status != 200) return Internal(Describe(method, path, r));
    return ParseJson(r.body);
  }

  Result<json::value> Get(std::string_view path) { return Call("GET", path); }

  Result<json::value> Register(std::string_view id, const GroupSpec& spec) {
    return Call("PUT", "/v1/jobs", json::serialize(JobRequest(id, spec)));
  }

  struct Polled {
    bool met = false;
    json::value last;
  };

  Polled PollUntil(const std::string& path, const std::function<bool(const json::value&)>& done,
                   std::chrono::milliseconds timeout = kWait) {
    Polled polled;
    polled.met = WaitFor(
        [&] {
          auto v = Get(path);
          polled.last = v.ok() ? *v : json::value(v.status().ToString());
          return v.ok() && done(*v);
        },
        timeout, 50ms);
    return polled;
  }

  Polled PollAlloc(const std::string& alloc_id,
                   const std::function<bool(const json::value&)>& done,
                   std::chrono::milliseconds timeout = kWait) {
    return PollUntil("/v1/allocation/" + alloc_id, done, timeout);
  }

  // Allocation stubs of job `job`, oldest first.
  std::vector<json::value> JobAllocs(std::string_view job) {
    std::vector<json::value> out;
    auto list = Get("/v1/allocations");
    if (!list.ok() || !list->is_array()) return out;
    for (const auto& stub : list->get_array()) {
      if (Str(stub, "/JobID") == job) out.push_back(stub);
    }
    std::sort(out.begin(), out.end(), [](const json::value& a, const json::value& b) {
      return Int(a, "/CreateIndex") < Int(b, "/CreateIndex");
    });
    return out;
  }

  // The id of job `job`'s first allocation (any status); "" if none appears.
  std::string FirstAllocId(std::string_view job) {
    std::string id;
    WaitFor(
        [&] {
          auto allocs = JobAllocs(job);
          if (allocs.empty()) return false;
          id = Str(allocs.front(), "/ID");
          return true;
        },
        kWait, 50ms);
    EXPECT_FALSE(id.empty()) << "no allocation of job " << job << " appeared";
    return id;
  }

  fs::path AllocDir(const std::string& alloc_id) const {
    return agent_->data_dir() / "alloc" / alloc_id / "alloc";
  }
  fs::path LocalDir(const std::string& alloc_id, const std::string& task) const {
    return agent_->data_dir() / "alloc" / alloc_id / task / "local";
  }

  // The pid in $A/<name>.pid once it is alive and not `old_pid`; -1 if none.
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

  // Waits until `path` has at least `n` non-empty lines.
  bool WaitLines(const fs::path& path, std::size_t n) {
    return WaitFor([&] { return Lines(path).size() >= n; }, kWait);
  }

  std::unique_ptr<AgentProcess> agent_;
};

// ---- Lifecycle hooks ------------------------------------------------------

TEST_F(LifecycleE2ETest, PrestartEphemeralTaskFinishesBeforeMainStarts) {
  GroupSpec spec;
  spec.tasks = {
      {"init", kPre + Stamp("init.start") + "sleep 1; " + Stamp("init.end"), "prestart"},
      {"main", kPre + Stamp("main.start") + PidThenSleep("main").substr(kPre.size())},
  };
  ASSERT_OK(Register("pre", spec).status());
  const std::string alloc_id = FirstAllocId("pre");
  ASSERT_FALSE(alloc_id.empty());

  ASSERT_GT(TaskPid(alloc_id, "main"), 0) << "main never ran";
  const auto init_end = Stamps(AllocDir(alloc_id) / "init.end");
  const auto main_start = Stamps(AllocDir(alloc_id) / "main.start");
  ASSERT_EQ(init_end.size(), 1u) << "the prestart task did not finish before main ran";
  ASSERT_EQ(main_start.size(), 1u);
  EXPECT_LT(init_end[0], main_start[0]) << "main started before the prestart task finished";

  const Polled polled = PollAlloc(alloc_id, [](const json::value& a) {
    return State(a, "init") == "dead" && State(a, "main") == "running";
  });
  ASSERT_TRUE(polled.met) << json::serialize(polled.last);
  const json::value& alloc = polled.last;
  EXPECT_EQ(At(alloc, TaskPtr("init", "Failed")), json::value(false));
  EXPECT_EQ(Int(alloc, TaskPtr("init", "Restarts")), 0) << "a finished prestart task restarted";
  EXPECT_EQ(Int(Event(alloc, "init", "Terminated"), "/ExitCode"), 0);
  EXPECT_EQ(Str(alloc, "/ClientStatus"), "running");
  // The API agrees with the files: init's Terminated precedes main's Started.
  EXPECT_LE(Int(Event(alloc, "init", "Terminated"), "/Time"),
            Int(Event(alloc, "main", "Started"), "/Time"))
      << json::serialize(At(alloc, "/TaskStates"));
}

TEST_F(LifecycleE2ETest, PrestartSidecarKeepsRunningAlongsideMain) {
  GroupSpec spec;
  spec.tasks = {
      {"side", PidThenSleep("side"), "prestart", /*sidecar=*/true},
      {"main", PidThenSleep("main")},
  };
  ASSERT_OK(Register("sidecar", spec).status());
  const std::string alloc_id = FirstAllocId("sidecar");
  ASSERT_FALSE(alloc_id.empty());

  const pid_t side = TaskPid(alloc_id, "side");
  const pid_t main = TaskPid(alloc_id, "main");
  ASSERT_GT(side, 0) << "the sidecar never ran";
  ASSERT_GT(main, 0) << "main never ran";
  const Polled polled = PollAlloc(alloc_id, [](const json::value& a) {
    return State(a, "side") == "running" && State(a, "main") == "running";
  });
  ASSERT_TRUE(polled.met) << json::serialize(polled.last);
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(ProcessAlive(side)) << "the sidecar died while main runs";
  EXPECT_TRUE(ProcessAlive(main));
  ASSERT_OK_AND_ASSIGN(const json::value alloc, Get("/v1/allocation/" + alloc_id));
  EXPECT_EQ(State(alloc, "side"), "running");
  EXPECT_EQ(State(alloc, "main"), "running");
  EXPECT_EQ(Int(alloc, TaskPtr("side", "Restarts")), 0);
  EXPECT_EQ(CountEvents(alloc, "side", "Terminated"), 0) << Join(EventTypes(alloc, "side"));
  // The sidecar started first: main waits for prestart tasks to run.
  EXPECT_LE(Int(Event(alloc, "side", "Started"), "/Time"),
            Int(Event(alloc, "main", "Started"), "/Time"));
}

TEST_F(LifecycleE2ETest, PoststartTaskStartsAfterMainStarted) {
  GroupSpec spec;
  spec.tasks = {
      {"main", PidThenSleep("main")},
      // Records whether main's process was already there when it ran.
      {"post",
       kPre + Stamp("post.start") +
           "if [ -e \"$A/main.pid\" ] && kill -0 \"$(cat \"$A/main.pid\")\"; then echo yes; "
           "else echo no; fi > \"$A/post.saw_main\"",
       "poststart"},
  };
  ASSERT_OK(Register("post", spec).status());
  const std::string alloc_id = FirstAllocId("post");
  ASSERT_FALSE(alloc_id.empty());

  const Polled polled = PollAlloc(alloc_id, [](const json::value& a) {
    return State(a, "post") == "dead" && State(a, "main") == "running";
  });
  ASSERT_TRUE(polled.met) << json::serialize(polled.last);
  const json::value& alloc = polled.last;
  const json::value& main_started = Event(alloc, "main", "Started");
  const json::value& post_started = Event(alloc, "post", "Started");
  ASSERT_FALSE(main_started.is_null()) << Join(EventTypes(alloc, "main"));
  ASSERT_FALSE(post_started.is_null()) << Join(EventTypes(alloc, "post"));
  EXPECT_LE(Int(main_started, "/Time"), Int(post_started, "/Time"))
      << "poststart started before main";
  EXPECT_EQ(Lines(AllocDir(alloc_id) / "post.start").size(), 1u);
  // main's script writes its pid right after it starts; the poststart task
  // almost always sees it. It must never run while main has not started,
  // which the event times above show; the file is informational.
  if (ReadFile(AllocDir(alloc_id) / "post.saw_main") != "yes\n") {
    std::cerr << "note: poststart ran before main's script wrote its pid\n";
  }
  EXPECT_EQ(At(alloc, TaskPtr("post", "Failed")), json::value(false));
  EXPECT_EQ(Int(alloc, TaskPtr("post", "Restarts")), 0) << "an ephemeral poststart restarted";
  EXPECT_EQ(Str(alloc, "/ClientStatus"), "running");
}

TEST_F(LifecycleE2ETest, PoststopTaskRunsAfterMainExits) {
  GroupSpec spec;
  spec.type = "batch";
  spec.tasks = {
      {"main", kPre + "sleep 1; " + Stamp("main.end")},
      {"cleanup", kPre + Stamp("cleanup.start"), "poststop"},
  };
  ASSERT_OK(Register("poststop", spec).status());
  const std::string alloc_id = FirstAllocId("poststop");
  ASSERT_FALSE(alloc_id.empty());

  const Polled polled = PollAlloc(alloc_id, [](const json::value& a) {
    return Str(a, "/ClientStatus") == "complete";
  });
  ASSERT_TRUE(polled.met) << json::serialize(polled.last);
  const json::value& alloc = polled.last;
  const auto main_end = Stamps(AllocDir(alloc_id) / "main.end");
  const auto cleanup_start = Stamps(AllocDir(alloc_id) / "cleanup.start");
  ASSERT_EQ(main_end.size(), 1u);
  ASSERT_EQ(cleanup_start.size(), 1u) << "the poststop task did not run exactly once";
  EXPECT_LT(main_end[0], cleanup_start[0]) << "poststop ran before main exited";
  EXPECT_EQ(State(alloc, "cleanup"), "dead");
  EXPECT_EQ(At(alloc, TaskPtr("cleanup", "Failed")), json::value(false));
  EXPECT_LE(Int(Event(alloc, "main", "Terminated"), "/Time"),
            Int(Event(alloc, "cleanup", "Started"), "/Time"))
      << json::serialize(At(alloc, "/TaskStates"));
}

TEST_F(LifecycleE2ETest, FailingPrestartRunsPoststopFailsAllocAndNeverStartsMain) {
  GroupSpec spec;
  spec.tasks = {
      {"init", kPre + Stamp("init.ran") + "exit 1", "prestart"},
      {"main", PidThenSleep("main")},
      {"cleanup", kPre + Stamp("cleanup.ran"), "poststop"},
  };
  ASSERT_OK(Register("badinit", spec).status());
  const std::string alloc_id = FirstAllocId("badinit");
  ASSERT_FALSE(alloc_id.empty());

  const Polled polled = PollAlloc(alloc_id, [](const json::value& a) {
    return Str(a, "/ClientStatus") == "failed" && State(a, "cleanup") == "dead";
  });
  ASSERT_TRUE(polled.met) << json::serialize(polled.last);
  const json::value& alloc = polled.last;
  EXPECT_EQ(Lines(AllocDir(alloc_id) / "init.ran").size(), 1u) << "restart Attempts 0";
  EXPECT_EQ(Lines(AllocDir(alloc_id) / "cleanup.ran").size(), 1u) << "poststop did not run";
  EXPECT_FALSE(fs::exists(AllocDir(alloc_id) / "main.pid")) << "main ran";

  EXPECT_EQ(At(alloc, TaskPtr("init", "Failed")), json::value(true));
  EXPECT_EQ(CountEvents(alloc, "init", "Not Restarting"), 1) << Join(EventTypes(alloc, "init"));
  EXPECT_EQ(State(alloc, "main"), "dead");
  EXPECT_EQ(CountEvents(alloc, "main", "Started"), 0) << Join(EventTypes(alloc, "main"));
  const json::value& sibling = Event(alloc, "main", "Sibling Task Failed");
  ASSERT_FALSE(sibling.is_null()) << Join(EventTypes(alloc, "main"));
  EXPECT_EQ(Str(sibling, "/Details/failed_sibling"), "init") << json::serialize(sibling);
  EXPECT_EQ(State(alloc, "cleanup"), "dead");
  EXPECT_EQ(CountEvents(alloc, "cleanup", "Started"), 1) << Join(EventTypes(alloc, "cleanup"));
  EXPECT_EQ(At(alloc, TaskPtr("cleanup", "Failed")), json::value(false));
}

TEST_F(LifecycleE2ETest, LeaderDeathKillsTheOtherTasks) {
  GroupSpec spec;
  spec.type = "batch";
  spec.tasks = {
      {"leader", kPre + "while [ ! -e \"$A/follower.pid\" ]; do sleep 0.1; done; sleep 1; exit 0",
       "", false, /*leader=*/true},
      {"follower", PidThenSleep("follower")},
  };
  ASSERT_OK(Register("lead", spec).status());
  const std::string alloc_id = FirstAllocId("lead");
  ASSERT_FALSE(alloc_id.empty());
  const pid_t follower = TaskPid(alloc_id, "follower");
  ASSERT_GT(follower, 0);

  const Polled polled = PollAlloc(alloc_id, [](const json::value& a) {
    return State(a, "leader") == "dead" && State(a, "follower") == "dead";
  });
  ASSERT_TRUE(polled.met) << json::serialize(polled.last);
  const json::value& alloc = polled.last;
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(follower); }, kWait))
      << "the follower still runs";
  EXPECT_EQ(At(alloc, TaskPtr("leader", "Failed")), json::value(false));
  const auto types = EventTypes(alloc, "follower");
  EXPECT_EQ(CountEvents(alloc, "follower", "Leader Task Dead"), 1) << Join(types);
  EXPECT_GE(CountEvents(alloc, "follower", "Killed"), 1) << Join(types);
  EXPECT_EQ(CountEvents(alloc, "follower", "Sibling Task Failed"), 0) << Join(types);
  EXPECT_EQ(CountEvents(alloc, "follower", "Restarting"), 0) << Join(types);
  const Polled done = PollAlloc(alloc_id, [](const json::value& a) {
    return Str(a, "/ClientStatus") == "complete";
  });
  EXPECT_TRUE(done.met) << "a batch alloc whose leader exited 0: "
                        << Str(done.last, "/ClientStatus");
}

// ---- Restart --------------------------------------------------------------

TEST_F(LifecycleE2ETest, RestartOneTaskByNameRestartsOnlyThatTask) {
  GroupSpec spec;
  spec.tasks = {{"main", PidThenSleep("main")}, {"other", PidThenSleep("other")}};
  ASSERT_OK(Register("rs1", spec).status());
  const std::string alloc_id = FirstAllocId("rs1");
  ASSERT_FALSE(alloc_id.empty());
  const pid_t main = TaskPid(alloc_id, "main");
  const pid_t other = TaskPid(alloc_id, "other");
  ASSERT_GT(main, 0);
  ASSERT_GT(other, 0);
  ASSERT_TRUE(PollAlloc(alloc_id, [](const json::value& a) {
                return State(a, "main") == "running" && State(a, "other") == "running";
              }).met);

  const std::string path = "/v1/client/allocation/" + alloc_id + "/restart";
  const HttpResponse r = Send("POST", path, R"({"TaskName": "main"})");
  ASSERT_EQ(r.status, 200) << Describe("POST", path, r);

  const pid_t main2 = TaskPid(alloc_id, "main", main);
  ASSERT_GT(main2, 0) << "main has no new pid";
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(main); }, kWait));
  const Polled polled = PollAlloc(alloc_id, [](const json::value& a) {
    return Int(a, TaskPtr("main", "Restarts")) == 1 && State(a, "main") == "running";
  });
  ASSERT_TRUE(polled.met) << json::serialize(polled.last);
  const json::value& alloc = polled.last;
  const json::value& signaled = Event(alloc, "main", "Restart Signaled");
  ASSERT_FALSE(signaled.is_null()) << Join(EventTypes(alloc, "main"));
  EXPECT_EQ(Str(signaled, "/RestartReason"), "User requested task to restart");
  EXPECT_EQ(CountEvents(alloc, "main", "Started"), 2) << Join(EventTypes(alloc, "main"));
  EXPECT_EQ(At(alloc, TaskPtr("main", "Failed")), json::value(false));
  // The other task is untouched.
  EXPECT_TRUE(ProcessAlive(other));
  EXPECT_EQ(Int(alloc, TaskPtr("other", "Restarts")), 0);
  EXPECT_EQ(CountEvents(alloc, "other", "Restart Signaled"), 0)
      << Join(EventTypes(alloc, "other"));
  EXPECT_EQ(Str(alloc, "/ClientStatus"), "running");
}

TEST_F(LifecycleE2ETest, RestartWithoutTaskRestartsOnlyRunningTasks) {
  GroupSpec spec;
  spec.tasks = {
      {"init", kPre + Stamp("init.runs"), "prestart"},
      {"main", PidThenSleep("main")},
  };
  ASSERT_OK(Register("rsrun", spec).status());
  const std::string alloc_id = FirstAllocId("rsrun");
  ASSERT_FALSE(alloc_id.empty());
  const pid_t main = TaskPid(alloc_id, "main");
  ASSERT_GT(main, 0);
  ASSERT_TRUE(PollAlloc(alloc_id, [](const json::value& a) {
                return State(a, "init") == "dead" && State(a, "main") == "running";
              }).met);

  const std::string path = "/v1/client/allocation/" + alloc_id + "/restart";
  const HttpResponse r = Send("PUT", path, "");
  ASSERT_EQ(r.status, 200) << Describe("PUT", path, r);

  ASSERT_GT(TaskPid(alloc_id, "main", main), 0) << "main has no new pid";
  const Polled polled = PollAlloc(alloc_id, [](const json::value& a) {
    return Int(a, TaskPtr("main", "Restarts")) == 1 && State(a, "main") == "running";
  });
  ASSERT_TRUE(polled.met) << json::serialize(polled.last);
  std::this_thread::sleep_for(1s);  // room for a wrong re-run of init to show
  ASSERT_OK_AND_ASSIGN(const json::value alloc, Get("/v1/allocation/" + alloc_id));
  EXPECT_FALSE(
      RestartEvent(alloc, "main", "User requested running tasks to restart").is_null())
      << json::serialize(At(alloc, TaskPtr("main", "Events")));
  EXPECT_EQ(Lines(AllocDir(alloc_id) / "init.runs").size(), 1u) << "the dead prestart task ran again";
  EXPECT_EQ(State(alloc, "init"), "dead");
  EXPECT_EQ(Int(alloc, TaskPtr("init", "Restarts")), 0);
  EXPECT_TRUE(
      RestartEvent(alloc, "init", "User requested running tasks to restart").is_null())
      << Join(EventTypes(alloc, "init"));
  EXPECT_EQ(CountEvents(alloc, "init", "Started"), 1) << Join(EventTypes(alloc, "init"));
}

TEST_F(LifecycleE2ETest, AllTasksRestartRerunsFinishedPrestartBeforeMain) {
  GroupSpec spec;
  spec.tasks = {
      {"init", kPre + Stamp("init.runs"), "prestart"},
      {"main", kPre + Stamp("main.starts") + PidThenSleep("main").substr(kPre.size())},
  };
  ASSERT_OK(Register("rsall", spec).status());
  const std::string alloc_id = FirstAllocId("rsall");
  ASSERT_FALSE(alloc_id.empty());
  const pid_t main = TaskPid(alloc_id, "main");
  ASSERT_GT(main, 0);
  ASSERT_TRUE(PollAlloc(alloc_id, [](const json::value& a) {
                return State(a, "init") == "dead" && State(a, "main") == "running";
              }).met);

  const std::string path = "/v1/client/allocation/" + alloc_id + "/restart";
  const HttpResponse r = Send("POST", path, R"({"AllTasks": true})");
  ASSERT_EQ(r.status, 200) << Describe("POST", path, r);

  ASSERT_TRUE(WaitLines(AllocDir(alloc_id) / "init.runs", 2))
      << "the finished prestart task did not run again; init.runs: '"
      << ReadFile(AllocDir(alloc_id) / "init.runs") << "'";
  ASSERT_TRUE(WaitLines(AllocDir(alloc_id) / "main.starts", 2)) << "main did not restart";
  ASSERT_GT(TaskPid(alloc_id, "main", main), 0);
  const auto init_runs = Stamps(AllocDir(alloc_id) / "init.runs");
  const auto main_starts = Stamps(AllocDir(alloc_id) / "main.starts");
  ASSERT_EQ(init_runs.size(), 2u);
  ASSERT_EQ(main_starts.size(), 2u);
  EXPECT_LT(init_runs[1], main_starts[1]) << "main restarted before the prestart task re-ran";
  EXPECT_LT(main_starts[0], init_runs[1]);

  const Polled polled = PollAlloc(alloc_id, [](const json::value& a) {
    return State(a, "init") == "dead" && State(a, "main") == "running" &&
           CountEvents(a, "init", "Terminated") == 2;
  });
  ASSERT_TRUE(polled.met) << json::serialize(polled.last);
  const json::value& alloc = polled.last;
  for (const char* task : {"init", "main"}) {
    SCOPED_TRACE(task);
    EXPECT_FALSE(RestartEvent(alloc, task, "User requested all tasks to restart").is_null())
        << json::serialize(At(alloc, TaskPtr(task, "Events")));
    EXPECT_EQ(CountEvents(alloc, task, "Started"), 2) << Join(EventTypes(alloc, task));
    EXPECT_EQ(At(alloc, TaskPtr(task, "Failed")), json::value(false));
  }
  EXPECT_EQ(Str(alloc, "/ClientStatus"), "running");
}

TEST_F(LifecycleE2ETest, RestartOfDeadTaskWithoutAllTasksIsRefused) {
  GroupSpec spec;
  spec.tasks = {
      {"init", kPre + Stamp("init.runs"), "prestart"},
      {"main", PidThenSleep("main")},
  };
  ASSERT_OK(Register("rsdead", spec).status());
  const std::string alloc_id = FirstAllocId("rsdead");
  ASSERT_FALSE(alloc_id.empty());
  ASSERT_GT(TaskPid(alloc_id, "main"), 0);
  ASSERT_TRUE(PollAlloc(alloc_id, [](const json::value& a) {
                return State(a, "init") == "dead" && State(a, "main") == "running";
              }).met);

  const std::string path = "/v1/client/allocation/" + alloc_id + "/restart";
  const HttpResponse r = Send("POST", path, R"({"TaskName": "init"})");
  EXPECT_GE(r.status, 400) << Describe("POST", path, r);
  EXPECT_LT(r.status, 500) << Describe("POST", path, r);
  EXPECT_NE(r.body.find("Task not running"), std::string::npos) << Describe("POST", path, r);
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(Lines(AllocDir(alloc_id) / "init.runs").size(), 1u) << "the refused restart ran init";
  ASSERT_OK_AND_ASSIGN(const json::value alloc, Get("/v1/allocation/" + alloc_id));
  EXPECT_EQ(State(alloc, "init"), "dead");
  EXPECT_EQ(CountEvents(alloc, "init", "Restart Signaled"), 0) << Join(EventTypes(alloc, "init"));
}

TEST_F(LifecycleE2ETest, RestartRequestErrors) {
  GroupSpec spec;
  spec.tasks = {{"main", PidThenSleep("main")}};
  ASSERT_OK(Register("rserr", spec).status());
  const std::string alloc_id = FirstAllocId("rserr");
  ASSERT_FALSE(alloc_id.empty());
  const pid_t main = TaskPid(alloc_id, "main");
  ASSERT_GT(main, 0);
  const std::string path = "/v1/client/allocation/" + alloc_id + "/restart";

  {
    SCOPED_TRACE("unknown task");
    const HttpResponse r = Send("POST", path, R"({"TaskName": "x"})");
    EXPECT_EQ(r.status, 404) << Describe("POST", path, r);
    EXPECT_NE(r.body.find("Could not find task runner for task: x"), std::string::npos)
        << Describe("POST", path, r);
  }
  {
    SCOPED_TRACE("TaskName and AllTasks");
    const HttpResponse r = Send("POST", path, R"({"TaskName": "main", "AllTasks": true})");
    EXPECT_EQ(r.status, 400) << Describe("POST", path, r);
  }
  {
    SCOPED_TRACE("unknown allocation");
    const std::string unknown = "9e2a0b4c-1111-2222-3333-444455556666";
    const std::string p = "/v1/client/allocation/" + unknown + "/restart";
    const HttpResponse r = Send("POST", p, "{}");
    EXPECT_EQ(r.status, 404) << Describe("POST", p, r);
    EXPECT_NE(r.body.find("Unknown allocation \"" + unknown + "\""), std::string::npos)
        << Describe("POST", p, r);
  }
  // None of them touched the task.
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(ProcessAlive(main));
  ASSERT_OK_AND_ASSIGN(const json::value alloc, Get("/v1/allocation/" + alloc_id));
  EXPECT_EQ(Int(alloc, TaskPtr("main", "Restarts")), 0);
  EXPECT_EQ(CountEvents(alloc, "main", "Restart Signaled"), 0) << Join(EventTypes(alloc, "main"));
}

// ---- Signal ---------------------------------------------------------------

// Traps SIGUSR1 and appends "USR1" to $A/<name>.sig; writes its pid once the
// trap is in place. The signal also reaches the `sleep` child (the process
// group gets it); the loop goes on.
std::string TrapUsr1(const std::string& name) {
  return kPre + "trap 'echo USR1 >> \"$A/" + name + ".sig\"' USR1; echo $$ > \"$A/" + name +
         ".pid\"; while :; do sleep 0.2; done";
}

TEST_F(LifecycleE2ETest, SignalIsDeliveredToTheNamedTask) {
  GroupSpec spec;
  spec.tasks = {{"a", TrapUsr1("a")}, {"b", TrapUsr1("b")}};
  ASSERT_OK(Register("sig1", spec).status());
  const std::string alloc_id = FirstAllocId("sig1");
  ASSERT_FALSE(alloc_id.empty());
  const pid_t a = TaskPid(alloc_id, "a");
  const pid_t b = TaskPid(alloc_id, "b");
  ASSERT_GT(a, 0);
  ASSERT_GT(b, 0);
  ASSERT_TRUE(PollAlloc(alloc_id, [](const json::value& al) {
                return State(al, "a") == "running" && State(al, "b") == "running";
              }).met);

  const std::string path = "/v1/client/allocation/" + alloc_id + "/signal";
  const HttpResponse r = Send("POST", path, R"({"Signal": "SIGUSR1", "Task": "a"})");
  ASSERT_EQ(r.status, 200) << Describe("POST", path, r);
  ASSERT_TRUE(WaitLines(AllocDir(alloc_id) / "a.sig", 1)) << "task a never recorded SIGUSR1";
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(Lines(AllocDir(alloc_id) / "a.sig").size(), 1u);
  EXPECT_FALSE(fs::exists(AllocDir(alloc_id) / "b.sig")) << "task b got a signal meant for a";
  EXPECT_TRUE(ProcessAlive(a)) << "the trapped signal killed the task";
  EXPECT_TRUE(ProcessAlive(b));

  ASSERT_OK_AND_ASSIGN(const json::value alloc, Get("/v1/allocation/" + alloc_id));
  const json::value& signaling = Event(alloc, "a", "Signaling");
  ASSERT_FALSE(signaling.is_null()) << Join(EventTypes(alloc, "a"));
  EXPECT_EQ(Str(signaling, "/Details/signal"), "SIGUSR1") << json::serialize(signaling);
  EXPECT_EQ(CountEvents(alloc, "b", "Signaling"), 0) << Join(EventTypes(alloc, "b"));
  EXPECT_EQ(State(alloc, "a"), "running");
  EXPECT_EQ(Int(alloc, TaskPtr("a", "Restarts")), 0);
}

TEST_F(LifecycleE2ETest, SignalWithUnknownNameIs400) {
  GroupSpec spec;
  spec.tasks = {{"a", TrapUsr1("a")}};
  ASSERT_OK(Register("sigbad", spec).status());
  const std::string alloc_id = FirstAllocId("sigbad");
  ASSERT_FALSE(alloc_id.empty());
  const pid_t a = TaskPid(alloc_id, "a");
  ASSERT_GT(a, 0);

  const std::string path = "/v1/client/allocation/" + alloc_id + "/signal";
  for (const char* body : {R"({"Signal": "SIGNOPE", "Task": "a"})", R"({"Signal": "SIGNOPE"})"}) {
    SCOPED_TRACE(body);
    const HttpResponse r = Send("POST", path, body);
    EXPECT_EQ(r.status, 400) << Describe("POST", path, r);
  }
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(ProcessAlive(a));
  EXPECT_FALSE(fs::exists(AllocDir(alloc_id) / "a.sig"));
  ASSERT_OK_AND_ASSIGN(const json::value alloc, Get("/v1/allocation/" + alloc_id));
  EXPECT_EQ(CountEvents(alloc, "a", "Signaling"), 0) << Join(EventTypes(alloc, "a"));
}

TEST_F(LifecycleE2ETest, SignalWithoutTaskReachesAllRunningTasks) {
  GroupSpec spec;
  spec.tasks = {
      {"init", kPre + Stamp("init.runs"), "prestart"},  // dead when the signal comes
      {"a", TrapUsr1("a")},
      {"b", TrapUsr1("b")},
  };
  ASSERT_OK(Register("sigall", spec).status());
  const std::string alloc_id = FirstAllocId("sigall");
  ASSERT_FALSE(alloc_id.empty());
  ASSERT_GT(TaskPid(alloc_id, "a"), 0);
  ASSERT_GT(TaskPid(alloc_id, "b"), 0);
  ASSERT_TRUE(PollAlloc(alloc_id, [](const json::value& al) {
                return State(al, "init") == "dead" && State(al, "a") == "running" &&
                       State(al, "b") == "running";
              }).met);

  const std::string path = "/v1/client/allocation/" + alloc_id + "/signal";
  const HttpResponse r = Send("PUT", path, R"({"Signal": "SIGUSR1"})");
  ASSERT_EQ(r.status, 200) << Describe("PUT", path, r);
  EXPECT_TRUE(WaitLines(AllocDir(alloc_id) / "a.sig", 1)) << "task a never recorded SIGUSR1";
  EXPECT_TRUE(WaitLines(AllocDir(alloc_id) / "b.sig", 1)) << "task b never recorded SIGUSR1";

  // The signal goes out first; its event is recorded with the next batch.
  const auto signalled = PollAlloc(alloc_id, [](const json::value& al) {
    return CountEvents(al, "a", "Signaling") > 0 && CountEvents(al, "b", "Signaling") > 0;
  });
  ASSERT_TRUE(signalled.met);
  const json::value& alloc = signalled.last;
  EXPECT_EQ(CountEvents(alloc, "a", "Signaling"), 1) << Join(EventTypes(alloc, "a"));
  EXPECT_EQ(CountEvents(alloc, "b", "Signaling"), 1) << Join(EventTypes(alloc, "b"));
  EXPECT_EQ(CountEvents(alloc, "init", "Signaling"), 0) << Join(EventTypes(alloc, "init"));

  // Naming the dead task is refused.
  const HttpResponse dead = Send("PUT", path, R"({"Signal": "SIGUSR1", "Task": "init"})");
  EXPECT_GE(dead.status, 400) << Describe("PUT", path, dead);
  EXPECT_NE(dead.body.find("Task not running"), std::string::npos)
      << Describe("PUT", path, dead);
}

// ---- Stop and reschedule ---------------------------------------------------

TEST_F(LifecycleE2ETest, StopAllocationPlacesLinkedReplacement) {
  GroupSpec spec;
  spec.tasks = {{"main", PidThenSleep("main")}};
  ASSERT_OK(Register("stopme", spec).status());
  const std::string old_id = FirstAllocId("stopme");
  ASSERT_FALSE(old_id.empty());
  const pid_t old_pid = TaskPid(old_id, "main");
  ASSERT_GT(old_pid, 0);

  const std::string path = "/v1/allocation/" + old_id + "/stop";
  const HttpResponse r = Send("POST", path, "");
  ASSERT_EQ(r.status, 200) << Describe("POST", path, r);
  ASSERT_OK_AND_ASSIGN(const json::value stop, ParseJson(r.body));
  ASSERT_TRUE(stop.is_object()) << r.body;
  EXPECT_EQ(Str(stop, "/EvalID").size(), 36u) << r.body;
  EXPECT_GT(Int(stop, "/Index"), 0) << r.body;
  EXPECT_EQ(stop.get_object().size(), 2u) << "expected {EvalID, Index}: " << r.body;

  // The old allocation stops; its task is killed.
  const Polled old_polled = PollAlloc(old_id, [](const json::value& a) {
    return Str(a, "/DesiredStatus") == "stop" && State(a, "main") == "dead";
  });
  ASSERT_TRUE(old_polled.met) << json::serialize(old_polled.last);
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(old_pid); }, kWait)) << "old task still runs";
  EXPECT_GE(CountEvents(old_polled.last, "main", "Killed"), 1)
      << Join(EventTypes(old_polled.last, "main"));

  // A replacement, linked both ways, runs.
  std::string new_id;
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& stub : JobAllocs("stopme")) {
          if (Str(stub, "/ID") != old_id) new_id = Str(stub, "/ID");
        }
        return !new_id.empty();
      },
      kWait))
      << "no replacement allocation";
  EXPECT_EQ(JobAllocs("stopme").size(), 2u);
  ASSERT_OK_AND_ASSIGN(const json::value old_alloc, Get("/v1/allocation/" + old_id));
  EXPECT_EQ(Str(old_alloc, "/NextAllocation"), new_id);
  const Polled new_polled = PollAlloc(new_id, [](const json::value& a) {
    return Str(a, "/ClientStatus") == "running" && State(a, "main") == "running";
  });
  ASSERT_TRUE(new_polled.met) << json::serialize(new_polled.last);
  EXPECT_EQ(Str(new_polled.last, "/PreviousAllocation"), old_id);
  EXPECT_EQ(Str(new_polled.last, "/DesiredStatus"), "run");
  EXPECT_EQ(Str(new_polled.last, "/Name"), Str(old_alloc, "/Name"));
  const pid_t new_pid = TaskPid(new_id, "main");
  EXPECT_GT(new_pid, 0) << "the replacement's task never ran";
  EXPECT_NE(new_pid, old_pid);

  // Stopping it again answers, but places nothing more.
  const HttpResponse again = Send("POST", path, "");
  EXPECT_EQ(again.status, 200) << Describe("POST", path, again);

  // The stopped allocation stays stopped.
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(JobAllocs("stopme").size(), 2u) << "a second stop placed another replacement";
  ASSERT_OK_AND_ASSIGN(const json::value old_after, Get("/v1/allocation/" + old_id));
  EXPECT_EQ(State(old_after, "main"), "dead");
  EXPECT_FALSE(ProcessAlive(old_pid));
}

TEST_F(LifecycleE2ETest, FailedAllocIsRescheduledOnceThenPolicyIsExhausted) {
  GroupSpec spec;
  spec.tasks = {{"main", kPre + Stamp("runs") + "exit 1"}};
  spec.reschedule = json::object{{"Attempts", 1},
                                 {"Interval", 3600 * kSecond},
                                 // Nomad's minimum reschedule delay.
                                 {"Delay", 5 * kSecond},
                                 {"DelayFunction", "constant"},
                                 {"Unlimited", false}};
  ASSERT_OK(Register("resched", spec).status());
  const std::string first_id = FirstAllocId("resched");
  ASSERT_FALSE(first_id.empty());

  const Polled first_failed = PollAlloc(first_id, [](const json::value& a) {
    return Str(a, "/ClientStatus") == "failed" && !Str(a, "/FollowupEvalID").starts_with("<") &&
           !Str(a, "/FollowupEvalID").empty();
  });
  ASSERT_TRUE(first_failed.met) << "no FollowupEvalID on the failed alloc: "
                                << json::serialize(first_failed.last);
  const std::string followup = Str(first_failed.last, "/FollowupEvalID");
  const std::string node_id = Str(first_failed.last, "/NodeID");

  std::string second_id;
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& stub : JobAllocs("resched")) {
          if (Str(stub, "/ID") != first_id) second_id = Str(stub, "/ID");
        }
        return !second_id.empty();
      },
      kWait))
      << "no replacement allocation";
  ASSERT_OK_AND_ASSIGN(json::value second, Get("/v1/allocation/" + second_id));
  EXPECT_EQ(Str(second, "/PreviousAllocation"), first_id);
  const json::value& events = At(second, "/RescheduleTracker/Events");
  ASSERT_TRUE(events.is_array() && events.get_array().size() == 1) << json::serialize(second);
  EXPECT_EQ(Str(events.get_array()[0], "/PrevAllocID"), first_id);
  EXPECT_EQ(Str(events.get_array()[0], "/PrevNodeID"), node_id);
  EXPECT_EQ(Int(events.get_array()[0], "/Delay"), 5 * kSecond);
  EXPECT_GT(Int(events.get_array()[0], "/RescheduleTime"), 0);
  ASSERT_OK_AND_ASSIGN(const json::value first, Get("/v1/allocation/" + first_id));
  EXPECT_EQ(Str(first, "/NextAllocation"), second_id);
  ASSERT_OK_AND_ASSIGN(const json::value eval, Get("/v1/evaluation/" + followup));
  EXPECT_EQ(Str(eval, "/TriggeredBy"), "alloc-failure") << json::serialize(eval);

  // The replacement fails too; the policy (1 attempt per hour) is used up.
  const Polled second_failed = PollAlloc(second_id, [](const json::value& a) {
    return Str(a, "/ClientStatus") == "failed";
  });
  ASSERT_TRUE(second_failed.met) << json::serialize(second_failed.last);
  std::this_thread::sleep_for(6s);  // past the delay: a third alloc would show
  const auto allocs = JobAllocs("resched");
  std::vector<std::string> ids;
  for (const auto& a : allocs) ids.push_back(Str(a, "/ID"));
  EXPECT_EQ(allocs.size(), 2u) << "a third allocation appeared: " << Join(ids);
  ASSERT_OK_AND_ASSIGN(second, Get("/v1/allocation/" + second_id));
  EXPECT_EQ(Str(second, "/FollowupEvalID"), "") << json::serialize(second);
  EXPECT_EQ(Str(second, "/NextAllocation"), "");
  EXPECT_EQ(Lines(AllocDir(first_id) / "runs").size(), 1u);
  EXPECT_EQ(Lines(AllocDir(second_id) / "runs").size(), 1u);
}

TEST_F(LifecycleE2ETest, StopOfUnknownAllocIs404) {
  const std::string unknown = "9e2a0b4c-1111-2222-3333-444455556666";
  const std::string path = "/v1/allocation/" + unknown + "/stop";
  const HttpResponse r = Send("PUT", path, "");
  EXPECT_EQ(r.status, 404) << Describe("PUT", path, r);
  EXPECT_NE(r.body.find("Unknown allocation \"" + unknown + "\""), std::string::npos)
      << Describe("PUT", path, r);
}

// ---- RunComplete ----------------------------------------------------------

TEST_F(LifecycleE2ETest, CompletedTaskDoesNotRunAgainAfterAgentRestart) {
  GroupSpec spec;
  spec.type = "batch";
  spec.tasks = {{"once", kPre + "echo ran >> \"$L/marker\""}};
  ASSERT_OK(Register("once", spec).status());
  const std::string alloc_id = FirstAllocId("once");
  ASSERT_FALSE(alloc_id.empty());
  const Polled done = PollAlloc(alloc_id, [](const json::value& a) {
    return Str(a, "/ClientStatus") == "complete" && State(a, "once") == "dead";
  });
  ASSERT_TRUE(done.met) << json::serialize(done.last);
  const fs::path marker = LocalDir(alloc_id, "once") / "marker";
  ASSERT_EQ(Lines(marker).size(), 1u) << "marker: '" << ReadFile(marker) << "'";
  const json::value before = done.last;

  ASSERT_OK(agent_->Kill());
  ASSERT_OK(agent_->Restart());
  std::this_thread::sleep_for(2s);  // room for a wrong re-run to show

  EXPECT_EQ(Lines(marker).size(), 1u) << "the completed task ran again: '" << ReadFile(marker)
                                      << "'";
  ASSERT_OK_AND_ASSIGN(const json::value after, Get("/v1/allocation/" + alloc_id));
  EXPECT_EQ(At(after, "/TaskStates"), At(before, "/TaskStates"))
      << "before: " << json::serialize(At(before, "/TaskStates"))
      << "\nafter: " << json::serialize(At(after, "/TaskStates"));
  EXPECT_EQ(Str(after, "/ClientStatus"), "complete");

  // However a restart request for it is answered, the task does not run.
  const std::string path = "/v1/client/allocation/" + alloc_id + "/restart";
  for (const char* body : {R"({"TaskName": "once"})", R"({"AllTasks": true})", "{}"}) {
    (void)Send("POST", path, body);
  }
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(Lines(marker).size(), 1u) << "a restart request re-ran the completed task";
}

// The refusal to restart a completed task must not depend on whether the
// agent restarted in between: the allocation is still there (GET answers
// 200), so "Unknown allocation" is the wrong answer.
TEST_F(LifecycleE2ETest, RestartOfCompletedTaskIsRefusedTheSameAfterAgentRestart) {
  GroupSpec spec;
  spec.type = "batch";
  spec.tasks = {{"once", kPre + "echo ran >> \"$L/marker\""}};
  ASSERT_OK(Register("once", spec).status());
  const std::string alloc_id = FirstAllocId("once");
  ASSERT_FALSE(alloc_id.empty());
  ASSERT_TRUE(PollAlloc(alloc_id, [](const json::value& a) {
                return Str(a, "/ClientStatus") == "complete";
              }).met);
  const std::string path = "/v1/client/allocation/" + alloc_id + "/restart";
  const HttpResponse before = Send("POST", path, R"({"TaskName": "once"})");
  EXPECT_GE(before.status, 400) << Describe("POST", path, before);
  EXPECT_LT(before.status, 500) << Describe("POST", path, before);
  EXPECT_NE(before.body.find("Task not running"), std::string::npos)
      << Describe("POST", path, before);

  ASSERT_OK(agent_->Kill());
  ASSERT_OK(agent_->Restart());
  ASSERT_OK(Get("/v1/allocation/" + alloc_id).status());
  const HttpResponse after = Send("POST", path, R"({"TaskName": "once"})");
  EXPECT_EQ(after.status, before.status) << Describe("POST", path, after);
  EXPECT_NE(after.body.find("Task not running"), std::string::npos)
      << Describe("POST", path, after);
  EXPECT_EQ(Lines(LocalDir(alloc_id, "once") / "marker").size(), 1u);
}

}  // namespace
}  // namespace drover::testing
