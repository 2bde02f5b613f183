#include "lifecycle/alloc_dir.h"

#include <filesystem>
#include <system_error>

namespace drover {

namespace fs = std::filesystem;

TaskPaths MakeTaskPaths(const std::string& data_dir, const std::string& alloc_id,
                        const std::string& task) {
  TaskPaths p;
  p.alloc_dir = data_dir + "/alloc/" + alloc_id;
  p.shared_dir = p.alloc_dir + "/alloc";
  p.logs_dir = p.shared_dir + "/logs";
  p.task_dir = p.alloc_dir + "/" + task;
  p.local_dir = p.task_dir + "/local";
  p.secrets_dir = p.task_dir + "/secrets";
  p.tmp_dir = p.task_dir + "/tmp";
  p.stdout_base = p.logs_dir + "/" + task + ".stdout";
  p.stderr_base = p.logs_dir + "/" + task + ".stderr";
  // Outside the allocation directory: nothing of it is served by the API.
  p.executor_dir = data_dir + "/executor/" + alloc_id + "/" + task;
  return p;
}

Status BuildTaskDirs(const TaskPaths& p) {
  for (const std::string* dir : {&p.logs_dir, &p.shared_dir, &p.local_dir, &p.secrets_dir,
                                 &p.tmp_dir}) {
    std::error_code ec;
    fs::create_directories(*dir, ec);
    if (ec) return Internal("create " + *dir + ": " + ec.message());
  }
  for (const char* sub : {"/data", "/tmp"}) {
    std::error_code ec;
    fs::create_directories(p.shared_dir + sub, ec);
    if (ec) return Internal("create " + p.shared_dir + sub + ": " + ec.message());
  }
  std::error_code ec;
  fs::permissions(p.secrets_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (ec) return Internal("chmod " + p.secrets_dir + ": " + ec.message());
  return Status::Ok();
}

Status DestroyAllocDir(const std::string& data_dir, const std::string& alloc_id) {
  std::error_code ec;
  fs::remove_all(data_dir + "/executor/" + alloc_id, ec);
  fs::remove_all(data_dir + "/alloc/" + alloc_id, ec);
  if (ec) return Internal("remove alloc dir " + alloc_id + ": " + ec.message());
  return Status::Ok();
}

}  // namespace drover
