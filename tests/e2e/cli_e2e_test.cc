// End-to-end: the `drover` CLI client against a live agent. Each command
// runs as a real process (through /bin/sh, which also reports its exit
// code in its output: the suite's reaper thread owns child exit statuses);
// `alloc exec -i -t` runs under a real pseudo-terminal.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/agent_process.h"
#include "tests/support/http_client.h"
#include "tests/support/shared_agent.h"

namespace drover::testing {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct CliResult {
  std::string out, err;
  int exit_code = -1;
};

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class CliE2ETest : public SharedAgentTest<CliE2ETest> {
 protected:
  static void TearDownTestSuite() {
    SharedAgentTest<CliE2ETest>::TearDownTestSuite();
    std::error_code ec;
    fs::remove_all(Scratch(), ec);
  }

  static fs::path Scratch() {
    static const fs::path dir = [] {
      char tmpl[] = "/tmp/drover-cli-e2e-XXXXXX";
      return fs::path(::mkdtemp(tmpl));
    }();
    return dir;
  }

  // Runs `drover args...` (optionally under `timeout SECS`) with the
  // agent's address in NOMAD_ADDR; stdout, stderr and the exit code.
  static CliResult Cli(const std::vector<std::string>& args, int timeout_secs = 120,
                       const std::string& stdin_text = "") {
    return CliAt(agent_->port(), args, "", timeout_secs, stdin_text);
  }

  // The same against the agent on `port`, with `env` ("NAME=VALUE ...") added.
  static CliResult CliAt(std::uint16_t port, const std::vector<std::string>& args,
                         const std::string& env, int timeout_secs = 120,
                         const std::string& stdin_text = "") {
    static int counter = 0;
    const fs::path err = Scratch() / ("err." + std::to_string(++counter));
    const fs::path in = Scratch() / ("in." + std::to_string(counter));
    std::ofstream(in) << stdin_text;
    std::string cmd = "cd " + ShellQuote(DROVER_SOURCE_DIR) +
                      " && env -u NOMAD_TOKEN -u NOMAD_NAMESPACE -u DROVER_ADDR NO_COLOR= TERM=dumb"
                      " NOMAD_ADDR=http://127.0.0.1:" + std::to_string(port) + " " + env +
                      " timeout " + std::to_string(timeout_secs) + " " + ShellQuote(DROVER_BINARY);
    for (const std::string& a : args) cmd += " " + ShellQuote(a);
    cmd += " <" + ShellQuote(in.string()) + " 2>" + ShellQuote(err.string()) + "; echo \"__EXIT=$?\"";
    CliResult r;
    if (FILE* p = ::popen(cmd.c_str(), "r")) {
      char buf[4096];
      for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
      ::pclose(p);  // its status is not read: see the file comment
    }
    const auto at = r.out.rfind("__EXIT=");
    if (at != std::string::npos) {
      r.exit_code = std::atoi(r.out.c_str() + at + 7);
      r.out.erase(at);
    }
    r.err = ReadAll(err);
    return r;
  }

  static json::value Json(const std::string& text) {
    auto v = ParseJson(text);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : json::value();
  }

  // Runs examples/demo.hcl once for the suite (again is harmless) and
  // returns the IDs of its running allocations.
  static std::vector<std::string> DemoAllocs() {
    static bool ran = false;
    if (!ran) {
      CliResult r = Cli({"job", "run", "examples/demo.hcl"});
      EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
      ran = r.exit_code == 0;
    }
    std::vector<std::string> ids;
    HttpClient client = agent_->Client();
    auto resp = client.Get("/v1/job/demo/allocations");
    if (!resp.ok() || resp->status != 200) return ids;
    const json::value list = Json(resp->body);
    for (const json::value& a : list.as_array()) {
      if (a.at("ClientStatus") == "running" && a.at("DesiredStatus") == "run") {
        ids.emplace_back(a.at("ID").as_string());
      }
    }
    return ids;
  }

  // Writes a one-task JSON job (service unless `type`) to the scratch dir.
  static std::string JobFile(const std::string& id, const std::string& script,
                             const std::string& type = "service") {
    json::object task{{"Name", "t"},
                      {"Driver", "raw_exec"},
                      {"Config", json::object{{"command", "/bin/sh"}, {"args", json::array{"-c", script}}}},
                      {"KillTimeout", 1'000'000'000}};
    // No restarts or reschedules: a failing task fails its allocation at once.
    json::object group{{"Name", "g"},
                       {"Count", 1},
                       {"RestartPolicy", json::object{{"Attempts", 0}, {"Mode", "fail"}}},
                       {"ReschedulePolicy", json::object{{"Attempts", 0}, {"Unlimited", false}}},
                       {"Tasks", json::array{task}}};
    json::object job{{"ID", id}, {"Name", id}, {"Type", type}, {"Datacenters", json::array{"dc1"}},
                     {"TaskGroups", json::array{group}}};
    const fs::path path = Scratch() / (id + ".json");
    std::ofstream(path) << json::serialize(json::object{{"Job", job}});
    return path.string();
  }

  std::string TaskEvents(const std::string& alloc) {
    HttpClient client = agent_->Client();
    auto r = client.Get("/v1/allocation/" + alloc);
    return r.ok() ? r->body : "";
  }
};

int CountLines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

TEST_F(CliE2ETest, NoArgumentsPrintsUsage) {
  CliResult r = Cli({});
  EXPECT_NE(r.out.find("Usage: drover"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("alloc"), std::string::npos);
  EXPECT_EQ(r.exit_code, 1);
}

TEST_F(CliE2ETest, EveryCommandHasHelpWithExamples) {
  for (const std::vector<std::string>& cmd :
       std::vector<std::vector<std::string>>{{"job", "run"}, {"job", "status"}, {"alloc", "status"},
                                             {"alloc", "logs"}, {"alloc", "exec"}, {"node", "status"},
                                             {"acl", "token", "list"}, {"var", "get"}, {"job", "plan"}}) {
    std::vector<std::string> args = cmd;
    args.push_back("-help");
    CliResult r = Cli(args);
    std::string name;
    for (const std::string& w : cmd) name += (name.empty() ? "" : " ") + w;
    EXPECT_EQ(r.exit_code, 0) << name;
    EXPECT_NE(r.out.find("Usage: drover " + name), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Examples:"), std::string::npos) << name;
    EXPECT_NE(r.out.find("-address"), std::string::npos) << name;
  }
}

TEST_F(CliE2ETest, BadFlagIsOneClearError) {
  CliResult r = Cli({"alloc", "status", "-bogus", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("flag provided but not defined: -bogus"), std::string::npos) << r.err;
  r = Cli({"alloc", "status"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("For additional help try 'drover alloc status -help'"), std::string::npos);
}

// -address takes names (every address of one tried in turn), IPv6
// literals in brackets, and says clearly what it cannot use.
TEST_F(CliE2ETest, AddressesByNameAndLiteral) {
  const std::string port = std::to_string(agent_->port());
  // localhost may resolve to ::1 first; the agent listens on 127.0.0.1.
  CliResult by_name = Cli({"node", "status", "-address", "http://localhost:" + port});
  EXPECT_EQ(by_name.exit_code, 0) << by_name.err;
  EXPECT_NE(by_name.out.find("ready"), std::string::npos) << by_name.out;
  CliResult v6 = Cli({"node", "status", "-address", "http://[::1]:" + port});
  EXPECT_EQ(v6.exit_code, 1);
  EXPECT_NE(v6.err.find("[::1]:" + port), std::string::npos) << "names the address: " << v6.err;
  CliResult unbracketed = Cli({"node", "status", "-address", "::1:" + port});
  EXPECT_EQ(unbracketed.err, "address ::1:" + port + ": an IPv6 address goes in brackets, [::1]:4646\n");
  CliResult unknown = Cli({"node", "status", "-address", "http://no-such-host.invalid:" + port});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("lookup no-such-host.invalid: "), std::string::npos) << unknown.err;
}

TEST_F(CliE2ETest, JobRunDemoHclFollowsToRunning) {
  CliResult r = Cli({"job", "run", "examples/demo.hcl"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("Monitoring evaluation"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Evaluation triggered by job \"demo\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("finished with status \"complete\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("All allocations running"), std::string::npos) << r.out;
  EXPECT_EQ(DemoAllocs().size(), 2u);
}

TEST_F(CliE2ETest, JobStatusTables) {
  ASSERT_EQ(DemoAllocs().size(), 2u);
  CliResult list = Cli({"job", "status"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("ID    Type     Priority  Status   Submit Date"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("demo  service  50        running"), std::string::npos) << list.out;

  CliResult one = Cli({"job", "status", "de"});  // a prefix
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_NE(one.out.find("ID            = demo"), std::string::npos) << one.out;
  EXPECT_NE(one.out.find("Status        = running"), std::string::npos) << one.out;
  EXPECT_NE(one.out.find("Task Group  Queued  Starting  Running"), std::string::npos) << one.out;
  EXPECT_NE(one.out.find("ID        Node ID   Task Group  Version  Desired  Status   Created"),
            std::string::npos) << one.out;
  for (const std::string& id : DemoAllocs()) {
    EXPECT_NE(one.out.find(id.substr(0, 8) + "  "), std::string::npos) << "short ID in the table";
    EXPECT_EQ(one.out.find(id), std::string::npos) << "no full ID in the table";
  }

  CliResult missing = Cli({"job", "status", "no-such-job"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "No job(s) with prefix or ID \"no-such-job\" found\n");
}

TEST_F(CliE2ETest, JsonAndTemplateOutput) {
  ASSERT_EQ(DemoAllocs().size(), 2u);
  CliResult j = Cli({"job", "status", "-json", "demo"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  json::value v = Json(j.out);
  EXPECT_EQ(v.at("Job").at("ID"), "demo");
  EXPECT_EQ(v.at("Allocations").as_array().size(), 2u);

  CliResult t = Cli({"job", "status", "-t",
                     "{{ .Job.ID }}:{{ range .Allocations }}{{ if .ClientStatus }}[{{ .ClientStatus }}]{{ end }}{{ end }}",
                     "demo"});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_EQ(t.out, "demo:[running][running]\n");

  CliResult both = Cli({"job", "status", "-json", "-t", "{{ .ID }}", "demo"});
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_NE(both.err.find("Both json and template formatting are not allowed"), std::string::npos);

  CliResult bad = Cli({"job", "status", "-t", "{{ range .Allocations }}", "demo"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("template:"), std::string::npos) << bad.err;
}

TEST_F(CliE2ETest, AllocStatusByPrefix) {
  auto allocs = DemoAllocs();
  ASSERT_FALSE(allocs.empty());
  const std::string id = allocs[0];
  CliResult r = Cli({"alloc", "status", id.substr(0, 6)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("ID                  = " + id), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Job ID              = demo"), std::string::npos);
  EXPECT_NE(r.out.find("Client Status       = running"), std::string::npos);
  EXPECT_NE(r.out.find("Task \"hello\" is \"running\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CPU"), std::string::npos);
  EXPECT_NE(r.out.find("/50 MHz"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/32 MiB"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Recent Events:"), std::string::npos);
  EXPECT_NE(r.out.find("Task started by client"), std::string::npos);

  CliResult t = Cli({"alloc", "status", "-t", "{{ .ClientStatus }} {{ .TaskStates.hello.State }}", id});
  EXPECT_EQ(t.out, "running running\n") << t.err;
  CliResult j = Cli({"alloc", "status", "-json", id.substr(0, 8)});
  EXPECT_EQ(Json(j.out).at("ID"), id.c_str());
}

TEST_F(CliE2ETest, AllocPrefixErrorsHaveNomadsTexts) {
  ASSERT_FALSE(DemoAllocs().empty());
  CliResult none = Cli({"alloc", "status", "0000000000000000"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_EQ(none.err, "No allocation(s) with prefix or id \"0000000000000000\" found\n");
  CliResult odd = Cli({"alloc", "status", "000"});  // an odd digit is dropped, as Nomad's
  EXPECT_EQ(odd.err, "No allocation(s) with prefix or id \"00\" found\n");
  CliResult one = Cli({"alloc", "status", "a"});
  EXPECT_EQ(one.exit_code, 1);
  EXPECT_EQ(one.err, "Identifier must contain at least two characters.\n");
  // The empty prefix matches every allocation: the table, as Nomad's.
  CliResult many = Cli({"alloc", "status", ""});
  EXPECT_EQ(many.exit_code, 0);
  EXPECT_NE(many.out.find("Prefix matched multiple allocations\n\nID        Node ID"), std::string::npos)
      << many.out;
  CliResult many_logs = Cli({"alloc", "logs", "", "hello"});
  EXPECT_EQ(many_logs.exit_code, 1);
  EXPECT_NE(many_logs.err.find("Prefix matched multiple allocations"), std::string::npos);
}

TEST_F(CliE2ETest, AllocLogs) {
  auto allocs = DemoAllocs();
  ASSERT_FALSE(allocs.empty());
  const std::string id = allocs[0];
  // The task greets every two seconds; wait for two lines.
  ASSERT_TRUE(WaitFor([&] { return CountLines(Cli({"alloc", "logs", id, "hello"}).out) >= 2; }, 30s, 500ms));
  CliResult all = Cli({"alloc", "logs", id.substr(0, 8), "hello"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(all.out.rfind("hello from demo.greeter[", 0), 0u) << all.out;
  CliResult tail = Cli({"alloc", "logs", "-tail", "-n", "1", id});  // the only task
  EXPECT_EQ(tail.exit_code, 0) << tail.err;
  EXPECT_EQ(CountLines(tail.out), 1) << tail.out;
  EXPECT_NE(all.out.find(tail.out), std::string::npos);
  CliResult err = Cli({"alloc", "logs", "-stderr", id, "hello"});
  EXPECT_EQ(err.exit_code, 0);
  EXPECT_EQ(err.out, "");
  // -f keeps following: lines written after it started arrive too.
  CliResult follow = Cli({"alloc", "logs", "-f", "-n", "1", id, "hello"}, 7);
  EXPECT_EQ(follow.exit_code, 124) << "ended by timeout(1)";
  EXPECT_GE(CountLines(follow.out), 2) << follow.out;
  CliResult bad_task = Cli({"alloc", "logs", id, "nope"});
  EXPECT_EQ(bad_task.exit_code, 1);
  EXPECT_NE(bad_task.err.find("Could not find task named: nope"), std::string::npos) << bad_task.err;
}

TEST_F(CliE2ETest, AllocFs) {
  auto allocs = DemoAllocs();
  ASSERT_FALSE(allocs.empty());
  const std::string id = allocs[0];
  const std::string log = "alloc/logs/hello.stdout.0";
  ASSERT_TRUE(WaitFor([&] { return CountLines(Cli({"alloc", "fs", id, log}).out) >= 3; }, 30s, 500ms));
  CliResult root = Cli({"alloc", "fs", id.substr(0, 8)});
  ASSERT_EQ(root.exit_code, 0) << root.err;
  EXPECT_NE(root.out.find("alloc/"), std::string::npos) << root.out;
  EXPECT_NE(root.out.find("hello/"), std::string::npos) << root.out;
  CliResult logs = Cli({"alloc", "fs", id, "alloc/logs"});
  EXPECT_NE(logs.out.find("hello.stdout.0"), std::string::npos) << logs.out;
  CliResult stat = Cli({"alloc", "fs", "-stat", id, log});
  EXPECT_EQ(stat.out.rfind("Mode", 0), 0u) << stat.out;
  EXPECT_NE(stat.out.find("hello.stdout.0"), std::string::npos) << stat.out;
  // -tail is the last 10 lines, -n N the last N, -c N the last N bytes.
  CliResult all = Cli({"alloc", "fs", id, log});
  CliResult two = Cli({"alloc", "fs", "-tail", "-n", "2", id, log});
  ASSERT_EQ(two.exit_code, 0) << two.err;
  EXPECT_EQ(CountLines(two.out), 2) << two.out;
  EXPECT_NE(all.out.find(two.out), std::string::npos) << two.out;
  CliResult bytes = Cli({"alloc", "fs", "-tail", "-c", "5", id, log});
  EXPECT_EQ(bytes.out.size(), 5u) << bytes.out;
  CliResult both = Cli({"alloc", "fs", "-tail", "-n", "1", "-c", "5", id, log});
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_EQ(both.err, "Both -n and -c are not allowed\n");
  CliResult negative = Cli({"alloc", "fs", "-tail", "-n", "-4", id, log});
  EXPECT_EQ(negative.err, "Invalid size is specified\n");
  CliResult escape = Cli({"alloc", "fs", id, "../../../etc/passwd"});
  EXPECT_EQ(escape.exit_code, 1);
  EXPECT_EQ(escape.out, "");
}

TEST_F(CliE2ETest, AllocRestartAndSignal) {
  auto allocs = DemoAllocs();
  ASSERT_FALSE(allocs.empty());
  const std::string id = allocs[0];
  CliResult restart = Cli({"alloc", "restart", id.substr(0, 8)});
  ASSERT_EQ(restart.exit_code, 0) << restart.err;
  EXPECT_TRUE(WaitFor([&] { return TaskEvents(id).find("\"Restart Signaled\"") != std::string::npos; }, 30s));
  EXPECT_TRUE(WaitFor([&] {
    CliResult s = Cli({"alloc", "status", "-t", "{{ .TaskStates.hello.State }}", id});
    return s.out == "running\n";
  }, 60s, 500ms));
  CliResult sig = Cli({"alloc", "signal", "-s", "SIGCONT", id, "hello"});
  ASSERT_EQ(sig.exit_code, 0) << sig.err;
  EXPECT_TRUE(WaitFor([&] { return TaskEvents(id).find("\"Signaling\"") != std::string::npos; }, 30s));
  CliResult bad = Cli({"alloc", "signal", "-s", "SIGNOPE", id});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("invalid signal"), std::string::npos) << bad.err;

  CliResult both = Cli({"alloc", "restart", "-all-tasks", id, "hello"});
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_NE(both.err.find("-all-tasks"), std::string::npos);
}

TEST_F(CliE2ETest, AllocStopAndJobStop) {
  const std::string file = JobFile("cli-stop", "sleep 600");
  CliResult run = Cli({"job", "run", file});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  CliResult id = Cli({"job", "status", "-t", "{{ range .Allocations }}{{ .ID }}{{ end }}", "cli-stop"});
  ASSERT_EQ(id.out.size(), 37u) << id.out;
  id.out.pop_back();  // the newline
  CliResult stop = Cli({"alloc", "stop", "-detach", id.out});
  ASSERT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_EQ(stop.out.size(), 37u) << "the evaluation ID: " << stop.out;
  EXPECT_TRUE(WaitFor([&] {
    return Cli({"alloc", "status", "-t", "{{ .DesiredStatus }}", id.out}).out == "stop\n";
  }, 30s, 300ms));

  CliResult job_stop = Cli({"job", "stop", "-purge", "cli-stop"});
  ASSERT_EQ(job_stop.exit_code, 0) << job_stop.out << job_stop.err;
  EXPECT_NE(job_stop.out.find("Monitoring evaluation"), std::string::npos) << job_stop.out;
  CliResult gone = Cli({"job", "status", "cli-stop"});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_NE(gone.err.find("No job(s) with prefix or ID \"cli-stop\" found"), std::string::npos);
}

TEST_F(CliE2ETest, JobRunBatchAndBadInput) {
  CliResult batch = Cli({"job", "run", JobFile("cli-batch", "echo done", "batch")});
  EXPECT_EQ(batch.exit_code, 0) << batch.out << batch.err;
  EXPECT_NE(batch.out.find("All allocations finished"), std::string::npos) << batch.out;
  CliResult failing = Cli({"job", "run", JobFile("cli-fail", "exit 3", "batch")});
  EXPECT_EQ(failing.exit_code, 1) << failing.out << failing.err;

  CliResult missing = Cli({"job", "run", "/nonexistent/job.hcl"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("Error getting job struct"), std::string::npos) << missing.err;
  const fs::path broken = Scratch() / "broken.hcl";
  std::ofstream(broken) << "job \"x\" {\n  group \"g\" {\n";
  CliResult parse = Cli({"job", "run", broken.string()});
  EXPECT_EQ(parse.exit_code, 1);
  EXPECT_NE(parse.err.find("Error getting job struct: Error parsing job file from"), std::string::npos)
      << parse.err;
  CliResult invalid = Cli({"job", "run", JobFile("", "true")});
  EXPECT_EQ(invalid.exit_code, 1);
  EXPECT_NE(invalid.err.find("Error submitting job: Unexpected response code: 400"), std::string::npos)
      << invalid.err;
  CliResult stale = Cli({"job", "run", "-check-index", "1", JobFile("cli-check", "sleep 1")});
  EXPECT_EQ(stale.exit_code, 1);
  EXPECT_NE(stale.err.find("Enforcing job modify index 1"), std::string::npos) << stale.err;
  CliResult bad_addr = Cli({"job", "status", "-address", "https://127.0.0.1:1"});
  EXPECT_EQ(bad_addr.exit_code, 1);
  EXPECT_NE(bad_addr.err.find("https"), std::string::npos);
}

TEST_F(CliE2ETest, NodeStatusAndGeneralStatus) {
  ASSERT_FALSE(DemoAllocs().empty());
  CliResult list = Cli({"node", "status"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("ID        Node Pool  DC   Name"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("ready"), std::string::npos);
  CliResult self = Cli({"node", "status", "-self", "-verbose"});
  ASSERT_EQ(self.exit_code, 0) << self.err;
  EXPECT_NE(self.out.find("Status        = ready"), std::string::npos) << self.out;
  EXPECT_NE(self.out.find("Allocated Resources"), std::string::npos);
  EXPECT_NE(self.out.find("Attributes"), std::string::npos);
  EXPECT_NE(self.out.find("greeter"), std::string::npos) << "the node's allocations";

  CliResult status = Cli({"status", "demo"});
  EXPECT_NE(status.out.find("ID            = demo"), std::string::npos) << status.out;
  const std::string alloc = DemoAllocs()[0];
  CliResult by_alloc = Cli({"status", alloc.substr(0, 8)});
  EXPECT_NE(by_alloc.out.find("ID                  = " + alloc), std::string::npos) << by_alloc.out;
  CliResult none = Cli({"status", "zz-nothing"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_EQ(none.err, "No matches returned for query \"zz-nothing\"\n");
}

TEST_F(CliE2ETest, OperatorMetricsAndEventStream) {
  ASSERT_FALSE(DemoAllocs().empty());
  CliResult m = Cli({"operator", "metrics", "-t", "{{ range .Gauges }}{{ .Name }}\n{{ end }}"});
  ASSERT_EQ(m.exit_code, 0) << m.err;
  EXPECT_NE(m.out.find("nomad.client.allocations.running"), std::string::npos) << m.out.substr(0, 500);
  CliResult ev = Cli({"event", "stream", "-topic", "Job:demo"}, 3);
  EXPECT_EQ(ev.exit_code, 124);
  ASSERT_GE(CountLines(ev.out), 1);
  json::value first = Json(ev.out.substr(0, ev.out.find('\n')));
  EXPECT_EQ(first.at("Events").as_array()[0].at("Topic"), "Job");
  EXPECT_EQ(first.at("Events").as_array()[0].at("Key"), "demo");
}

TEST_F(CliE2ETest, AclCommandsWithoutAcls) {
  CliResult r = Cli({"acl", "token", "list"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error fetching tokens: Unexpected response code: 400 (ACL support disabled)\n");
}

TEST_F(CliE2ETest, TokensFromFlagAndEnvironment) {
  AgentOptions options;
  options.extra_args = {"--acl-enabled"};
  auto agent = AgentProcess::Launch(options);
  ASSERT_TRUE(agent.ok()) << agent.status().ToString();
  const std::uint16_t port = (*agent)->port();
  CliResult boot = CliAt(port, {"acl", "bootstrap", "-t", "{{ .SecretID }}"}, "");
  ASSERT_EQ(boot.exit_code, 0) << boot.err;
  ASSERT_EQ(boot.out.size(), 37u) << boot.out;
  const std::string secret = boot.out.substr(0, 36);

  CliResult denied = CliAt(port, {"job", "status"}, "");
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_EQ(denied.err, "Error querying jobs: Unexpected response code: 403 (Permission denied)\n");
  CliResult by_flag = CliAt(port, {"job", "status", "-token", secret}, "");
  EXPECT_EQ(by_flag.exit_code, 0) << by_flag.err;
  EXPECT_EQ(by_flag.out, "No running jobs\n");
  CliResult self = CliAt(port, {"acl", "token", "self"}, "NOMAD_TOKEN=" + secret);
  EXPECT_EQ(self.exit_code, 0) << self.err;
  EXPECT_NE(self.out.find("Secret ID    = " + secret), std::string::npos) << self.out;
  EXPECT_NE(self.out.find("Type         = management"), std::string::npos) << self.out;

  const fs::path policy = Scratch() / "readonly.hcl";
  std::ofstream(policy) << "namespace \"default\" { policy = \"read\" }\n";
  CliResult apply = CliAt(port, {"acl", "policy", "apply", "-description", "Read only", "readonly", policy.string()},
                          "NOMAD_TOKEN=" + secret);
  EXPECT_EQ(apply.out, "Successfully wrote \"readonly\" ACL policy!\n") << apply.err;
  CliResult list = CliAt(port, {"acl", "policy", "list"}, "NOMAD_TOKEN=" + secret);
  EXPECT_NE(list.out.find("readonly  Read only"), std::string::npos) << list.out;
  CliResult created = CliAt(port, {"acl", "token", "create", "-name", "ro", "-policy", "readonly", "-t",
                                   "{{ .SecretID }}"},
                            "NOMAD_TOKEN=" + secret);
  ASSERT_EQ(created.out.size(), 37u) << created.err;
  CliResult ro = CliAt(port, {"job", "run", "-detach", JobFile("cli-acl", "sleep 1")},
                       "NOMAD_TOKEN=" + created.out.substr(0, 36));
  EXPECT_EQ(ro.exit_code, 1);
  EXPECT_NE(ro.err.find("403 (Permission denied)"), std::string::npos) << ro.err;

  // acl token update: read, change what was given, write back.
  CliResult self_ro = CliAt(port, {"acl", "token", "self", "-json"}, "NOMAD_TOKEN=" + created.out.substr(0, 36));
  const std::string accessor = std::string(Json(self_ro.out).at("AccessorID").as_string());
  CliResult renamed = CliAt(port, {"acl", "token", "update", "-name", "read-only", accessor}, "NOMAD_TOKEN=" + secret);
  EXPECT_EQ(renamed.exit_code, 0) << renamed.err;
  EXPECT_NE(renamed.out.find("Name         = read-only"), std::string::npos) << renamed.out;
  EXPECT_NE(renamed.out.find("Policies     = [readonly]"), std::string::npos) << renamed.out;
  CliResult promoted = CliAt(port, {"acl", "token", "update", "-type", "management", accessor}, "NOMAD_TOKEN=" + secret);
  EXPECT_EQ(promoted.exit_code, 1) << "a management token has no policies";
  EXPECT_NE(promoted.err.find("Error updating token: Unexpected response code: 400"), std::string::npos) << promoted.err;
  CliResult unknown = CliAt(port, {"acl", "token", "update", "-name", "x", "00000000-0000-0000-0000-000000000000"},
                            "NOMAD_TOKEN=" + secret);
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(unknown.err.rfind("Error fetching token: ", 0), 0u) << unknown.err;
}

// Commands on endpoints other work adds: skipped while the agent lacks them.
// A job with an update block gets a deployment; job run follows it to its end.
TEST_F(CliE2ETest, JobRunFollowsTheDeployment) {
  auto with_update = [](const std::string& file, bool auto_revert) {
    json::value spec = Json(ReadAll(file));
    spec.at("Job").as_object()["Update"] = json::object{{"MaxParallel", 1},
                                                         {"MinHealthyTime", 1'000'000'000},
                                                         {"HealthyDeadline", 60'000'000'000LL},
                                                         {"ProgressDeadline", 120'000'000'000LL},
                                                         {"AutoRevert", auto_revert}};
    std::ofstream(file) << json::serialize(spec);
    return file;
  };
  CliResult good = Cli({"job", "run", with_update(JobFile("cli-deploy", "sleep 300"), true)}, 90);
  ASSERT_EQ(good.exit_code, 0) << good.out << good.err;
  EXPECT_NE(good.out.find("Monitoring deployment \""), std::string::npos) << good.out;
  EXPECT_NE(good.out.find("Job ID      = cli-deploy\nJob Version = 0\nStatus      = successful"), std::string::npos)
      << good.out;
  EXPECT_NE(good.out.find("Deployed\nTask Group  Auto Revert  Desired  Placed  Healthy  Unhealthy  Progress Deadline\n"
                          "g           true         1        1       1        0"),
            std::string::npos)
      << good.out;
  // A version whose task fails: the deployment fails (exit 1), and the
  // rollback to version 0 is followed too.
  CliResult bad = Cli({"job", "run", with_update(JobFile("cli-deploy", "exit 1"), true)}, 90);
  EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
  EXPECT_NE(bad.out.find("Job Version = 1\nStatus      = failed"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("Job Version = 2\nStatus      = successful"), std::string::npos) << bad.out;
  EXPECT_EQ(Cli({"job", "stop", "-purge", "-detach", "cli-deploy"}).exit_code, 0);
}

TEST_F(CliE2ETest, JobScaleHistoryRevert) {
  const std::string file = JobFile("cli-hist", "sleep 300");
  ASSERT_EQ(Cli({"job", "run", "-detach", file}).exit_code, 0);
  CliResult h = Cli({"job", "history", "cli-hist"});
  ASSERT_EQ(h.exit_code, 0) << h.err;
  EXPECT_NE(h.out.find("Version     = 0"), std::string::npos) << h.out;
  CliResult s = Cli({"job", "scale", "-detach", "cli-hist", "g", "2"});
  ASSERT_EQ(s.exit_code, 0) << s.out << s.err;
  // -p: version 1 against version 0 is the Count change, and nothing else.
  CliResult p = Cli({"job", "history", "-p", "cli-hist"});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_EQ(p.out.rfind("Version     = 1\n", 0), 0u) << p.out;
  const auto diff = p.out.find("Diff        = \n+/- Job: \"cli-hist\"\n+/- Task Group: \"g\"\n  +/- Count: \"1\" => \"2\"\n");
  EXPECT_NE(diff, std::string::npos) << p.out;
  EXPECT_LT(diff, p.out.find("Version     = 0")) << "the diff belongs to version 1";
  EXPECT_EQ(p.out.find("Diff", p.out.find("Version     = 0")), std::string::npos) << "version 0 has nothing before it";
  CliResult only = Cli({"job", "history", "-p", "-version", "0", "cli-hist"});
  EXPECT_EQ(only.out.find("Diff"), std::string::npos) << only.out;
  // Revert to 0: a new version 2 with the count of version 0.
  CliResult r = Cli({"job", "revert", "-detach", "cli-hist", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  CliResult after = Cli({"job", "history", "-p", "-version", "2", "cli-hist"});
  EXPECT_NE(after.out.find("+/- Count: \"2\" => \"1\""), std::string::npos) << after.out;
  EXPECT_EQ(Cli({"job", "stop", "-purge", "-detach", "cli-hist"}).exit_code, 0);
}

TEST_F(CliE2ETest, JobPlan) {
  ASSERT_FALSE(DemoAllocs().empty());
  CliResult same = Cli({"job", "plan", "examples/demo.hcl"});
  EXPECT_EQ(same.exit_code, 0) << same.out << same.err;
  EXPECT_NE(same.out.find("Job: \"demo\""), std::string::npos) << same.out;
  EXPECT_NE(same.out.find("drover job run -check-index"), std::string::npos);
}

TEST_F(CliE2ETest, NodeEligibility) {
  CliResult off = Cli({"node", "eligibility", "-disable", "-self"});
  ASSERT_EQ(off.exit_code, 0) << off.err;
  EXPECT_NE(Cli({"node", "status", "-self"}).out.find("Eligibility   = ineligible"), std::string::npos);
  CliResult on = Cli({"node", "eligibility", "-enable", "-self"});
  EXPECT_EQ(on.exit_code, 0) << on.err;
}

TEST_F(CliE2ETest, Variables) {
  CliResult put = Cli({"var", "put", "cli/test", "a=1", "b=two"});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  EXPECT_EQ(Cli({"var", "get", "-item", "b", "cli/test"}).out, "two\n");
  EXPECT_NE(Cli({"var", "list"}).out.find("cli/test"), std::string::npos);
  EXPECT_EQ(Cli({"var", "purge", "cli/test"}).exit_code, 0);
  EXPECT_EQ(Cli({"var", "get", "cli/test"}).exit_code, 1);
}

TEST_F(CliE2ETest, VariableFromFilesAndSpecification) {
  // An item's value from a file, taken byte for byte (newlines kept).
  const fs::path pem = Scratch() / "cert.pem";
  std::ofstream(pem) << "-----BEGIN X-----\nabc\n-----END X-----\n";
  CliResult put = Cli({"var", "put", "cli/files", "cert=@" + pem.string(), "plain=x"});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  EXPECT_EQ(Cli({"var", "get", "-item", "cert", "cli/files"}).out, "-----BEGIN X-----\nabc\n-----END X-----\n\n");
  // A JSON specification; an argument overrides its item.
  const fs::path spec = Scratch() / "spec.json";
  std::ofstream(spec) << R"({"Path": "cli/spec", "Items": {"a": "from-spec", "b": "kept"}})";
  ASSERT_EQ(Cli({"var", "put", "@" + spec.string(), "a=from-arg"}).exit_code, 0);
  json::value got = Json(Cli({"var", "get", "-json", "cli/spec"}).out);
  EXPECT_EQ(got.at("Items").at("a"), "from-arg");
  EXPECT_EQ(got.at("Items").at("b"), "kept");
  // The specification's ModifyIndex is a check-and-set; -force overrides it.
  std::ofstream(spec) << R"({"Path": "cli/spec", "ModifyIndex": 1, "Items": {"a": "stale"}})";
  CliResult stale = Cli({"var", "put", "@" + spec.string()});
  EXPECT_EQ(stale.exit_code, 1) << stale.out;
  EXPECT_EQ(Cli({"var", "get", "-item", "a", "cli/spec"}).out, "from-arg\n");
  EXPECT_EQ(Cli({"var", "put", "-force", "@" + spec.string()}).exit_code, 0);
  EXPECT_EQ(Cli({"var", "get", "-item", "a", "cli/spec"}).out, "stale\n");
  // Bad input: one clear line, nothing written.
  CliResult missing = Cli({"var", "put", "cli/none", "k=@/nonexistent/file"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "Error reading item k: open /nonexistent/file: No such file or directory\n");
  std::ofstream(spec) << "[1, 2]";
  CliResult not_object = Cli({"var", "put", "cli/none", "@" + spec.string()});
  EXPECT_EQ(not_object.err, "Error parsing variable specification: not a JSON object\n");
  EXPECT_EQ(Cli({"var", "get", "cli/none"}).exit_code, 1);
  EXPECT_EQ(Cli({"var", "purge", "cli/files"}).exit_code, 0);
  EXPECT_EQ(Cli({"var", "purge", "cli/spec"}).exit_code, 0);
}

// ---- alloc exec -i -t under a pseudo-terminal -----------------------------------

// A shell on a pty running `command`, then printing its exit code.
class PtySession {
 public:
  explicit PtySession(const std::string& command, int rows, int cols) {
    winsize ws{};
    ws.ws_row = static_cast<unsigned short>(rows);
    ws.ws_col = static_cast<unsigned short>(cols);
    pid_ = ::forkpty(&master_, nullptr, nullptr, &ws);
    if (pid_ == 0) {
      ::execl("/bin/sh", "sh", "-c", (command + "; echo \"CLI_EXIT=$?\"").c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::fcntl(master_, F_SETFL, O_NONBLOCK);
  }
  ~PtySession() {
    if (pid_ > 0) ::kill(pid_, SIGKILL);  // reaped by the suite's reaper
    if (master_ >= 0) ::close(master_);
  }
  bool ok() const { return pid_ > 0 && master_ >= 0; }
  void Type(const std::string& text) { [[maybe_unused]] ssize_t n = ::write(master_, text.data(), text.size()); }
  void Resize(int rows, int cols) {
    winsize ws{};
    ws.ws_row = static_cast<unsigned short>(rows);
    ws.ws_col = static_cast<unsigned short>(cols);
    ::ioctl(master_, TIOCSWINSZ, &ws);  // the foreground group gets SIGWINCH
  }
  // Reads until `needle` is in the output or `timeout` passes.
  bool ReadUntil(const std::string& needle, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (output_.find(needle) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{master_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::read(master_, buf, sizeof buf);
      if (n > 0) {
        output_.append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        return output_.find(needle) != std::string::npos;
      }
    }
    return true;
  }
  const std::string& output() const { return output_; }

 private:
  int master_ = -1;
  pid_t pid_ = -1;
  std::string output_;
};

TEST_F(CliE2ETest, AllocExecInteractiveOnATerminal) {
  auto allocs = DemoAllocs();
  ASSERT_FALSE(allocs.empty());
  const std::string cmd = "NOMAD_ADDR=http://127.0.0.1:" + std::to_string(agent_->port()) + " " +
                          ShellQuote(DROVER_BINARY) + " alloc exec -i -t -task hello " +
                          allocs[0].substr(0, 8) + " /bin/sh";
  PtySession pty(cmd, 33, 101);
  ASSERT_TRUE(pty.ok());
  // The remote shell is on a terminal of the local one's size.
  pty.Type("tty; stty size; echo \"marker-$((6*7))\"\r");
  ASSERT_TRUE(pty.ReadUntil("marker-42", 30s)) << pty.output();
  EXPECT_NE(pty.output().find("/dev/pts/"), std::string::npos) << pty.output();
  EXPECT_NE(pty.output().find("33 101"), std::string::npos) << pty.output();
  // A resize of the local terminal reaches the remote one.
  pty.Resize(40, 120);
  ASSERT_TRUE(WaitFor([&] {
    pty.Type("stty size\r");
    return pty.ReadUntil("40 120", 1s);
  }, 20s, 10ms)) << pty.output();
  // Raw mode: the remote side echoes what is typed, and its exit code is the CLI's.
  pty.Type("exit 7\r");
  ASSERT_TRUE(pty.ReadUntil("CLI_EXIT=", 30s)) << pty.output();
  EXPECT_NE(pty.output().find("CLI_EXIT=7"), std::string::npos) << pty.output();
}

TEST_F(CliE2ETest, AllocExecEscapeClosesTheSession) {
  auto allocs = DemoAllocs();
  ASSERT_FALSE(allocs.empty());
  const std::string cmd = "NOMAD_ADDR=http://127.0.0.1:" + std::to_string(agent_->port()) + " " +
                          ShellQuote(DROVER_BINARY) + " alloc exec -t -e % -task hello " +
                          allocs[0].substr(0, 8) + " /bin/sh";
  PtySession pty(cmd, 24, 80);
  ASSERT_TRUE(pty.ok());
  // Mid-line the escape character is an ordinary one: the shell sees "%.".
  pty.Type("echo \"got-%.\"\r");
  ASSERT_TRUE(pty.ReadUntil("got-%.", 30s)) << pty.output();
  // At the start of a line, %. closes the session, whatever the shell does.
  pty.Type("%.");
  ASSERT_TRUE(pty.ReadUntil("CLI_EXIT=", 30s)) << pty.output();
  EXPECT_NE(pty.output().find("Connection closed"), std::string::npos) << pty.output();
  EXPECT_NE(pty.output().find("CLI_EXIT=1"), std::string::npos) << pty.output();
}

TEST_F(CliE2ETest, AllocExecWithoutTerminal) {
  auto allocs = DemoAllocs();
  ASSERT_FALSE(allocs.empty());
  CliResult r = Cli({"alloc", "exec", "-i", "-t=false", allocs[0], "/bin/sh", "-c", "cat; exit 5"}, 60,
                    "from stdin\n");
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_EQ(r.out, "from stdin\n");
  CliResult missing = Cli({"alloc", "exec", "-i=false", allocs[0], "no-such-command"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("executable file not found in $PATH"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace drover::testing
