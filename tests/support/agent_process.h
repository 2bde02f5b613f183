// A real `drover agent` process for end-to-end tests and benchmarks.
//
// Launch() creates a fresh temporary directory, picks a free loopback port,
// starts DROVER_BINARY on them and waits until GET /v1/agent/self answers
// 200. The agent's stdout and stderr go to <temp dir>/agent.log.
//
// Whatever happens in a test, the destructor leaves nothing behind: it
// SIGKILLs the agent, every descendant of it, and every process that uses
// the data dir (task processes carry NOMAD_ALLOC_DIR under it or run in it;
// executors name it on their command line), then removes the temp directory
// (kept when DROVER_E2E_KEEP is set in the environment, for post-mortems).
//
// The first Launch() makes this process a child subreaper and starts a
// thread that reaps every child that exits: task processes orphaned by a
// killed agent are reaped here instead of lingering as zombies of an init
// that does not reap. Code in the same process must not waitpid() its own
// children then.
#pragma once

#include <sys/types.h>

#include <boost/json/fwd.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "tests/support/http_client.h"

namespace drover::testing {

struct AgentOptions {
  std::string binary = DROVER_BINARY;
  std::string log_level = "debug";
  std::vector<std::string> extra_args;  // e.g. {"--dev"}
  // When not empty: the agent's JSON config file (`--config`), written
  // into the agent's temp directory.
  std::string config_json;
  // Runs the agent through this command line, which must exec its
  // arguments: {"/usr/bin/prlimit", "--nofile=256"}.
  std::vector<std::string> launcher;
  std::chrono::milliseconds ready_timeout = std::chrono::seconds(30);
  // Runs once on the (empty) data dir before the agent first starts, e.g.
  // to mount a small filesystem there; an error fails Launch().
  std::function<Status(const std::filesystem::path& data_dir)> prepare_data_dir;
};

class AgentProcess {
 public:
  static Result<std::unique_ptr<AgentProcess>> Launch(AgentOptions options = {});

  ~AgentProcess();
  AgentProcess(const AgentProcess&) = delete;
  AgentProcess& operator=(const AgentProcess&) = delete;

  std::uint16_t port() const { return port_; }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  // The agent's pid, or -1 while it is not running.
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

  // A client for this agent; requests time out after `timeout`.
  HttpClient Client(std::chrono::milliseconds timeout = HttpClient::kDefaultTimeout) const {
    return HttpClient(port_, timeout);
  }

  // SIGTERM, then waits for the exit. Past `timeout` the agent is SIGKILLed
  // and the Status says it did not stop in time.
  Status Stop(std::chrono::milliseconds timeout = std::chrono::seconds(15));
  // SIGKILL and reap: a crash. Task processes keep running.
  Status Kill();
  // Stops the agent if it runs, then starts it again on the same data dir
  // and port and waits until it is ready.
  Status Restart();

  // The last `max_bytes` of the agent's log, for failure messages.
  std::string LogTail(std::size_t max_bytes = 4000) const;

 private:
  AgentProcess(AgentOptions options, std::filesystem::path root);
  Status Start();
  Status WaitReady();
  void KillEverything();

  AgentOptions options_;
  std::filesystem::path root_;      // the temp dir: data dir + agent.log
  std::filesystem::path data_dir_;
  std::filesystem::path log_path_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

// Pids of live processes that belong to `data_dir`'s agent: their
// NOMAD_ALLOC_DIR or working directory is inside it, or their command line
// names it. Never includes this process.
std::vector<pid_t> ProcessesUsing(const std::filesystem::path& data_dir);

// True while `pid` exists and is not a zombie.
bool ProcessAlive(pid_t pid);

// The parent of `pid` (/proc/<pid>/stat), or -1.
pid_t ParentOf(pid_t pid);
// Live children of `parent`, in pid order.
std::vector<pid_t> ChildrenOf(pid_t parent);

// Polls `done` every `interval` until it returns true or `timeout` passes.
// Returns whether it became true.
bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout,
             std::chrono::milliseconds interval = std::chrono::milliseconds(20));

// Parses `text` as JSON; the error quotes the start of the text. The caller
// includes <boost/json.hpp> to use the value.
Result<boost::json::value> ParseJson(std::string_view text);

// The State of `task` in allocation `alloc_id` as GET /v1/allocation says,
// or "" when it cannot be read.
std::string TaskStateOf(HttpClient& client, const std::string& alloc_id, const std::string& task);

// Registers `job` (a PUT /v1/jobs body) and waits until `task` of the job's
// first allocation is in `state` ("running", "dead"). Returns that
// allocation's id, or "" on a timeout or a refused job.
std::string RunJobUntil(HttpClient& client, const boost::json::value& job,
                        const std::string& job_id, const std::string& task,
                        const std::string& state, std::chrono::milliseconds timeout);

}  // namespace drover::testing
