// The task driver: starts a task and talks to it while it runs.
//
// Drover has one driver, raw_exec. Each task is held by its own executor
// process (drover-executor, see lifecycle/executor/protocol.h): the
// executor starts the task in a process group of its own, captures its
// output into rotated logs, forwards signals, kills it on request and
// records its exit durably. The executor runs in its own session, so an
// agent that is killed, crashes or is upgraded leaves tasks and logs
// running, and finds the exit status of a task that ended meanwhile.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/gotime.h"
#include "common/status.h"
#include "lifecycle/containment.h"
#include "lifecycle/restart_tracker.h"

namespace drover {

class Scheduler;
class ProcessMonitor;

struct TaskLaunch {
  std::string command;  // resolved against PATH by the driver
  std::vector<std::string> args;
  std::map<std::string, std::string> env;  // the complete environment
  std::string working_dir;
  // Logs go to <alloc_dir>/<logs_dir>/<stdout_name>.<n> (and stderr's),
  // opened beneath the allocation directory without following a symlink.
  std::string alloc_dir;
  std::string logs_dir = "alloc/logs";
  std::string stdout_name;  // "<task>.stdout"
  std::string stderr_name;
  int max_files = 10;
  std::uint64_t max_file_bytes = 10ull << 20;
  int kill_signal = 2;  // SIGINT, Nomad's default
  Nanos kill_timeout = 5 * kSecond;
  std::string state_dir;  // the executor's directory; created by the driver
  // Containment (see lifecycle/containment.h).
  std::string user;                 // the task's User; "" runs as the agent
  std::vector<std::string> user_dirs;  // names under working_dir given to `user`
  std::string alloc_id;             // with task_name, names the task's cgroup
  std::string task_name;
  std::int64_t memory_mb = 0;
  std::int64_t memory_max_mb = 0;
  std::int64_t cpu_mhz = 0;
};

// Identifies a running task across agent restarts. The executor is named
// by its pid plus its start time (clock ticks since boot, /proc/<pid>/stat
// field 22), so that a reused pid is never mistaken for it.
struct ProcessHandle {
  int pid = 0;  // the executor
  std::uint64_t start_ticks = 0;
  int task_pid = 0;  // the task (leader of its process group)
  std::string state_dir;
  friend bool operator==(const ProcessHandle&, const ProcessHandle&) = default;
};

using StartCallback = std::function<void(Result<ProcessHandle>)>;

class Driver {
 public:
  virtual ~Driver() = default;
  // Starts the task without waiting for it: `done` runs on the loop once
  // the task runs (or failed to start); for a launch refused before any
  // process exists it may run before Start returns. The driver waits for
  // the executor through `monitor` and bounds the wait with `scheduler`,
  // so that the loop serves other allocations meanwhile. Every process it
  // started and that failed is handed to `monitor` to be reaped; a
  // successful start's executor is the caller's to watch.
  // InvalidArgument for a command that cannot run (not found, not
  // executable, NUL bytes in its arguments or environment): not worth
  // retrying; Internal otherwise.
  virtual void Start(const TaskLaunch& launch, Scheduler& scheduler, ProcessMonitor& monitor,
                     StartCallback done) = 0;
  // Sends `signal` to the task's process group.
  virtual Status Signal(const ProcessHandle& handle, int signal) = 0;
  // Stops the task: its kill signal now, SIGKILL after its kill timeout.
  // Does not wait for the executor to act: Ok means the request was
  // delivered (or, with the executor unreachable, the task signalled).
  virtual Status Kill(const ProcessHandle& handle) = 0;
  // The exit the executor recorded, once the executor has exited; nullopt
  // if it left none (it was killed itself).
  virtual std::optional<ExitResult> ExitStatus(const ProcessHandle& handle) = 0;
  // Removes what the executor left once its exit has been collected.
  virtual void Cleanup(const ProcessHandle& handle) = 0;
};
using DriverPtr = std::unique_ptr<Driver>;

// `executor_path`: the drover-executor binary. With a cgroup layout in
// `containment`, every task gets a cgroup with its limits; a task whose
// name cannot name a cgroup is refused.
DriverPtr NewRawExecDriver(std::string executor_path, Containment containment = {});

// The cgroup the executor in `state_dir` holds its task in, from its
// spec; disabled if it has none (or the spec is gone). The spec is durable,
// so an agent that restarts finds the group again.
cgroup::TaskGroup ExecutorTaskGroup(const std::string& state_dir);

// drover-executor next to the running binary.
std::string DefaultExecutorPath();

// The process's start time, or 0 if it does not exist.
std::uint64_t ProcessStartTicks(int pid);

// True if the handle still names a live executor (same pid, same start
// time, not a zombie).
bool ProcessAlive(const ProcessHandle& handle);

// Signal names as Nomad accepts them ("SIGTERM", "SIGUSR1", ...); -1 if unknown.
int SignalFromName(const std::string& name);

}  // namespace drover
