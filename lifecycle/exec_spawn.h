// Starts the helper that runs one `alloc exec` command inside a task
// (`drover-executor exec`, lifecycle/executor/exec_helper.h).
#pragma once

#include <string>
#include <vector>

#include "common/safe_fs.h"
#include "common/status.h"

namespace drover {

// Where an exec session's command runs: a running task's executor state
// (its launch spec) and the task's process.
struct ExecTarget {
  std::string task;
  std::string state_dir;
  int task_pid = 0;
};

struct ExecHelper {
  int pid = 0;
  UniqueFd pidfd;    // readable once the helper exited; reap with ReapExecHelper
  UniqueFd channel;  // non-blocking, close-on-exec; frames: common/exec_channel.h
};

// Starts the helper for `command` (argv, command[0] resolved in the task's
// PATH by the helper) on `target`. The helper is a "clone" child of this
// process (it signals nothing when it exits), so that the engine's
// waitpid(-1) never reaps it; only ReapExecHelper does. It starts in its
// own session with an empty signal mask and no descriptor of the agent but
// the channel (on its stdin; stdout and stderr are /dev/null).
// InvalidArgument for a NUL byte in the command; NotFound when the task
// process is already gone.
Result<ExecHelper> SpawnExecHelper(const std::string& executor_path, const ExecTarget& target,
                                   const std::vector<std::string>& command, bool tty);

// Collects the helper's exit without blocking; true once it is reaped.
bool ReapExecHelper(const ExecHelper& helper);

}  // namespace drover
