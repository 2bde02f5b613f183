// What the agent and a task's executor share: the files in the executor's
// state directory and the commands of its control socket.
//
// State directory (<data>/executor/<alloc id>/<task>/):
//   spec    the launch, written by the agent before it starts the executor:
//           NUL-terminated key, value pairs (values may hold any byte but NUL)
//             command <path>          arg <text> (repeated, in order)
//             env <KEY=VALUE> (repeated)  cwd <dir>
//             stdout <base path>      stderr <base path>   (".<n>" appended)
//             max_files <n>           max_file_bytes <n>
//             kill_signal <n>         kill_timeout_ms <n>
//             user <name>             (the task runs as it; else as the executor)
//             chown <dir name> (repeated: directories under cwd given to the user)
//             cgroup_version <1|2>    cgroup <controller>:<dir> (repeated)
//             memory_hard_bytes <n>   memory_soft_bytes <n>  (-1: unlimited)
//             pids_max <n>            cpu_shares <n>
//   sock    the control socket (unix, stream): one command per connection,
//           one line each way:  "signal <n>\n" | "kill\n" | "status\n"
//           answered "ok\n", "running <task pid>\n" or "error <text>\n"
//   exit    written once the task has exited, durably (fsync + rename):
//           "<exit code> <signal> <unix nanos> <oom killed 0|1>\n"
//           (the last field is absent in records of older executors)
//
// On start the executor prints one line on its stdout and closes it:
//   "started <task pid>\n", "error <text>\n" (may succeed if retried) or
//   "invalid <text>\n" (the task as given can never start: unknown user,
//   command that cannot be executed)
//
// Free of everything but the C and C++ standard libraries: the executor
// links it and stays small.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lifecycle/executor/cgroup.h"

namespace drover::executor {

struct Spec {
  std::string command;
  std::vector<std::string> args;
  std::vector<std::string> env;  // "KEY=VALUE"
  std::string cwd;
  std::string stdout_base;
  std::string stderr_base;
  int max_files = 10;
  std::uint64_t max_file_bytes = 10ull << 20;
  int kill_signal = 2;  // SIGINT
  std::int64_t kill_timeout_ms = 5000;
  std::string user;                // "": run as the executor's user
  std::vector<std::string> chown;  // names under cwd, chowned to `user`
  int cgroup_version = 0;          // 0: no cgroup
  std::vector<std::string> cgroups;  // "<controller>:<dir>"
  std::int64_t memory_hard_bytes = 0;
  std::int64_t memory_soft_bytes = 0;
  std::int64_t pids_max = 0;
  std::int64_t cpu_shares = 0;
};

std::string EncodeSpec(const Spec& spec);
// False if the text is not a well-formed spec.
bool DecodeSpec(const std::string& text, Spec* spec);

// The task's cgroup named by a spec (disabled without one).
cgroup::TaskGroup SpecGroup(const Spec& spec);

struct ExitRecord {
  std::int64_t exit_code = 0;
  std::int64_t signal = 0;
  std::int64_t time_ns = 0;
  bool oom_killed = false;  // the kernel OOM-killed in the task's cgroup
};
std::string EncodeExit(const ExitRecord& r);
std::optional<ExitRecord> DecodeExit(const std::string& text);

// Writes `data` to `path` durably: a temporary file, fsync, rename, fsync
// of the directory. False with errno set on failure.
bool WriteFileDurably(const std::string& path, const std::string& data);
// The whole file, or nullopt if it cannot be read.
std::optional<std::string> ReadWholeFile(const std::string& path);

// Sends one command to the executor whose state directory is `state_dir`
// and returns its one-line answer (without the newline), or nullopt with
// errno set. The socket is reached through the directory's descriptor, so
// a long data dir path never exceeds the 108-byte socket address limit.
std::optional<std::string> SendCommand(const std::string& state_dir, const std::string& command,
                                       int timeout_ms);

}  // namespace drover::executor
