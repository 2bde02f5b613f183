// End-to-end: task users and containment with the real `drover agent`.
//
// A task's User is the uid it runs as; an unknown user fails the task with
// Nomad's "Driver Failure"; a user the client options deny is refused
// before the task starts. With cgroups (root, a writable hierarchy), each
// task runs in its own group: descendants that left the task's session die
// when it is stopped (also after an agent restart), the memory limit
// OOM-kills and the task's events say so, pids.max bounds forks, the
// stats endpoint reads the group, and no group is left behind.
//
// Tests that need root or cgroups skip with the reason when they cannot
// run here.
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lifecycle/executor/cgroup.h"
#include "tests/support/agent_process.h"
#include "tests/support/http_client.h"
#include "tests/support/json_assert.h"

namespace drover::testing {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::int64_t kSecond = 1'000'000'000;
constexpr auto kWait = 60s;
constexpr const char* kControllers[] = {"memory", "pids", "freezer", "cpu", "cpuacct"};

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The cgroup layout the agent (a child of this process, so in the same
// groups) finds. Detecting creates the "drover" parent groups, as the
// agent does.
const cgroup::Layout& TestLayout() {
  static const cgroup::Layout layout = [] {
    if (::geteuid() != 0) {
      cgroup::Layout l;
      l.off_reason = "needs root to create cgroups";
      return l;
    }
    return cgroup::Detect("/sys/fs/cgroup", ReadFile("/proc/self/cgroup"));
  }();
  return layout;
}

// The "drover" parent group holding `controller`'s files; "" if none.
fs::path DroverParent(const std::string& controller) {
  const cgroup::Layout& l = TestLayout();
  auto it = l.parents.find(l.version == cgroup::Version::kV2 ? std::string(cgroup::kUnified) : controller);
  return it == l.parents.end() ? fs::path() : fs::path(it->second);
}

// Why cgroup tests cannot run here, or "".
std::string CgroupSkipReason() {
  const cgroup::Layout& l = TestLayout();
  return l.version == cgroup::Version::kNone ? "no usable cgroups: " + l.off_reason : "";
}

// A job of one group and one /bin/sh task.
json::value ShJob(const std::string& id, const std::string& type, const std::string& script,
                  const std::string& user = "", std::int64_t memory_mb = 0,
                  std::int64_t memory_max_mb = 0) {
  json::object task{{"Name", "t"},
                    {"Driver", "raw_exec"},
                    {"Config", json::object{{"command", "/bin/sh"}, {"args", json::array{"-c", script}}}},
                    {"KillTimeout", 2 * kSecond}};
  if (!user.empty()) task["User"] = user;
  if (memory_mb > 0) {
    json::object res{{"CPU", 100}, {"MemoryMB", memory_mb}};
    if (memory_max_mb > 0) res["MemoryMaxMB"] = memory_max_mb;
    task["Resources"] = std::move(res);
  }
  json::object group{{"Name", "g"},
                     {"Count", 1},
                     {"RestartPolicy", json::object{{"Attempts", 0},
                                                    {"Interval", 60 * kSecond},
                                                    {"Delay", kSecond / 10},
                                                    {"Mode", "fail"}}},
                     {"ReschedulePolicy", json::object{{"Attempts", 0}, {"Unlimited", false}}},
                     {"Tasks", json::array{std::move(task)}}};
  return json::object{{"Job", json::object{{"ID", id},
                                           {"Name", id},
                                           {"Type", type},
                                           {"Datacenters", json::array{"dc1"}},
                                           {"TaskGroups", json::array{std::move(group)}}}}};
}

class ContainmentTest : public ::testing::Test {
 protected:
  void Launch(const std::string& config_json = "") {
    AgentOptions options;
    options.config_json = config_json;
    auto agent = AgentProcess::Launch(options);
    ASSERT_TRUE(agent.ok()) << agent.status().ToString();
    agent_ = std::move(*agent);
    client_ = std::make_unique<HttpClient>(agent_->Client());
  }

  void TearDown() override {
    if (HasFailure() && agent_) std::cerr << "agent log:\n" << agent_->LogTail() << "\n";
    // Every test ends with its tasks dead: none may have left its group.
    for (const std::string& alloc : allocs_) {
      for (const char* c : kControllers) {
        fs::path dir = DroverParent(c) / (alloc + ".t");
        if (!DroverParent(c).empty() && fs::exists(dir)) ADD_FAILURE() << "cgroup left behind: " << dir;
      }
    }
    // Kills the agent and every process of its data dir, and removes the
    // cgroups its executors named.
    agent_.reset();
    for (const std::string& alloc : allocs_) {
      for (const char* c : kControllers) {
        if (DroverParent(c).empty()) continue;
        fs::path dir = DroverParent(c) / (alloc + ".t");
        if (fs::exists(dir)) ADD_FAILURE() << "cgroup left behind after the agent's teardown: " << dir;
      }
    }
  }

  HttpResponse Call(std::string_view method, std::string_view path, std::string_view body = {}) {
    auto r = client_->Request(method, path, body);
    EXPECT_TRUE(r.ok()) << method << " " << path << ": " << r.status().ToString();
    return r.ok() ? *r : HttpResponse{};
  }

  json::value GetJson(std::string_view path) {
    HttpResponse r = Call("GET", path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    auto v = ParseJson(r.body);
    return v.ok() ? *v : json::value();
  }

  std::string Submit(const json::value& job) {
    HttpResponse r = Call("PUT", "/v1/jobs", json::serialize(job));
    EXPECT_EQ(r.status, 200) << r.body;
    json::value allocs = GetJson("/v1/job/" + Str(job, "/Job/ID") + "/allocations");
    if (!allocs.is_array() || allocs.get_array().size() != 1) {
      ADD_FAILURE() << "expected one allocation: " << json::serialize(allocs);
      return "";
    }
    std::string id = Str(allocs.get_array().front(), "/ID");
    allocs_.push_back(id);
    return id;
  }

  std::string TaskState(const std::string& alloc) {
    return Str(GetJson("/v1/allocation/" + alloc), "/TaskStates/t/State");
  }

  bool WaitState(const std::string& alloc, const std::string& state) {
    return WaitFor([&] { return TaskState(alloc) == state; }, kWait, 50ms);
  }

  json::array Events(const std::string& alloc) {
    json::value a = GetJson("/v1/allocation/" + alloc);
    const json::value& e = At(a, "/TaskStates/t/Events");
    return e.is_array() ? e.get_array() : json::array{};
  }

  // The first event of `type`, or null.
  json::value Event(const std::string& alloc, const std::string& type) {
    for (const auto& e : Events(alloc)) {
      if (Str(e, "/Type") == type) return e;
    }
    return nullptr;
  }

  fs::path TaskLog(const std::string& alloc, const char* stream) {
    return agent_->data_dir() / "alloc" / alloc / "alloc/logs" / (std::string("t.") + stream + ".0");
  }

  // Polls until `file` (in the task's local dir) holds a line; its content.
  std::string WaitForTaskFile(const std::string& alloc, const std::string& name) {
    fs::path p = agent_->data_dir() / "alloc" / alloc / "t/local" / name;
    std::string text;
    WaitFor([&] {
      text = ReadFile(p);
      return text.find('\n') != std::string::npos;
    }, kWait, 50ms);
    return text;
  }

  std::vector<std::string> allocs_;
  std::unique_ptr<AgentProcess> agent_;
  std::unique_ptr<HttpClient> client_;
};

#define SKIP_WITHOUT_CGROUPS()                                  \
  do {                                                          \
    std::string why = CgroupSkipReason();                       \
    if (!why.empty()) GTEST_SKIP() << "cgroup test: " << why;   \
  } while (0)

// ---- Users ----------------------------------------------------------------------

TEST_F(ContainmentTest, TaskRunsAsItsUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run a task as another user";
  passwd* nobody = ::getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  const uid_t uid = nobody->pw_uid;
  Launch();
  std::string alloc = Submit(ShJob("as-nobody", "batch",
                                   "id -u; id -g; echo $USER; touch local/mine && echo wrote", "nobody"));
  ASSERT_TRUE(WaitState(alloc, "dead"));
  std::string out = ReadFile(TaskLog(alloc, "stdout"));
  EXPECT_EQ(out, std::to_string(uid) + "\n" + std::to_string(nobody->pw_gid) + "\nnobody\nwrote\n")
      << "stderr: " << ReadFile(TaskLog(alloc, "stderr"));
  // The directories the task writes to are the user's.
  for (const char* d : {"local", "tmp", "secrets"}) {
    struct stat st {};
    ASSERT_EQ(::stat((agent_->data_dir() / "alloc" / alloc / "t" / d).c_str(), &st), 0) << d;
    EXPECT_EQ(st.st_uid, uid) << d;
  }
  EXPECT_EQ(Str(GetJson("/v1/allocation/" + alloc), "/ClientStatus"), "complete");
}

TEST_F(ContainmentTest, UnknownUserFailsWithDriverFailure) {
  Launch();
  json::value job = ShJob("unknown-user", "batch", "echo ran", "no-such-user-drover");
  // Restarts allowed: only an unrecoverable error stops them.
  job.at("Job").at("TaskGroups").at(0).at("RestartPolicy").as_object()["Attempts"] = 3;
  std::string alloc = Submit(job);
  ASSERT_TRUE(WaitState(alloc, "dead"));
  json::value e = Event(alloc, "Driver Failure");
  ASSERT_FALSE(e.is_null()) << json::serialize(Events(alloc));
  EXPECT_EQ(Str(e, "/DriverError"),
            "failed to launch command with executor: failed to identify user no-such-user-drover: "
            "user: unknown user no-such-user-drover");
  EXPECT_EQ(Str(e, "/DisplayMessage"), Str(e, "/DriverError"));
  // Not worth retrying: the task fails at once, and never started.
  json::value nr = Event(alloc, "Not Restarting");
  ASSERT_FALSE(nr.is_null());
  EXPECT_EQ(Str(nr, "/DisplayMessage"), "Error was unrecoverable");
  EXPECT_TRUE(Event(alloc, "Started").is_null());
  EXPECT_TRUE(Event(alloc, "Restarting").is_null());
  EXPECT_EQ(Str(GetJson("/v1/allocation/" + alloc), "/ClientStatus"), "failed");
  EXPECT_EQ(ReadFile(TaskLog(alloc, "stdout")), "");
}

TEST_F(ContainmentTest, DeniedUserIsRefusedBeforeStart) {
  Launch(R"({"client": {"options": {"user.denylist": "root,nobody",
                                      "user.checked_drivers": "raw_exec,exec"}}})");
  std::string alloc = Submit(ShJob("denied-user", "batch", "echo ran", "nobody"));
  ASSERT_TRUE(WaitState(alloc, "dead"));
  json::value e = Event(alloc, "Task hook failed");
  ASSERT_FALSE(e.is_null()) << json::serialize(Events(alloc));
  EXPECT_EQ(Str(e, "/DisplayMessage"), "validate: running as user \"nobody\" is disallowed");
  EXPECT_EQ(Str(e, "/Details/message"), "validate: running as user \"nobody\" is disallowed");
  EXPECT_TRUE(Event(alloc, "Started").is_null());
  EXPECT_EQ(Str(GetJson("/v1/allocation/" + alloc), "/ClientStatus"), "failed");

  // A user the list does not name still runs (when the agent can switch).
  if (::geteuid() == 0) {
    std::string ok = Submit(ShJob("allowed-user", "batch", "id -u", "daemon"));
    ASSERT_TRUE(WaitState(ok, "dead"));
    EXPECT_FALSE(Event(ok, "Started").is_null()) << json::serialize(Events(ok));
  }
}

TEST_F(ContainmentTest, RawExecIsNotCheckedByDefault) {
  // Nomad's default user.checked_drivers is exec,qemu,java: raw_exec tasks
  // may run as root unless the operator lists raw_exec.
  Launch();
  std::string alloc = Submit(ShJob("root-default", "batch", "id -u", "root"));
  ASSERT_TRUE(WaitState(alloc, "dead"));
  EXPECT_TRUE(Event(alloc, "Task hook failed").is_null()) << json::serialize(Events(alloc));
  if (::geteuid() == 0) {
    EXPECT_EQ(ReadFile(TaskLog(alloc, "stdout")), "0\n");
  }
}

// ---- cgroups ----------------------------------------------------------------------

TEST_F(ContainmentTest, NodeSaysWhichCgroups) {
  Launch();
  json::value self = GetJson("/v1/agent/self");
  json::value node = GetJson("/v1/node/" + Str(self, "/stats/client/node_id"));
  std::string why = CgroupSkipReason();
  if (!why.empty()) {
    EXPECT_EQ(Str(node, "/Attributes/drover.containment"), "off");
    EXPECT_NE(agent_->LogTail(100000).find("containment: off"), std::string::npos);
    return;
  }
  EXPECT_EQ(Str(node, "/Attributes/drover.containment"), "cgroups");
  std::string version = Str(node, "/Attributes/os.cgroups.version");
  EXPECT_TRUE(version == "1" || version == "2") << version;
  EXPECT_EQ(Str(node, "/Attributes/unique.cgroup.mountpoint"), "/sys/fs/cgroup");
  EXPECT_NE(agent_->LogTail(100000).find("containment: cgroup v" + version), std::string::npos);
}

TEST_F(ContainmentTest, SetsidGrandchildDiesWhenJobStops) {
  SKIP_WITHOUT_CGROUPS();
  Launch();
  std::string alloc = Submit(ShJob(
      "setsid", "service",
      "setsid sh -c 'echo $$ > local/gc.pid; exec sleep 1000' & exec sleep 1000"));
  ASSERT_TRUE(WaitState(alloc, "running"));
  std::string text = WaitForTaskFile(alloc, "gc.pid");
  const pid_t gc = std::atoi(text.c_str());
  ASSERT_GT(gc, 0) << text;
  ASSERT_TRUE(ProcessAlive(gc));
  // It left the task's session, but not its cgroup.
  EXPECT_EQ(::getsid(gc), gc);
  std::string cg = ReadFile("/proc/" + std::to_string(gc) + "/cgroup");
  EXPECT_NE(cg.find("/drover/" + alloc + ".t"), std::string::npos) << cg;

  HttpResponse r = Call("DELETE", "/v1/job/setsid");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(WaitState(alloc, "dead"));
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(gc); }, kWait)) << "grandchild " << gc << " survived";
  // The task's group is gone with it.
  EXPECT_TRUE(WaitFor([&] { return !fs::exists(DroverParent("pids") / (alloc + ".t")); }, kWait));
  EXPECT_FALSE(fs::exists(DroverParent("memory") / (alloc + ".t")));
}

TEST_F(ContainmentTest, GroupSurvivesAgentRestartAndStillKillsAll) {
  SKIP_WITHOUT_CGROUPS();
  Launch();
  std::string alloc = Submit(ShJob(
      "restart", "service",
      "setsid sh -c 'echo $$ > local/gc.pid; exec sleep 1000' & exec sleep 1000"));
  ASSERT_TRUE(WaitState(alloc, "running"));
  const pid_t gc = std::atoi(WaitForTaskFile(alloc, "gc.pid").c_str());
  ASSERT_GT(gc, 0);

  // A crash: the executor and the task keep running; the new agent adopts
  // them and still knows the group.
  ASSERT_OK(agent_->Kill());
  ASSERT_OK(agent_->Restart());
  client_ = std::make_unique<HttpClient>(agent_->Client());
  ASSERT_EQ(TaskState(alloc), "running");
  json::value stats = GetJson("/v1/client/allocation/" + alloc + "/stats");
  json::array measured = At(stats, "/Tasks/t/ResourceUsage/MemoryStats/Measured").is_array()
                             ? At(stats, "/Tasks/t/ResourceUsage/MemoryStats/Measured").get_array()
                             : json::array{};
  EXPECT_NE(std::find(measured.begin(), measured.end(), json::value("Usage")), measured.end())
      << json::serialize(stats);

  HttpResponse r = Call("DELETE", "/v1/job/restart");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(WaitState(alloc, "dead"));
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(gc); }, kWait)) << "grandchild " << gc << " survived";
  EXPECT_TRUE(WaitFor([&] { return !fs::exists(DroverParent("pids") / (alloc + ".t")); }, kWait));
}

TEST_F(ContainmentTest, MemoryMaxOomKillsAndEventsSayIt) {
  SKIP_WITHOUT_CGROUPS();
  Launch();
  // tail keeps all of a line that never ends: it grows past the limit.
  std::string alloc = Submit(ShJob("oom", "batch", "head -c 400M /dev/zero | tail",
                                   "", /*memory_mb=*/16, /*memory_max_mb=*/32));
  ASSERT_TRUE(WaitState(alloc, "dead"));
  json::value e = Event(alloc, "Terminated");
  ASSERT_FALSE(e.is_null()) << json::serialize(Events(alloc));
  EXPECT_EQ(Str(e, "/Details/oom_killed"), "true") << json::serialize(e);
  EXPECT_EQ(Str(e, "/Details/exit_message"), "OOM Killed");
  EXPECT_NE(Str(e, "/DisplayMessage").find("Exit Message: \"OOM Killed\""), std::string::npos)
      << Str(e, "/DisplayMessage");
  EXPECT_EQ(Str(e, "/Details/exit_code"), "137");  // tail died of SIGKILL
  EXPECT_EQ(Str(GetJson("/v1/allocation/" + alloc), "/ClientStatus"), "failed");
}

TEST_F(ContainmentTest, OomKillWhileAgentIsDownIsSeenOnRestore) {
  SKIP_WITHOUT_CGROUPS();
  Launch();
  std::string alloc = Submit(ShJob("oom-restore", "batch",
                                   "while [ ! -e local/go ]; do sleep 0.1; done; head -c 400M /dev/zero | tail",
                                   "", /*memory_mb=*/16, /*memory_max_mb=*/32));
  ASSERT_TRUE(WaitState(alloc, "running"));
  ASSERT_OK(agent_->Kill());
  std::ofstream(agent_->data_dir() / "alloc" / alloc / "t/local/go") << "go\n";
  // The executor records the exit, with the OOM kill, while no agent runs.
  fs::path exit_file = agent_->data_dir() / "executor" / alloc / "t/exit";
  ASSERT_TRUE(WaitFor([&] { return fs::exists(exit_file); }, kWait));
  ASSERT_OK(agent_->Restart());
  client_ = std::make_unique<HttpClient>(agent_->Client());
  ASSERT_TRUE(WaitState(alloc, "dead"));
  json::value e = Event(alloc, "Terminated");
  ASSERT_FALSE(e.is_null()) << json::serialize(Events(alloc));
  EXPECT_EQ(Str(e, "/Details/oom_killed"), "true") << json::serialize(e);
  EXPECT_EQ(Str(e, "/Details/exit_message"), "OOM Killed");
}

TEST_F(ContainmentTest, WithinLimitIsNotOomKilled) {
  SKIP_WITHOUT_CGROUPS();
  Launch();
  std::string alloc = Submit(ShJob("no-oom", "batch", "head -c 1M /dev/zero | tail | wc -c",
                                   "", /*memory_mb=*/16, /*memory_max_mb=*/64));
  ASSERT_TRUE(WaitState(alloc, "dead"));
  json::value e = Event(alloc, "Terminated");
  ASSERT_FALSE(e.is_null());
  EXPECT_EQ(Str(e, "/Details/oom_killed"), "false");
  EXPECT_EQ(Str(e, "/Details/exit_code"), "0");
}

TEST_F(ContainmentTest, StatsComeFromTheCgroup) {
  SKIP_WITHOUT_CGROUPS();
  Launch();
  // 8 MB of page cache, charged to the task's group.
  std::string alloc = Submit(ShJob(
      "stats", "service",
      "dd if=/dev/zero of=local/f bs=1M count=8 2>/dev/null; echo done > local/ready; exec sleep 1000"));
  ASSERT_TRUE(WaitState(alloc, "running"));
  WaitForTaskFile(alloc, "ready");
  json::value stats = GetJson("/v1/client/allocation/" + alloc + "/stats");
  const json::value& mem = At(stats, "/Tasks/t/ResourceUsage/MemoryStats");
  EXPECT_GT(Int(mem, "/Cache"), 0) << json::serialize(mem);
  EXPECT_GT(Int(mem, "/Usage"), 0) << json::serialize(mem);
  EXPECT_TRUE(At(mem, "/MappedFile").is_number()) << json::serialize(mem);
  std::set<std::string> measured;
  for (const auto& m : At(mem, "/Measured").get_array()) measured.insert(std::string(m.get_string()));
  EXPECT_TRUE(measured.count("Cache") && measured.count("Usage")) << json::serialize(mem);
  std::set<std::string> cpu;
  for (const auto& m : At(stats, "/Tasks/t/ResourceUsage/CpuStats/Measured").get_array()) {
    cpu.insert(std::string(m.get_string()));
  }
  EXPECT_TRUE(cpu.count("Throttled Periods")) << json::serialize(stats);
  // The allocation total carries the same figures.
  EXPECT_GT(Int(stats, "/ResourceUsage/MemoryStats/Cache"), 0);
  ASSERT_EQ(Call("DELETE", "/v1/job/stats").status, 200);
  ASSERT_TRUE(WaitState(alloc, "dead"));
}

TEST_F(ContainmentTest, PidsLimitBoundsForks) {
  SKIP_WITHOUT_CGROUPS();
  Launch(R"({"client": {"options": {"drover.pids_max": "12"}}})");
  // 40 background sleeps do not fit in 12 pids: the shell cannot fork.
  std::string alloc = Submit(ShJob(
      "pids", "batch",
      "i=0; while [ $i -lt 40 ]; do sleep 1000 & i=$((i+1)); done; echo all-forked"));
  ASSERT_TRUE(WaitState(alloc, "dead"));
  EXPECT_EQ(ReadFile(TaskLog(alloc, "stdout")).find("all-forked"), std::string::npos);
  std::string err = ReadFile(TaskLog(alloc, "stderr"));
  EXPECT_NE(err.find("fork"), std::string::npos) << err;
  // The sleeps that did start went with the task, and so did its group.
  EXPECT_TRUE(WaitFor([&] { return !fs::exists(DroverParent("pids") / (alloc + ".t")); }, kWait));
}

TEST_F(ContainmentTest, PidsLimitIsConfigured) {
  SKIP_WITHOUT_CGROUPS();
  Launch(R"({"client": {"options": {"drover.pids_max": "77"}}})");
  std::string alloc = Submit(ShJob("pids-max", "service", "exec sleep 1000"));
  ASSERT_TRUE(WaitState(alloc, "running"));
  EXPECT_EQ(ReadFile(DroverParent("pids") / (alloc + ".t") / "pids.max"), "77\n");
  ASSERT_EQ(Call("DELETE", "/v1/job/pids-max").status, 200);
  ASSERT_TRUE(WaitState(alloc, "dead"));
}

}  // namespace
}  // namespace drover::testing
