// End-to-end: the real `drover agent` binary, real HTTP, real processes.
//
// The foundation scenario: register a job whose task is a real command, see
// it run, wake a blocking query with a task state change, kill the task and
// see the restart policy act, stop the job, then crash the agent and find
// everything as it was.
#include <signal.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <fstream>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/agent_process.h"
#include "tests/support/shared_agent.h"
#include "tests/support/json_assert.h"
#include "tests/support/http_client.h"

namespace drover::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::int64_t kSecond = 1'000'000'000;  // Nomad durations are ns

// Writes its pid where the test can read it, and its environment's alloc id
// to stdout, then becomes `sleep` under the same pid.
constexpr const char* kLongRunningScript =
    "echo $$ > \"$NOMAD_ALLOC_DIR/t.pid\"; echo \"alloc=$NOMAD_ALLOC_ID\"; exec sleep 300";

// `{"Job": ...}` with one group "g" of one task "t" running `script` in sh.
json::value JobRequest(std::string_view id, std::string_view type, std::string_view script,
                       int restart_attempts = 2) {
  json::object task{
      {"Name", "t"},
      {"Driver", "raw_exec"},
      {"Config", json::object{{"command", "/bin/sh"}, {"args", json::array{"-c", script}}}},
  };
  json::object group{
      {"Name", "g"},
      {"Count", 1},
      {"RestartPolicy", json::object{{"Attempts", restart_attempts},
                                     {"Interval", 60 * kSecond},
                                     {"Delay", kSecond / 10},
                                     {"Mode", "fail"}}},
      // A failed allocation stays the one this test looks at.
      {"ReschedulePolicy", json::object{{"Attempts", 0}, {"Unlimited", false}}},
      {"Tasks", json::array{task}},
  };
  return json::object{{"Job", json::object{{"ID", id},
                                           {"Name", id},
                                           {"Type", type},
                                           {"Datacenters", json::array{"dc1"}},
                                           {"TaskGroups", json::array{group}}}}};
}

// Go's time.Time in JSON: an RFC 3339 string, "0001-01-01T00:00:00Z" when unset.
bool IsSetTime(const json::value& v) {
  return v.is_string() && !v.get_string().empty() && !v.get_string().starts_with("0001-01-01");
}

std::vector<std::string> EventTypes(const json::value& alloc) {
  std::vector<std::string> types;
  const json::value& events = At(alloc, "/TaskStates/t/Events");
  if (!events.is_array()) return types;
  for (const auto& e : events.get_array()) types.push_back(Str(e, "/Type"));
  return types;
}

// The `nth` event of `type` of task "t", or null.
const json::value& Event(const json::value& alloc, std::string_view type, int nth = 0) {
  static const json::value kNull;
  const json::value& events = At(alloc, "/TaskStates/t/Events");
  if (!events.is_array()) return kNull;
  for (const auto& e : events.get_array()) {
    if (Str(e, "/Type") == type && nth-- == 0) return e;
  }
  return kNull;
}

bool InOrder(const std::vector<std::string>& seen, const std::vector<std::string>& wanted) {
  auto it = seen.begin();
  for (const auto& w : wanted) {
    it = std::find(it, seen.end(), w);
    if (it == seen.end()) return false;
    ++it;
  }
  return true;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return "[" + out + "]";
}

// JSON pointers where `a` and `b` differ, for readable failure messages.
void Diff(const json::value& a, const json::value& b, const std::string& at,
          std::vector<std::string>& out) {
  if (a.is_object() && b.is_object()) {
    for (const auto& [k, v] : a.get_object()) {
      const json::value* other = b.get_object().if_contains(k);
      if (other == nullptr) {
        out.push_back(at + "/" + std::string(k) + " (gone)");
      } else {
        Diff(v, *other, at + "/" + std::string(k), out);
      }
    }
    for (const auto& [k, v] : b.get_object()) {
      if (!a.get_object().contains(k)) out.push_back(at + "/" + std::string(k) + " (new)");
    }
  } else if (a.is_array() && b.is_array() && a.get_array().size() == b.get_array().size()) {
    for (std::size_t i = 0; i < a.get_array().size(); ++i) {
      Diff(a.get_array()[i], b.get_array()[i], at + "/" + std::to_string(i), out);
    }
  } else if (a != b) {
    out.push_back(at + ": " + json::serialize(a) + " -> " + json::serialize(b));
  }
}

std::string Describe(std::string_view method, std::string_view path, const HttpResponse& r) {
  return std::string(method) + " " + std::string(path) + " -> " + std::to_string(r.status) +
         " " + r.body.substr(0, 500);
}

std::uint64_t IndexHeader(const HttpResponse& r) {
  const auto h = r.headers.Get("X-Nomad-Index");
  return h ? std::strtoull(std::string(*h).c_str(), nullptr, 10) : 0;
}

class E2ETest : public ::testing::Test {
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
  }

  // `method path` must answer 200 with a JSON body.
  Result<json::value> Call(std::string_view method, std::string_view path,
                           std::string_view body = {}) {
    HttpClient client = agent_->Client();
    ASSIGN_OR_RETURN(HttpResponse r, client.Request(method, path, body));
    last_index_ = IndexHeader(r);
    if (r.status != 200) return Internal(Describe(method, path, r));
    auto parsed = ParseJson(r.body);
    if (!parsed.ok()) return Internal(Describe(method, path, r) + ": " + parsed.status().message());
    return parsed;
  }

  Result<json::value> Get(std::string_view path) { return Call("GET", path); }

  Result<json::value> Register(const json::value& request) {
    return Call("PUT", "/v1/jobs", json::serialize(request));
  }

  struct Polled {
    bool met = false;
    json::value last;  // the last JSON seen, or the last error as a string
  };

  // Polls GET `path` until `done` holds for its JSON.
  Polled PollUntil(const std::string& path, const std::function<bool(const json::value&)>& done,
                   std::chrono::milliseconds timeout = 20s) {
    Polled polled;
    json::value& last = polled.last;
    polled.met = WaitFor(
        [&] {
          auto v = Get(path);
          last = v.ok() ? *v : json::value(v.status().ToString());
          return v.ok() && done(*v);
        },
        timeout, 50ms);
    return polled;
  }

  // The id of job `job`'s one allocation once its ClientStatus is `status`.
  std::string AllocIdOnce(std::string_view job, std::string_view status) {
    std::string id;
    const Polled list = PollUntil(
        "/v1/allocations",
        [&](const json::value& l) {
          if (!l.is_array()) return false;
          for (const auto& stub : l.get_array()) {
            if (Str(stub, "/JobID") == job && Str(stub, "/ClientStatus") == status) {
              id = Str(stub, "/ID");
              return true;
            }
          }
          return false;
        });
    EXPECT_TRUE(list.met) << "no allocation of job " << job << " became " << status
                          << "; last GET /v1/allocations: " << json::serialize(list.last);
    return id;
  }

  // The pid the task wrote, once it is not `old_pid` and is alive; -1 if none.
  pid_t TaskPid(const std::string& alloc_id, pid_t old_pid = 0) {
    const auto path = agent_->data_dir() / "alloc" / alloc_id / "alloc" / "t.pid";
    pid_t pid = -1;
    WaitFor(
        [&] {
          pid_t read = -1;
          std::ifstream(path) >> read;
          if (read <= 0 || read == old_pid || !ProcessAlive(read)) return false;
          pid = read;
          return true;
        },
        20s);
    return pid;
  }

  std::string ReadStdout(const std::string& alloc_id) {
    std::ifstream in(agent_->data_dir() / "alloc" / alloc_id / "alloc" / "logs" / "t.stdout.0");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::unique_ptr<AgentProcess> agent_;
  std::uint64_t last_index_ = 0;  // X-Nomad-Index of the last Call
};

using FoundationE2ETest = E2ETest;

TEST_F(FoundationE2ETest, JobRunsRestartsStopsAndSurvivesAgentKill) {
  // Register.
  ASSERT_OK_AND_ASSIGN(const json::value reg,
                       Register(JobRequest("web", "service", kLongRunningScript)));
  const std::string eval_id = Str(reg, "/EvalID");
  EXPECT_EQ(eval_id.size(), 36u) << json::serialize(reg);
  EXPECT_GT(Int(reg, "/JobModifyIndex"), 0) << json::serialize(reg);

  // The allocation runs, as GET /v1/allocations shows.
  const std::string alloc_id = AllocIdOnce("web", "running");
  ASSERT_FALSE(alloc_id.empty());
  {
    HttpClient client = agent_->Client();
    ASSERT_OK_AND_ASSIGN(const HttpResponse r, client.Get("/v1/allocations"));
    EXPECT_GT(IndexHeader(r), 0u) << "X-Nomad-Index missing or 0";
    EXPECT_EQ(r.headers.Get("X-Nomad-KnownLeader").value_or("<missing>"), "true");
    EXPECT_EQ(r.headers.Get("X-Nomad-LastContact").value_or("<missing>"), "0");
  }
  const std::string alloc_path = "/v1/allocation/" + alloc_id;
  ASSERT_OK_AND_ASSIGN(json::value alloc, Get(alloc_path));
  EXPECT_EQ(Str(alloc, "/Name"), "web.g[0]");
  EXPECT_EQ(Str(alloc, "/DesiredStatus"), "run");
  EXPECT_EQ(Str(alloc, "/TaskStates/t/State"), "running");
  EXPECT_EQ(Str(alloc, "/Job/ID"), "web");
  EXPECT_TRUE(InOrder(EventTypes(alloc), {"Received", "Task Setup", "Started"}))
      << Join(EventTypes(alloc));

  const pid_t first_pid = TaskPid(alloc_id);
  ASSERT_GT(first_pid, 0) << "the task never wrote its pid to $NOMAD_ALLOC_DIR/t.pid";
  EXPECT_NE(ReadStdout(alloc_id).find("alloc=" + alloc_id), std::string::npos)
      << "stdout log: '" << ReadStdout(alloc_id) << "'";

  // A blocking query on the allocation waits, then wakes when the task dies.
  ASSERT_OK_AND_ASSIGN(alloc, Get(alloc_path));
  const std::uint64_t index = last_index_;
  ASSERT_GT(index, 0u);
  auto waiter = std::async(std::launch::async, [&] {
    HttpClient client = agent_->Client(30s);
    auto r = client.Get(alloc_path + "?index=" + std::to_string(index) + "&wait=20s");
    return std::make_pair(std::move(r), Clock::now());
  });
  ASSERT_EQ(waiter.wait_for(500ms), std::future_status::timeout)
      << "the blocking query returned before anything changed";
  const auto killed_at = Clock::now();
  ASSERT_EQ(::kill(first_pid, SIGKILL), 0);
  ASSERT_EQ(waiter.wait_for(15s), std::future_status::ready);
  auto [woken, woke_at] = waiter.get();
  ASSERT_TRUE(woken.ok()) << woken.status().ToString();
  EXPECT_EQ(woken->status, 200) << Describe("GET", alloc_path, *woken);
  EXPECT_GT(IndexHeader(*woken), index);
  EXPECT_LT(woke_at - killed_at, 5s) << "woke only when the wait ran out";

  // The restart policy restarts the task.
  const Polled restarted = PollUntil(
      alloc_path,
      [](const json::value& a) {
        return Int(a, "/TaskStates/t/Restarts") == 1 && Str(a, "/TaskStates/t/State") == "running";
      });
  ASSERT_TRUE(restarted.met) << "not restarted: " << json::serialize(restarted.last);
  alloc = restarted.last;
  EXPECT_TRUE(InOrder(EventTypes(alloc), {"Started", "Terminated", "Restarting", "Started"}))
      << Join(EventTypes(alloc));
  const json::value& terminated = Event(alloc, "Terminated");
  EXPECT_EQ(Int(terminated, "/Signal"), 9) << json::serialize(terminated);
  EXPECT_EQ(Int(terminated, "/ExitCode"), 137) << json::serialize(terminated);
  EXPECT_TRUE(IsSetTime(At(alloc, "/TaskStates/t/LastRestart")))
      << json::serialize(At(alloc, "/TaskStates/t/LastRestart"));
  EXPECT_EQ(At(alloc, "/TaskStates/t/Failed"), json::value(false));
  EXPECT_EQ(Str(alloc, "/ClientStatus"), "running");
  const pid_t second_pid = TaskPid(alloc_id, first_pid);
  ASSERT_GT(second_pid, 0) << "no new live task pid after the restart";
  EXPECT_FALSE(ProcessAlive(first_pid));

  // Stopping the job kills the task.
  ASSERT_OK_AND_ASSIGN(const json::value stop, Call("DELETE", "/v1/job/web"));
  EXPECT_EQ(Str(stop, "/EvalID").size(), 36u) << json::serialize(stop);
  const Polled stopped = PollUntil(
      alloc_path,
      [](const json::value& a) {
        return Str(a, "/DesiredStatus") == "stop" && Str(a, "/TaskStates/t/State") == "dead";
      });
  ASSERT_TRUE(stopped.met) << "not stopped: " << json::serialize(stopped.last);
  alloc = stopped.last;
  EXPECT_EQ(Str(alloc, "/ClientStatus"), "complete");
  EXPECT_TRUE(InOrder(EventTypes(alloc), {"Restarting", "Started", "Killing", "Killed"}))
      << Join(EventTypes(alloc));
  EXPECT_FALSE(ProcessAlive(second_pid));
  EXPECT_TRUE(WaitFor(
      [&] {
        auto left = ProcessesUsing(agent_->data_dir());
        std::erase(left, agent_->pid());
        return left.empty();
      },
      10s))
      << "processes of the stopped allocation are still running";
  ASSERT_OK_AND_ASSIGN(const json::value job, Get("/v1/job/web"));
  EXPECT_EQ(At(job, "/Stop"), json::value(true)) << json::serialize(job);
  EXPECT_EQ(Str(job, "/Status"), "dead") << json::serialize(job);

  // A crash of the agent loses nothing.
  const std::vector<std::string> paths = {
      "/v1/jobs",           "/v1/job/web", "/v1/job/web/allocations",
      "/v1/allocations",    alloc_path,    "/v1/evaluation/" + eval_id,
  };
  std::map<std::string, std::pair<json::value, std::uint64_t>> before;
  for (const auto& p : paths) {
    ASSERT_OK_AND_ASSIGN(before[p].first, Get(p));
    before[p].second = last_index_;
  }
  ASSERT_OK(agent_->Kill());
  ASSERT_OK(agent_->Restart());
  std::this_thread::sleep_for(1s);  // let a restored agent write what it would
  for (const auto& p : paths) {
    ASSERT_OK_AND_ASSIGN(const json::value after, Get(p));
    std::vector<std::string> diff;
    Diff(before[p].first, after, "", diff);
    EXPECT_TRUE(diff.empty()) << "GET " << p << " changed across the restart: " << Join(diff);
    EXPECT_EQ(last_index_, before[p].second) << "X-Nomad-Index of GET " << p;
  }
  ASSERT_OK_AND_ASSIGN(const json::value nodes, Get("/v1/nodes"));
  ASSERT_TRUE(nodes.is_array() && nodes.get_array().size() == 1) << json::serialize(nodes);
  EXPECT_EQ(Str(nodes.get_array()[0], "/ID"), Str(alloc, "/NodeID")) << "node identity changed";
}

TEST_F(FoundationE2ETest, RunningTaskSurvivesAgentStopAndKill) {
  ASSERT_OK(Register(JobRequest("keep", "service", kLongRunningScript)).status());
  const std::string alloc_id = AllocIdOnce("keep", "running");
  ASSERT_FALSE(alloc_id.empty());
  const pid_t pid = TaskPid(alloc_id);
  ASSERT_GT(pid, 0);
  ASSERT_OK_AND_ASSIGN(const json::value before, Get("/v1/allocation/" + alloc_id));

  for (const bool crash : {false, true}) {
    SCOPED_TRACE(crash ? "after SIGKILL" : "after SIGTERM");
    if (crash) ASSERT_OK(agent_->Kill());
    ASSERT_OK(agent_->Restart());  // SIGTERM first when still running
    ASSERT_OK_AND_ASSIGN(const json::value after, Get("/v1/allocation/" + alloc_id));
    EXPECT_EQ(At(after, "/TaskStates"), At(before, "/TaskStates"));
    EXPECT_EQ(Str(after, "/ClientStatus"), "running");
    std::this_thread::sleep_for(300ms);
    EXPECT_TRUE(ProcessAlive(pid)) << "the agent restart stopped or replaced the task";
  }

  // The restored agent still watches the task: its death restarts it.
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  const Polled restarted = PollUntil(
      "/v1/allocation/" + alloc_id,
      [](const json::value& a) {
        return Int(a, "/TaskStates/t/Restarts") == 1 && Str(a, "/TaskStates/t/State") == "running";
      });
  EXPECT_TRUE(restarted.met) << "no restart after the restore: " << json::serialize(restarted.last);
  EXPECT_GT(TaskPid(alloc_id, pid), 0);
}

TEST_F(FoundationE2ETest, BatchJobCompletesWithoutRestart) {
  ASSERT_OK(Register(JobRequest("once", "batch", "echo done")).status());
  const std::string alloc_id = AllocIdOnce("once", "complete");
  ASSERT_FALSE(alloc_id.empty());
  ASSERT_OK_AND_ASSIGN(const json::value alloc, Get("/v1/allocation/" + alloc_id));
  EXPECT_EQ(Str(alloc, "/TaskStates/t/State"), "dead");
  EXPECT_EQ(At(alloc, "/TaskStates/t/Failed"), json::value(false));
  EXPECT_EQ(Int(alloc, "/TaskStates/t/Restarts"), 0);
  EXPECT_TRUE(IsSetTime(At(alloc, "/TaskStates/t/FinishedAt")))
      << json::serialize(At(alloc, "/TaskStates/t/FinishedAt"));
  const json::value& terminated = Event(alloc, "Terminated");
  EXPECT_EQ(Int(terminated, "/ExitCode"), 0) << json::serialize(terminated);
  const auto types = EventTypes(alloc);
  EXPECT_EQ(std::count(types.begin(), types.end(), "Restarting"), 0) << Join(types);
  EXPECT_EQ(ReadStdout(alloc_id), "done\n");

  // Purging removes the job; its finished allocation stays readable.
  ASSERT_OK(Call("DELETE", "/v1/job/once?purge=true").status());
  HttpClient client = agent_->Client();
  ASSERT_OK_AND_ASSIGN(const HttpResponse gone, client.Get("/v1/job/once"));
  EXPECT_EQ(gone.status, 404) << Describe("GET", "/v1/job/once", gone);
  ASSERT_OK(Get("/v1/allocation/" + alloc_id).status());
}

TEST_F(FoundationE2ETest, FailingBatchTaskRestartsOnceThenFails) {
  ASSERT_OK(Register(JobRequest("fails", "batch", "exit 3", /*restart_attempts=*/1)).status());
  const std::string alloc_id = AllocIdOnce("fails", "failed");
  ASSERT_FALSE(alloc_id.empty());
  ASSERT_OK_AND_ASSIGN(const json::value alloc, Get("/v1/allocation/" + alloc_id));
  EXPECT_EQ(Str(alloc, "/TaskStates/t/State"), "dead");
  EXPECT_EQ(At(alloc, "/TaskStates/t/Failed"), json::value(true));
  EXPECT_EQ(Int(alloc, "/TaskStates/t/Restarts"), 1);
  const auto types = EventTypes(alloc);
  EXPECT_TRUE(InOrder(types, {"Started", "Terminated", "Restarting", "Started", "Terminated",
                              "Not Restarting"}))
      << Join(types);
  EXPECT_EQ(std::count(types.begin(), types.end(), "Restarting"), 1) << Join(types);
  EXPECT_EQ(Int(Event(alloc, "Terminated", 0), "/ExitCode"), 3);
  EXPECT_EQ(Int(Event(alloc, "Terminated", 1), "/ExitCode"), 3);
}

// The error answers need no tasks: one agent serves them all.
class ApiErrorsE2ETest : public SharedAgentTest<ApiErrorsE2ETest> {
 protected:

  HttpResponse Send(std::string_view method, std::string_view path, std::string_view body = {}) {
    HttpClient client = agent_->Client();
    auto r = client.Request(method, path, body);
    EXPECT_TRUE(r.ok()) << method << " " << path << ": " << r.status().ToString();
    return r.ok() ? *r : HttpResponse{};
  }

  static std::string Lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }
};

TEST_F(ApiErrorsE2ETest, MalformedJobJsonIs400) {
  const HttpResponse r = Send("PUT", "/v1/jobs", R"({"Job": {"ID": "x",)");
  EXPECT_EQ(r.status, 400) << Describe("PUT", "/v1/jobs", r);
}

TEST_F(ApiErrorsE2ETest, UnknownAllocIs404) {
  const std::string path = "/v1/allocation/9e2a0b4c-1111-2222-3333-444455556666";
  const HttpResponse r = Send("GET", path);
  EXPECT_EQ(r.status, 404) << Describe("GET", path, r);
  EXPECT_NE(r.body.find("alloc not found"), std::string::npos) << r.body;
}

TEST_F(ApiErrorsE2ETest, TaskWithoutCommandIs400NamingTheField) {
  json::value request = JobRequest("nocmd", "service", "true");
  request.at_pointer("/Job/TaskGroups/0/Tasks/0").as_object()["Config"] = json::object{};
  const HttpResponse r = Send("PUT", "/v1/jobs", json::serialize(request));
  EXPECT_EQ(r.status, 400) << Describe("PUT", "/v1/jobs", r);
  EXPECT_NE(Lower(r.body).find("command"), std::string::npos) << r.body;
}

TEST_F(ApiErrorsE2ETest, TaskWithoutDriverIs400NamingTheField) {
  json::value request = JobRequest("nodriver", "service", "true");
  request.at_pointer("/Job/TaskGroups/0/Tasks/0").as_object().erase("Driver");
  const HttpResponse r = Send("PUT", "/v1/jobs", json::serialize(request));
  EXPECT_EQ(r.status, 400) << Describe("PUT", "/v1/jobs", r);
  EXPECT_NE(Lower(r.body).find("driver"), std::string::npos) << r.body;
}

TEST_F(ApiErrorsE2ETest, WrongMethodIs405) {
  const HttpResponse r = Send("DELETE", "/v1/allocations");
  EXPECT_EQ(r.status, 405) << Describe("DELETE", "/v1/allocations", r);
}

TEST_F(ApiErrorsE2ETest, BadIndexParameterIs400) {
  const HttpResponse r = Send("GET", "/v1/allocations?index=abc");
  EXPECT_EQ(r.status, 400) << Describe("GET", "/v1/allocations?index=abc", r);
}

}  // namespace
}  // namespace drover::testing
