// The web page in a real browser: Debian's Chromium driven by playwright-core
// (tests/browser/ui_test.mjs) against a real agent with a running job. The
// agent has been restarted once under the job, and one task has been
// signalled into an exit and a restart, so the timeline spans both. The
// script restarts a task from the page, checks the new segment and marker,
// moves the slider to an older state, and saves build/artifacts/timeline.png.
//
// Skipped (with the reason) only when `node` or Chromium is absent. Set
// DROVER_UPDATE_SCREENSHOT=1 to also copy the screenshot to docs/timeline.png.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>

#include "tests/support/agent_process.h"
#include "tests/support/json_assert.h"

namespace drover::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::int64_t kSecondNs = 1'000'000'000;

std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    fs::path p = fs::path(dir) / name;
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "";
}

// Output of `command` (stdout and stderr). Its exit status is not read:
// the e2e support reaps every child itself.
std::string RunCommand(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return "popen failed";
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof(buf), pipe)) out.append(buf, n);
  ::pclose(pipe);
  return out;
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

json::object RawExecTask(const std::string& name, const std::string& script) {
  return {{"Name", name},
          {"Driver", "raw_exec"},
          {"Config", json::object{{"command", "/bin/sh"}, {"args", json::array{"-c", script}}}}};
}

TEST(BrowserUiTest, PageShowsTheJobRestartsATaskAndTheTimelineFollows) {
  const char* chromium_env = std::getenv("CHROMIUM");
  const std::string chromium = chromium_env ? chromium_env : "/usr/bin/chromium";
  const std::string node = FindOnPath("node");
  if (node.empty()) GTEST_SKIP() << "node is not installed (apt-get install nodejs npm)";
  if (::access(chromium.c_str(), X_OK) != 0) {
    GTEST_SKIP() << "no Chromium at " << chromium << " (apt-get install chromium)";
  }

  auto launched = AgentProcess::Launch();
  ASSERT_TRUE(launched.ok()) << launched.status().ToString();
  std::unique_ptr<AgentProcess> agent = std::move(launched).value();
  HttpClient client = agent->Client();

  // "web" prints and runs on; "worker" exits 3 on SIGUSR1 and is restarted
  // after a second.
  json::object group{
      {"Name", "g"},
      {"Count", 1},
      {"RestartPolicy", json::object{{"Attempts", 5},
                                     {"Interval", 3600 * kSecondNs},
                                     {"Delay", kSecondNs},
                                     {"Mode", "fail"}}},
      {"Tasks",
       json::array{RawExecTask("web", "echo hello from web; while true; do sleep 1; done"),
                   RawExecTask("worker",
                               "trap 'echo bye; exit 3' USR1; echo hello from worker; "
                               "while true; do sleep 1; done")}}};
  json::object job{{"Job", json::object{{"ID", "browser-demo"},
                                        {"Name", "browser-demo"},
                                        {"Type", "service"},
                                        {"Datacenters", json::array{"dc1"}},
                                        {"TaskGroups", json::array{group}}}}};
  auto put = client.Put("/v1/jobs", json::serialize(job));
  ASSERT_TRUE(put.ok() && put->status == 200) << (put.ok() ? put->body : put.status().ToString());

  auto alloc = [&](const std::string& id) {
    auto r = client.Get("/v1/allocation/" + id);
    auto v = r.ok() && r->status == 200 ? ParseJson(r->body) : Result<json::value>(json::value());
    return v.ok() ? *v : json::value();
  };
  auto task_is = [&](const json::value& a, const std::string& task, const char* state,
                     std::int64_t restarts) {
    const json::value* ts = a.is_object() ? a.as_object().if_contains("TaskStates") : nullptr;
    if (ts == nullptr || !ts->is_object() || !ts->as_object().contains(task)) return false;
    return Str(a, "/TaskStates/" + task + "/State") == state &&
           Int(a, "/TaskStates/" + task + "/Restarts") == restarts;
  };
  std::string id;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r = client.Get("/v1/job/browser-demo/allocations");
        auto list = r.ok() ? ParseJson(r->body) : Result<json::value>(json::value());
        if (!list.ok() || !list->is_array() || list->as_array().empty()) return false;
        id = Str(list->as_array()[0], "/ID");
        json::value a = alloc(id);
        return task_is(a, "web", "running", 0) && task_is(a, "worker", "running", 0);
      },
      30s, 50ms))
      << "the job did not start; log tail:\n" << agent->LogTail();

  // The agent restarts under the running tasks; then the worker is
  // signalled, exits 3 and comes back.
  ASSERT_TRUE(agent->Restart().ok()) << agent->LogTail();
  client = agent->Client();
  auto sig = client.Request("POST", "/v1/client/allocation/" + id + "/signal",
                            R"({"Task": "worker", "Signal": "SIGUSR1"})");
  ASSERT_TRUE(sig.ok() && sig->status == 200) << (sig.ok() ? sig->body : sig.status().ToString());
  ASSERT_TRUE(WaitFor([&] { return task_is(alloc(id), "worker", "running", 1); }, 30s, 50ms))
      << "the worker was not restarted after SIGUSR1; log tail:\n" << agent->LogTail();

  const fs::path binary_dir = fs::path(DROVER_BINARY).parent_path();
  const fs::path artifacts = binary_dir / "artifacts";
  std::string command = "cd " + Quote(std::string(DROVER_SOURCE_DIR) + "/tests/browser") + " && " +
                        Quote(node) + " ui_test.mjs --base http://127.0.0.1:" +
                        std::to_string(agent->port()) +
                        " --job browser-demo --task web --artifacts " + Quote(artifacts.string());
  if (const char* update = std::getenv("DROVER_UPDATE_SCREENSHOT"); update && *update == '1') {
    command += " --docs " + Quote(std::string(DROVER_SOURCE_DIR) + "/docs/timeline.png");
  }
  const std::string out = RunCommand("CHROMIUM=" + Quote(chromium) + " " + command);
  std::cout << out;
  const std::size_t at = out.rfind("BROWSER-UI: ");
  ASSERT_NE(at, std::string::npos) << "the browser script gave no verdict:\n" << out;
  const std::string verdict = out.substr(at + 12, out.find('\n', at) - at - 12);
  if (verdict.rfind("SKIP", 0) == 0) GTEST_SKIP() << verdict;
  EXPECT_EQ(verdict, "PASS") << out << "\nagent log tail:\n" << agent->LogTail();
  EXPECT_TRUE(fs::exists(artifacts / "timeline.png"));
}

}  // namespace
}  // namespace drover::testing
