// The task driver: starts a task's process and signals it.
//
// Drover has one driver, raw_exec: the task runs as a plain child process
// of the agent, in its own session (so its whole process tree can be
// signalled as a group and survives the agent's process group being
// killed), with stdout and stderr appended to its log files and no file
// descriptor of the agent's inherited.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace drover {

struct TaskLaunch {
  std::string command;
  std::vector<std::string> args;
  std::map<std::string, std::string> env;  // the complete environment
  std::string working_dir;
  std::string stdout_path;  // appended to
  std::string stderr_path;
};

// Identifies a running task process across agent restarts: a pid plus the
// process's start time (clock ticks since boot, /proc/<pid>/stat field 22)
// so that a reused pid is never mistaken for the task.
struct ProcessHandle {
  int pid = 0;
  std::uint64_t start_ticks = 0;
  friend bool operator==(const ProcessHandle&, const ProcessHandle&) = default;
};

class Driver {
 public:
  virtual ~Driver() = default;
  // Starts the process. Errors: InvalidArgument for a bad command (no such
  // file, not executable): not worth retrying; Internal otherwise.
  virtual Result<ProcessHandle> Start(const TaskLaunch& launch) = 0;
  // Sends `signal` to the task's whole process group.
  virtual Status Signal(const ProcessHandle& handle, int signal) = 0;
};
using DriverPtr = std::unique_ptr<Driver>;

DriverPtr NewRawExecDriver();

// The process's start time, or 0 if it does not exist.
std::uint64_t ProcessStartTicks(int pid);

// True if the handle still names a live process (same pid, same start time).
bool ProcessAlive(const ProcessHandle& handle);

// Signal names as Nomad accepts them ("SIGTERM", "SIGUSR1", ...); -1 if unknown.
int SignalFromName(const std::string& name);

}  // namespace drover
