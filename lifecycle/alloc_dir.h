// The on-disk layout of an allocation, as Nomad lays it out:
//
//   <data>/alloc/<alloc id>/
//     alloc/            shared by the group's tasks (NOMAD_ALLOC_DIR)
//       logs/           <task>.stdout.<n>, <task>.stderr.<n>
//       data/
//       tmp/
//     <task>/           the task's working directory
//       local/          NOMAD_TASK_DIR
//       secrets/        NOMAD_SECRETS_DIR (mode 0700)
//       tmp/
//
// Tasks write into this tree and may plant links in it, so everything here
// is created and removed beneath directory descriptors without following a
// symlink (common/safe_fs.h), and a task's name is used as a path component
// only when it is exactly one safe component that is not "alloc".
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace drover {

// The shared directory's name, and its logs directory beneath the
// allocation directory.
inline constexpr std::string_view kSharedDirName = "alloc";
inline constexpr std::string_view kLogsDirRel = "alloc/logs";

struct TaskPaths {
  std::string alloc_dir;   // <data>/alloc/<id>
  std::string shared_dir;  // <alloc_dir>/alloc
  std::string logs_dir;    // <shared_dir>/logs
  std::string task_dir;    // <alloc_dir>/<task>
  std::string local_dir;
  std::string secrets_dir;
  std::string tmp_dir;
  std::string task;         // the task directory's name beneath alloc_dir
  std::string stdout_name;  // "<task>.stdout" in logs_dir; files are <name>.<n>
  std::string stderr_name;
  std::string executor_dir;  // <data>/executor/<alloc id>/<task>
};

// InvalidArgument unless `name` can name a task's directories: one safe
// path component (not empty, ".", ".." or "alloc"; no '/' or NUL), short
// enough for "<name>.stdout.<n>" to be a file name. Job validation refuses
// such names at submit; this keeps the layers beneath safe regardless.
Status CheckTaskDirName(std::string_view name);

// `<data>/alloc/<alloc id>`.
std::string AllocDirOf(const std::string& data_dir, const std::string& alloc_id);

// The paths of one task. InvalidArgument for an allocation ID or a task
// name that is not a safe component (CheckTaskDirName).
Result<TaskPaths> MakeTaskPaths(const std::string& data_dir, const std::string& alloc_id,
                                const std::string& task);

// Creates every directory of the layout that is missing (idempotent) and
// makes secrets/ mode 0700, each beneath the descriptor of its parent: a
// symlink or a file where a directory belongs fails the call
// (FailedPrecondition, naming it) and nothing is created, chmod-ed or
// written through it. True if the task's local/ was created now (its
// first run), false on a restart.
Result<bool> BuildTaskDirs(const TaskPaths& paths);

// Removes an allocation's directory and its executors' state directories,
// never following a symlink out of them.
Status DestroyAllocDir(const std::string& data_dir, const std::string& alloc_id);

}  // namespace drover
