// What the agent and a task's executor share: the files in the executor's
// state directory and the commands of its control socket.
//
// State directory (<data>/executor/<alloc id>/<task>/):
//   spec    the launch, written by the agent before it starts the executor
//           (EncodeLaunchSpec; grammar below)
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
// The launch spec is length-prefixed, so that no byte of a value can be
// taken for structure:
//
//   spec   := "drover-launch-spec 2\n" field*
//   field  := key " " length "\n" value "\n"
//   key    := "command" | "arg" | "env" | "cwd" | "alloc_dir" | "logs_dir"
//           | "stdout" | "stderr" | "max_files" | "max_file_bytes"
//           | "kill_signal" | "kill_timeout_ms"
//           | "user" | "chown" | "cgroup_version" | "cgroup"
//           | "memory_hard_bytes" | "memory_soft_bytes" | "pids_max" | "cpu_shares"
//   length := decimal, no sign, no leading zero: the byte count of value
//
// "arg", "env", "chown" and "cgroup" repeat, in order; "user" and the
// cgroup fields are optional (the cgroup fields all or none, limits may be
// -1 for unlimited); every other key appears exactly once.
// Both ends apply ValidateSpec: a value the kernel would silently cut short
// (a NUL byte in the command, an argument, the environment or a path) or a
// number out of range is an error, never a different launch.
//
// Free of everything but the C and C++ standard libraries (and
// common/status and common/safe_fs, which are no more): the executor links
// it and stays small.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "lifecycle/executor/cgroup.h"

namespace drover::executor {

// What a spec may ask for: log files per stream and bytes per file.
inline constexpr int kMaxLogFiles = 10000;
inline constexpr std::uint64_t kMaxLogFileBytes = 1ull << 50;

struct Spec {
  std::string command;            // absolute path of the executable
  std::vector<std::string> args;  // argv[1..]
  std::vector<std::string> env;   // "KEY=VALUE"
  std::string cwd;                // the task's working directory ("" keeps the executor's)
  // Logs: <alloc_dir>/<logs_dir>/<stdout>.<n>, resolved beneath alloc_dir
  // without following a symlink (common/safe_fs.h).
  std::string alloc_dir;  // absolute
  std::string logs_dir;   // relative to alloc_dir, e.g. "alloc/logs"
  std::string stdout_name;  // "<task>.stdout": one path component
  std::string stderr_name;
  int max_files = 10;
  std::uint64_t max_file_bytes = 10ull << 20;
  int kill_signal = 2;  // SIGINT
  std::int64_t kill_timeout_ms = 5000;
  // Containment (lifecycle/executor/cgroup.h).
  std::string user;                  // "": run as the executor's user
  std::vector<std::string> chown;    // names under cwd, chowned to `user`
  int cgroup_version = 0;            // 0: no cgroup
  std::vector<std::string> cgroups;  // "<controller>:<dir>"
  std::int64_t memory_hard_bytes = 0;
  std::int64_t memory_soft_bytes = 0;
  std::int64_t pids_max = 0;
  std::int64_t cpu_shares = 0;
  friend bool operator==(const Spec&, const Spec&) = default;
};

// InvalidArgument naming the first field the executor could not launch
// exactly as given: a NUL byte in the command, an argument, an environment
// entry or a path; an environment entry without a name; a relative
// command or alloc_dir; a logs_dir with ".."; a log name that is not one
// path component; a number out of range.
Status ValidateSpec(const Spec& spec);

// The spec's bytes (grammar above), or ValidateSpec's error.
Result<std::string> EncodeLaunchSpec(const Spec& spec);

// The spec in `text`, strictly: anything but the exact grammar above (an
// unknown or repeated key, a bad or overlong length, trailing bytes, a
// non-canonical number) or a spec that fails ValidateSpec is
// InvalidArgument. A pure function of its input (the fuzz target).
Result<Spec> DecodeLaunchSpec(std::string_view text);

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
// The same without fsync: whole or absent for readers on this boot, not
// after a power loss.
bool WriteFileReplacing(const std::string& path, const std::string& data);
// The whole file, or nullopt if it cannot be read.
std::optional<std::string> ReadWholeFile(const std::string& path);

// Sends one command to the executor whose state directory is `state_dir`
// and returns its one-line answer (without the newline), or nullopt with
// errno set. The socket is reached through the directory's descriptor, so
// a long data dir path never exceeds the 108-byte socket address limit.
std::optional<std::string> SendCommand(const std::string& state_dir, const std::string& command,
                                       int timeout_ms);

// Delivers one command without waiting for the answer: true once it is in
// the executor's socket (the executor acts on it even after this side has
// closed), false with errno set when the executor cannot be reached. A
// stop of many tasks sends every kill this way, one syscall round each,
// instead of waiting for each executor to be scheduled and answer.
bool PostCommand(const std::string& state_dir, const std::string& command);

}  // namespace drover::executor
