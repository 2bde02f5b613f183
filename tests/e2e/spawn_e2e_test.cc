// End-to-end: how the agent starts and watches executors.
//
// The executor is started with posix_spawn, whose child inherits every
// descriptor not marked close-on-exec unless the spawn closes them: these
// tests list /proc/<executor>/fd and /proc/<task>/fd and check that none
// of them is a file the agent holds (its RocksDB files, its listening
// socket, its log). And an executor adopted after an agent restart is
// watched (by pidfd): its task's exit is noticed and the restart policy
// runs. Every process is killed by the AgentProcess destructor.
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/agent_process.h"
#include "tests/support/http_client.h"
#include "tests/support/json_assert.h"

namespace drover::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr auto kWait = 30s;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct OpenFile {
  int fd;
  std::string target;  // readlink of /proc/<pid>/fd/<fd>
  dev_t dev;
  ino_t ino;
};

std::vector<OpenFile> OpenFiles(pid_t pid) {
  std::vector<OpenFile> out;
  const std::string dir_path = "/proc/" + std::to_string(pid) + "/fd";
  DIR* dir = ::opendir(dir_path.c_str());
  if (dir == nullptr) return out;
  while (const dirent* d = ::readdir(dir)) {
    if (d->d_name[0] == '.') continue;
    const std::string path = dir_path + "/" + d->d_name;
    char buf[4096];
    const ssize_t n = ::readlink(path.c_str(), buf, sizeof(buf));
    struct stat st {};
    if (n <= 0 || ::stat(path.c_str(), &st) != 0) continue;
    out.push_back(OpenFile{std::atoi(d->d_name), std::string(buf, static_cast<std::size_t>(n)),
                           st.st_dev, st.st_ino});
  }
  ::closedir(dir);
  return out;
}

json::value JobRequest(const std::string& id, const std::string& script) {
  const json::object task{
      {"Name", "t"},
      {"Driver", "raw_exec"},
      {"Config", json::object{{"command", "/bin/sh"}, {"args", json::array{"-c", script}}}},
      {"KillTimeout", 1'000'000'000},
  };
  const json::object group{
      {"Name", "g"},
      {"Count", 1},
      {"RestartPolicy", json::object{{"Attempts", 3},
                                     {"Interval", 600'000'000'000},
                                     {"Delay", 0},
                                     {"Mode", "fail"}}},
      {"Tasks", json::array{task}},
  };
  return json::object{{"Job", json::object{{"ID", id},
                                           {"Name", id},
                                           {"Type", "service"},
                                           {"Datacenters", json::array{"dc1"}},
                                           {"TaskGroups", json::array{group}}}}};
}

class SpawnE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto agent = AgentProcess::Launch();
    ASSERT_TRUE(agent.ok()) << agent.status().ToString();
    agent_ = std::move(agent).value();
  }
  void TearDown() override {
    if (HasFailure() && agent_) std::cerr << agent_->LogTail(6000) << "\n";
    agent_.reset();
  }

  Result<json::value> Call(std::string_view method, std::string_view path, std::string_view body = {}) {
    HttpClient client = agent_->Client();
    ASSIGN_OR_RETURN(HttpResponse r, client.Request(method, path, body));
    if (r.status != 200) return Internal(std::string(path) + " -> " + std::to_string(r.status) + " " + r.body);
    return ParseJson(r.body);
  }

  // Registers the job and waits until its task runs; returns the alloc id.
  std::string RunJob(const std::string& id, const std::string& script) {
    auto put = Call("PUT", "/v1/jobs", json::serialize(JobRequest(id, script)));
    EXPECT_TRUE(put.ok()) << put.status().ToString();
    std::string alloc_id;
    WaitFor(
        [&] {
          auto allocs = Call("GET", "/v1/job/" + id + "/allocations");
          if (!allocs.ok() || !allocs->is_array() || allocs->get_array().empty()) return false;
          const json::value& a = allocs->get_array().front();
          if (Str(a, "/TaskStates/t/State") != "running") return false;
          alloc_id = Str(a, "/ID");
          return true;
        },
        kWait, 20ms);
    return alloc_id;
  }

  std::unique_ptr<AgentProcess> agent_;
};

TEST_F(SpawnE2ETest, NoDescriptorOfTheAgentReachesTheExecutorOrTheTask) {
  const std::string alloc_id = RunJob("fds", "exec sleep 600");
  ASSERT_FALSE(alloc_id.empty()) << "the task never ran";

  std::vector<pid_t> executors;
  for (pid_t child : ChildrenOf(agent_->pid())) {
    if (ReadFile("/proc/" + std::to_string(child) + "/cmdline").find("drover-executor") !=
        std::string::npos) {
      executors.push_back(child);
    }
  }
  ASSERT_EQ(executors.size(), 1u) << "one executor, a child of the agent";
  const pid_t executor = executors[0];
  std::vector<pid_t> tasks = ChildrenOf(executor);
  ASSERT_EQ(tasks.size(), 1u) << "the task is the executor's child";

  const std::vector<OpenFile> agent_files = OpenFiles(agent_->pid());
  // The check means something only if the agent holds files worth leaking.
  bool agent_has_store = false;
  bool agent_has_socket = false;
  for (const OpenFile& f : agent_files) {
    agent_has_store = agent_has_store || f.target.find(agent_->data_dir().string()) == 0;
    agent_has_socket = agent_has_socket || f.target.rfind("socket:", 0) == 0;
  }
  ASSERT_TRUE(agent_has_store) << "the agent holds no file of its data dir";
  ASSERT_TRUE(agent_has_socket) << "the agent holds no socket";

  std::set<std::pair<dev_t, ino_t>> agent_ids;
  for (const OpenFile& f : agent_files) {
    // All anonymous inodes (epoll, eventfd, signalfd, pidfd) share one inode,
    // and /dev/null is everyone's: neither says a descriptor was inherited.
    if (f.target.rfind("anon_inode:", 0) == 0 || f.target == "/dev/null") continue;
    agent_ids.insert({f.dev, f.ino});
  }
  for (const pid_t pid : {executor, tasks[0]}) {
    const std::vector<OpenFile> files = OpenFiles(pid);
    EXPECT_FALSE(files.empty()) << "cannot list /proc/" << pid << "/fd";
    for (const OpenFile& f : files) {
      EXPECT_EQ(agent_ids.count({f.dev, f.ino}), 0u)
          << "pid " << pid << " holds fd " << f.fd << " -> " << f.target << ", open in the agent too";
    }
  }
}

TEST_F(SpawnE2ETest, AnAdoptedExecutorsExitIsNoticedAndTheTaskRestarted) {
  const std::string alloc_id = RunJob("adopt", "echo $$ > \"$NOMAD_ALLOC_DIR/pid\"; exec sleep 600");
  ASSERT_FALSE(alloc_id.empty()) << "the task never ran";
  ASSERT_TRUE(agent_->Kill().ok());
  ASSERT_TRUE(agent_->Restart().ok());

  const std::string pid_file = (agent_->data_dir() / "alloc" / alloc_id / "alloc" / "pid").string();
  pid_t task = 0;
  std::ifstream(pid_file) >> task;
  ASSERT_GT(task, 0);
  ASSERT_TRUE(ProcessAlive(task)) << "the task did not outlive the agent";
  ASSERT_EQ(::kill(task, SIGKILL), 0);

  // The restarted agent watches the adopted executor: the task's death is
  // seen and the restart policy (Delay 0) runs it again.
  json::value last;
  const bool restarted = WaitFor(
      [&] {
        auto a = Call("GET", "/v1/allocation/" + alloc_id);
        if (!a.ok()) return false;
        last = *a;
        const json::value& restarts = At(*a, "/TaskStates/t/Restarts");
        return restarts.is_number() && restarts.to_number<std::int64_t>() >= 1 &&
               Str(*a, "/TaskStates/t/State") == "running";
      },
      kWait, 50ms);
  EXPECT_TRUE(restarted) << json::serialize(last);
}

}  // namespace
}  // namespace drover::testing
