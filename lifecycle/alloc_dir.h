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
#pragma once

#include <string>

#include "common/status.h"

namespace drover {

struct TaskPaths {
  std::string alloc_dir;   // <data>/alloc/<id>
  std::string shared_dir;  // <alloc_dir>/alloc
  std::string logs_dir;    // <shared_dir>/logs
  std::string task_dir;    // <alloc_dir>/<task>
  std::string local_dir;
  std::string secrets_dir;
  std::string tmp_dir;
  std::string stdout_base;  // <logs_dir>/<task>.stdout; files are <base>.<n>
  std::string stderr_base;
  std::string executor_dir;  // <data>/executor/<alloc id>/<task>
};

TaskPaths MakeTaskPaths(const std::string& data_dir, const std::string& alloc_id,
                        const std::string& task);

// Creates every directory of the layout (idempotent).
Status BuildTaskDirs(const TaskPaths& paths);

// Removes an allocation's whole directory.
Status DestroyAllocDir(const std::string& data_dir, const std::string& alloc_id);

}  // namespace drover
