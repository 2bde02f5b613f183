// End-to-end: `alloc exec` over a WebSocket against a real agent and real
// tasks (api/exec_session.h). One agent serves the suite; a long-running
// service task is the target of most tests.
#include <signal.h>
#include <sys/types.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/text.h"
#include "tests/support/agent_process.h"
#include "tests/support/http_client.h"
#include "tests/support/raw_http.h"
#include "tests/support/shared_agent.h"
#include "tests/support/ws_client.h"

namespace drover::testing {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::int64_t kSecond = 1'000'000'000;
constexpr auto kWait = 60s;

json::value JobRequest(const std::string& id, const std::string& type, const std::string& task,
                       const std::string& script) {
  json::object t{
      {"Name", task},
      {"Driver", "raw_exec"},
      {"Config", json::object{{"command", "/bin/sh"}, {"args", json::array{"-c", script}}}},
      {"KillTimeout", kSecond},
  };
  json::object group{
      {"Name", "g"},
      {"Count", 1},
      {"RestartPolicy", json::object{{"Attempts", 0}, {"Mode", "fail"}}},
      {"ReschedulePolicy", json::object{{"Attempts", 0}, {"Unlimited", false}}},
      {"Tasks", json::array{t}},
  };
  return json::object{{"Job", json::object{{"ID", id},
                                           {"Name", id},
                                           {"Type", type},
                                           {"Datacenters", json::array{"dc1"}},
                                           {"TaskGroups", json::array{group}}}}};
}

// What a session delivered.
struct Outcome {
  std::string out;
  std::string err;
  bool out_closed = false;
  bool err_closed = false;
  std::optional<int> exit_code;
  int close_code = 0;  // 0: the connection ended without a close frame
  std::string close_reason;
  std::string error;  // a failure of the client itself
};

// Reads frames until the server's close frame (answered) or the end.
// `on_output` sees the output so far after each output frame.
Outcome Collect(WsClient& ws, const std::function<void(const Outcome&)>& on_output = nullptr) {
  Outcome o;
  for (;;) {
    auto f = ws.Next();
    if (!f.ok()) {
      o.error = f.status().ToString();
      return o;
    }
    if (f->opcode == WsClient::kClose) {
      o.close_code = f->close_code();
      o.close_reason = f->close_reason();
      (void)ws.SendClose(o.close_code == 0 ? 1000 : o.close_code);
      return o;
    }
    if (f->opcode != WsClient::kText) continue;
    auto v = ParseJson(f->payload);
    if (!v.ok() || !v->is_object()) {
      o.error = "bad frame: " + f->payload;
      return o;
    }
    const json::object& m = v->as_object();
    for (const char* stream : {"stdout", "stderr"}) {
      const json::value* s = m.if_contains(stream);
      if (s == nullptr) continue;
      std::string& sink = std::string(stream) == "stdout" ? o.out : o.err;
      if (const json::value* d = s->as_object().if_contains("data")) {
        sink += Base64Decode(d->as_string()).value_or("<bad base64>");
      }
      if (s->as_object().if_contains("close")) {
        (std::string(stream) == "stdout" ? o.out_closed : o.err_closed) = true;
      }
    }
    if (const json::value* e = m.if_contains("exited"); e && e->as_bool()) {
      const json::object& r = m.at("result").as_object();
      o.exit_code = r.contains("exit_code") ? static_cast<int>(r.at("exit_code").as_int64()) : 0;
    }
    if (on_output) on_output(o);
  }
}

std::string Stdin(std::string_view data) {
  return json::serialize(json::object{{"stdin", json::object{{"data", Base64Encode(data)}}}});
}

std::string StdinClose() { return R"({"stdin":{"close":true}})"; }

std::string Resize(int h, int w) {
  return json::serialize(json::object{{"tty_size", json::object{{"height", h}, {"width", w}}}});
}

class ExecE2ETest : public SharedAgentTest<ExecE2ETest> {
 protected:
  void TearDown() override {
    if (HasFailure() && agent_ != nullptr)
      std::cerr << "---- agent log tail ----\n" << agent_->LogTail(6000) << "\n";
  }

  // Registers the job; the allocation's id once `task` is in `state`.
  static std::string Run(const std::string& id, const std::string& type, const std::string& task,
                         const std::string& script, const std::string& state) {
    HttpClient client = agent_->Client();
    return RunJobUntil(client, JobRequest(id, type, task, script), id, task, state, kWait);
  }

  // The suite's long-running task.
  static const std::string& Service() {
    static const std::string id = Run("svc", "service", "main", "exec sleep 3600", "running");
    return id;
  }

  static std::string Target(const std::string& alloc, const std::string& task,
                            const std::vector<std::string>& command, bool tty = false) {
    json::array cmd;
    for (const auto& c : command) cmd.push_back(json::string(c));
    return "/v1/client/allocation/" + alloc + "/exec?task=" + PercentEncode(task) +
           "&tty=" + (tty ? "true" : "false") + "&command=" + PercentEncode(json::serialize(cmd));
  }

  static Result<WsClient> Open(const std::string& target,
                               const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    return WsClient::Connect(agent_->port(), target, headers, kWait);
  }
};

TEST_F(ExecE2ETest, NonTtyCommandGivesStdoutStderrAndExitCode) {
  const std::string alloc = Service();
  ASSERT_FALSE(alloc.empty());
  auto ws = Open(Target(alloc, "main", {"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}));
  ASSERT_TRUE(ws.ok()) << ws.status().ToString();
  ASSERT_EQ(ws->status(), 101) << ws->head();
  EXPECT_NE(ws->head().find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), std::string::npos)
      << ws->head();
  Outcome o = Collect(*ws);
  EXPECT_EQ(o.error, "");
  EXPECT_EQ(o.out, "out\n");
  EXPECT_EQ(o.err, "err\n");
  EXPECT_TRUE(o.out_closed);
  EXPECT_TRUE(o.err_closed);
  EXPECT_EQ(o.exit_code, 3);
  EXPECT_EQ(o.close_code, 1000);
}

TEST_F(ExecE2ETest, CommandRunsInTheTaskEnvironmentAndDirectory) {
  const std::string alloc = Service();
  ASSERT_FALSE(alloc.empty());
  auto ws = Open(Target(alloc, "main",
                        {"/bin/sh", "-c", "pwd; echo $NOMAD_TASK_NAME $NOMAD_ALLOC_ID"}));
  ASSERT_TRUE(ws.ok()) << ws.status().ToString();
  Outcome o = Collect(*ws);
  EXPECT_EQ(o.exit_code, 0);
  const fs::path task_dir = agent_->data_dir() / "alloc" / alloc / "main";
  EXPECT_EQ(o.out, fs::canonical(task_dir).string() + "\nmain " + alloc + "\n");
}

TEST_F(ExecE2ETest, StdinIsPipedThrough) {
  const std::string alloc = Service();
  ASSERT_FALSE(alloc.empty());
  auto ws = Open(Target(alloc, "main", {"cat"}));
  ASSERT_TRUE(ws.ok()) << ws.status().ToString();
  ASSERT_TRUE(ws->SendText(Stdin("hello\n")).ok());
  ASSERT_TRUE(ws->SendText("{}").ok());  // a heartbeat
  ASSERT_TRUE(ws->SendText(Stdin("world\n")).ok());
  ASSERT_TRUE(ws->SendText(StdinClose()).ok());
  Outcome o = Collect(*ws);
  EXPECT_EQ(o.out, "hello\nworld\n");
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.close_code, 1000);
}

TEST_F(ExecE2ETest, TtyRunsOnAPtyAndFollowsResizes) {
  const std::string alloc = Service();
  ASSERT_FALSE(alloc.empty());
  // Each step waits for the output of the one before: input written to a
  // terminal is buffered at once, and `stty size` reads the size when it
  // runs.
  auto ws = Open(Target(alloc, "main",
                        {"/bin/sh", "-c", "tty; read a; stty size; read b; stty size"}, true));
  ASSERT_TRUE(ws.ok()) << ws.status().ToString();
  int step = 0;
  auto drive = [&](const Outcome& so_far) {
    if (step == 0 && so_far.out.find("/dev/pts/") != std::string::npos) {
      ASSERT_TRUE(ws->SendText(Resize(30, 100)).ok());
      ASSERT_TRUE(ws->SendText(Stdin("x\n")).ok());
      step = 1;
    } else if (step == 1 && so_far.out.find("30 100") != std::string::npos) {
      ASSERT_TRUE(ws->SendText(Resize(40, 120)).ok());
      ASSERT_TRUE(ws->SendText(Stdin("y\n")).ok());
      step = 2;
    }
  };
  Outcome o = Collect(*ws, drive);
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_NE(o.out.find("/dev/pts/"), std::string::npos) << o.out;
  const std::size_t first = o.out.find("30 100");
  const std::size_t second = o.out.find("40 120");
  EXPECT_NE(first, std::string::npos) << o.out;
  EXPECT_NE(second, std::string::npos) << o.out;
  EXPECT_LT(first, second) << o.out;
  EXPECT_EQ(o.err, "");  // a terminal has one output stream
}

TEST_F(ExecE2ETest, LargeOutputArrivesWholeThroughBoundedBuffers) {
  const std::string alloc = Service();
  ASSERT_FALSE(alloc.empty());
  // 8 MiB, far more than the relay buffers (256 KiB + 64 KiB).
  auto ws = Open(Target(alloc, "main", {"/bin/sh", "-c", "head -c 8388608 /dev/zero | tr '\\0' x"}));
  ASSERT_TRUE(ws.ok()) << ws.status().ToString();
  Outcome o = Collect(*ws);
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.out.size(), 8u << 20);
  EXPECT_EQ(o.out.find_first_not_of('x'), std::string::npos);
}

TEST_F(ExecE2ETest, SeveralSessionsAtOnce) {
  const std::string alloc = Service();
  ASSERT_FALSE(alloc.empty());
  std::vector<WsClient> sessions;
  for (int i = 0; i < 3; ++i) {
    auto ws = Open(Target(alloc, "main", {"cat"}));
    ASSERT_TRUE(ws.ok()) << ws.status().ToString();
    ASSERT_EQ(ws->status(), 101);
    sessions.push_back(std::move(ws).value());
  }
  for (int i = 2; i >= 0; --i) {
    ASSERT_TRUE(sessions[i].SendText(Stdin("session " + std::to_string(i) + "\n")).ok());
    ASSERT_TRUE(sessions[i].SendText(StdinClose()).ok());
  }
  for (int i = 0; i < 3; ++i) {
    Outcome o = Collect(sessions[i]);
    EXPECT_EQ(o.out, "session " + std::to_string(i) + "\n");
    EXPECT_EQ(o.exit_code, 0);
  }
}

TEST_F(ExecE2ETest, UnknownAllocationIsNomadsErrorFrame) {
  const std::string id = "7d2b4f3e-0000-4000-8000-000000000000";
  auto ws = Open(Target(id, "main", {"true"}));
  ASSERT_TRUE(ws.ok()) << ws.status().ToString();
  ASSERT_EQ(ws->status(), 101);
  Outcome o = Collect(*ws);
  EXPECT_EQ(o.close_code, 1008);
  EXPECT_EQ(o.close_reason, "Unknown allocation \"" + id + "\"");
}

TEST_F(ExecE2ETest, UnknownTaskIsNomadsErrorFrame) {
  const std::string alloc = Service();
  ASSERT_FALSE(alloc.empty());
  auto ws = Open(Target(alloc, "nope", {"true"}));
  ASSERT_TRUE(ws.ok()) << ws.status().ToString();
  Outcome o = Collect(*ws);
  EXPECT_EQ(o.close_code, 1011);
  EXPECT_EQ(o.close_reason, "task not found");
}

TEST_F(ExecE2ETest, DeadTaskIsNomadsErrorFrame) {
  const std::string alloc = Run("done", "batch", "once", "exit 0", "dead");
  ASSERT_FALSE(alloc.empty());
  auto ws = Open(Target(alloc, "once", {"true"}));
  ASSERT_TRUE(ws.ok()) << ws.status().ToString();
  Outcome o = Collect(*ws);
  EXPECT_EQ(o.close_code, 1008);
  EXPECT_EQ(o.close_reason, "task \"once\" is not running.");
}

TEST_F(ExecE2ETest, MissingCommandIsNomadsErrorFrame) {
  const std::string alloc = Service();
  ASSERT_FALSE(alloc.empty());
  auto expect_close = [&](const std::vector<std::string>& command, int code,
                          const std::string& reason) {
    auto ws = Open(Target(alloc, "main", command));
    ASSERT_TRUE(ws.ok()) << ws.status().ToString();
    Outcome o = Collect(*ws);
    EXPECT_EQ(o.close_code, code);
    EXPECT_EQ(o.close_reason, reason);
  };
  expect_close({"no-such-command-here"}, 1011,
               "rpc error: code = Unknown desc = failed to start command: exec: "
               "\"no-such-command-here\": executable file not found in $PATH");
  expect_close({"/no/such/command"}, 1011,
               "rpc error: code = Unknown desc = failed to start command: fork/exec "
               "/no/such/command: no such file or directory");
  expect_close({}, 1008, "command is not present");
}

TEST_F(ExecE2ETest, RequestsThatAreNotWebSocketsGetNomadsAnswers) {
  const std::string alloc = Service();
  ASSERT_FALSE(alloc.empty());
  HttpClient client = agent_->Client();
  auto plain = client.Get(Target(alloc, "main", {"true"}));
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->status, 500);
  EXPECT_EQ(plain->body, "websocket connection not found in context");

  auto conn = RawConnection::Connect(agent_->port());
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(conn->Send("GET " + Target(alloc, "main", {"true"}) +
                         " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                         "Connection: Upgrade\r\nSec-WebSocket-Version: 8\r\n"
                         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
                  .ok());
  auto r = conn->ReadResponse();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, "Bad Request\n");
}

// The exec helpers of the agent on `data_dir` (`drover-executor exec ...`:
// their command lines name a state dir under it).
std::vector<pid_t> ExecHelpers(const fs::path& data_dir) {
  std::vector<pid_t> out;
  for (pid_t pid : ProcessesUsing(data_dir)) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
    std::string argv0, argv1;
    std::getline(in, argv0, '\0');
    std::getline(in, argv1, '\0');
    if (argv1 == "exec" && ProcessAlive(pid)) out.push_back(pid);
  }
  return out;
}

// The command (`pid`) and every exec helper are gone once sessions ended.
void ExpectGone(int pid, const fs::path& data_dir) {
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(pid); }, kWait, 20ms)) << "pid " << pid;
  EXPECT_TRUE(WaitFor([&] { return ExecHelpers(data_dir).empty(); }, kWait, 20ms));
}

int ReadPid(WsClient& ws) {
  int pid = 0;
  Outcome so_far;
  for (int i = 0; i < 20 && pid == 0; ++i) {
    auto f = ws.Next();
    if (!f.ok()) break;
    auto v = ParseJson(f->payload);
    if (!v.ok() || !v->is_object() || !v->as_object().contains("stdout")) continue;
    const auto* d = v->as_object().at("stdout").as_object().if_contains("data");
    if (d != nullptr) pid = std::atoi(Base64Decode(d->as_string()).value_or("").c_str());
  }
  return pid;
}

TEST_F(ExecE2ETest, ClientGoingAwayEndsTheCommand) {
  const std::string alloc = Service();
  ASSERT_FALSE(alloc.empty());
  auto ws = Open(Target(alloc, "main", {"/bin/sh", "-c", "echo $$; exec sleep 3600"}));
  ASSERT_TRUE(ws.ok()) << ws.status().ToString();
  const int pid = ReadPid(*ws);
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(ProcessAlive(pid));
  ws->Abort();
  ExpectGone(pid, agent_->data_dir());
}

TEST_F(ExecE2ETest, ClientGoingAwayEndsACommandThatIgnoresItsInput) {
  const std::string alloc = Service();
  ASSERT_FALSE(alloc.empty());
  // 256 KiB of input sleep never reads: more than the pipe takes, so the
  // helper holds input back when the client leaves.
  auto ws = Open(Target(alloc, "main", {"/bin/sh", "-c", "echo $$; exec sleep 3600"}));
  ASSERT_TRUE(ws.ok()) << ws.status().ToString();
  const int pid = ReadPid(*ws);
  ASSERT_GT(pid, 0);
  const std::string chunk(32 << 10, 'z');
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(ws->SendText(Stdin(chunk)).ok());
  ws->Abort();
  ExpectGone(pid, agent_->data_dir());
}

TEST_F(ExecE2ETest, SessionEndsWhenTheTaskIsStopped) {
  const std::string alloc = Run("victim", "service", "work", "exec sleep 3600", "running");
  ASSERT_FALSE(alloc.empty());
  auto ws = Open(Target(alloc, "work", {"/bin/sh", "-c", "echo $$; exec sleep 3600"}));
  ASSERT_TRUE(ws.ok()) << ws.status().ToString();
  const int pid = ReadPid(*ws);
  ASSERT_GT(pid, 0);
  HttpClient client = agent_->Client();
  auto stop = client.Delete("/v1/job/victim");
  ASSERT_TRUE(stop.ok() && stop->status == 200);
  Outcome o = Collect(*ws);
  EXPECT_EQ(o.error, "");
  EXPECT_EQ(o.exit_code, 128 + SIGKILL);
  EXPECT_EQ(o.close_code, 1000);
  ExpectGone(pid, agent_->data_dir());
}

// Sessions end when the agent stops (its own agent: the suite's keeps running).
TEST(ExecAgentStopE2ETest, SessionsEndWhenTheAgentStops) {
  auto agent = AgentProcess::Launch();
  ASSERT_TRUE(agent.ok()) << agent.status().ToString();
  HttpClient client = (*agent)->Client();
  auto r = client.Put("/v1/jobs", json::serialize(JobRequest("svc", "service", "main",
                                                            "exec sleep 3600")));
  ASSERT_TRUE(r.ok() && r->status == 200);
  std::string alloc;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto a = client.Get("/v1/job/svc/allocations");
        if (!a.ok() || a->status != 200) return false;
        auto v = ParseJson(a->body);
        if (!v.ok() || v->as_array().empty()) return false;
        alloc = std::string(v->as_array()[0].at("ID").as_string());
        return std::string(v->as_array()[0].at("ClientStatus").as_string()) == "running";
      },
      kWait, 50ms));
  json::array cmd{"/bin/sh", "-c", "echo $$; exec sleep 3600"};
  auto ws = WsClient::Connect((*agent)->port(),
                              "/v1/client/allocation/" + alloc + "/exec?task=main&command=" +
                                  PercentEncode(json::serialize(cmd)),
                              {}, kWait);
  ASSERT_TRUE(ws.ok()) << ws.status().ToString();
  const int pid = ReadPid(*ws);
  ASSERT_GT(pid, 0);
  ASSERT_TRUE((*agent)->Stop().ok()) << (*agent)->LogTail();
  Outcome o = Collect(*ws);
  EXPECT_EQ(o.close_code, 1001) << o.error;
  EXPECT_EQ(o.close_reason, "agent is shutting down");
  ExpectGone(pid, (*agent)->data_dir());
}

}  // namespace
}  // namespace drover::testing
