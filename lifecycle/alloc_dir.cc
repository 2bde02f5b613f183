#include "lifecycle/alloc_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "common/safe_fs.h"

namespace drover {
namespace {

// Room left in a file name (NAME_MAX) for ".stdout.<n>" after a task name.
constexpr std::size_t kMaxTaskDirName = 200;
constexpr mode_t kDirMode = 0777;  // less the umask, as os.MkdirAll in Nomad
constexpr mode_t kSecretsMode = 0700;

Status DirError(const std::string& what, int err) {
  if (err == ELOOP) return FailedPrecondition(what + " is a symbolic link; refusing to follow it");
  if (err == ENOTDIR) return FailedPrecondition(what + " exists and is not a directory");
  return Internal(what + ": " + std::strerror(err));
}

// Creates `rel` beneath `root`, returning its descriptor.
Result<UniqueFd> MakeDirs(int root, const std::string& root_name, std::string_view rel) {
  UniqueFd fd(MakeDirsBeneath(root, rel, kDirMode));
  if (!fd.valid()) return DirError("create " + root_name + "/" + std::string(rel), errno);
  return fd;
}

}  // namespace

Status CheckTaskDirName(std::string_view name) {
  if (!IsSafeComponent(name) || name == kSharedDirName || name.size() > kMaxTaskDirName) {
    return InvalidArgument("task name \"" + std::string(name.substr(0, kMaxTaskDirName)) +
                           "\" cannot name a directory: it must be one path component (no "
                           "'/' or NUL, not \".\" or \"..\"), not \"alloc\", and at most " +
                           std::to_string(kMaxTaskDirName) + " bytes");
  }
  return Status::Ok();
}

std::string AllocDirOf(const std::string& data_dir, const std::string& alloc_id) {
  return data_dir + "/alloc/" + alloc_id;
}

Result<TaskPaths> MakeTaskPaths(const std::string& data_dir, const std::string& alloc_id,
                                const std::string& task) {
  if (!IsSafeComponent(alloc_id))
    return InvalidArgument("invalid allocation ID \"" + alloc_id + "\"");
  RETURN_IF_ERROR(CheckTaskDirName(task));
  TaskPaths p;
  p.alloc_dir = AllocDirOf(data_dir, alloc_id);
  p.shared_dir = p.alloc_dir + "/" + std::string(kSharedDirName);
  p.logs_dir = p.alloc_dir + "/" + std::string(kLogsDirRel);
  p.task_dir = p.alloc_dir + "/" + task;
  p.local_dir = p.task_dir + "/local";
  p.secrets_dir = p.task_dir + "/secrets";
  p.tmp_dir = p.task_dir + "/tmp";
  p.task = task;
  p.stdout_name = task + ".stdout";
  p.stderr_name = task + ".stderr";
  // Outside the allocation directory: nothing of it is served by the API.
  p.executor_dir = data_dir + "/executor/" + alloc_id + "/" + task;
  return p;
}

Result<bool> BuildTaskDirs(const TaskPaths& p) {
  // Up to the allocation directory the path is the agent's own; beneath it
  // everything goes through descriptors.
  const std::string allocs = p.alloc_dir.substr(0, p.alloc_dir.rfind('/'));
  const std::string alloc_id = p.alloc_dir.substr(allocs.size() + 1);
  std::error_code ec;
  std::filesystem::create_directories(allocs, ec);
  if (ec) return Internal("create " + allocs + ": " + ec.message());
  UniqueFd allocs_fd(::open(allocs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!allocs_fd.valid()) return Internal("open " + allocs + ": " + std::strerror(errno));
  ASSIGN_OR_RETURN(UniqueFd alloc, MakeDirs(allocs_fd.get(), allocs, alloc_id));

  const std::string local_rel = p.task + "/local";
  struct stat st {};
  const bool first_run = ::fstatat(alloc.get(), local_rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0;
  for (const std::string& rel :
       {std::string(kLogsDirRel), std::string(kSharedDirName) + "/data",
        std::string(kSharedDirName) + "/tmp", local_rel, p.task + "/tmp"}) {
    ASSIGN_OR_RETURN(UniqueFd dir, MakeDirs(alloc.get(), p.alloc_dir, rel));
  }
  ASSIGN_OR_RETURN(UniqueFd secrets, MakeDirs(alloc.get(), p.alloc_dir, p.task + "/secrets"));
  if (::fchmod(secrets.get(), kSecretsMode) != 0)
    return Internal("chmod " + p.secrets_dir + ": " + std::strerror(errno));
  return first_run;
}

Status DestroyAllocDir(const std::string& data_dir, const std::string& alloc_id) {
  if (!IsSafeComponent(alloc_id))
    return InvalidArgument("invalid allocation ID \"" + alloc_id + "\"");
  Status result;
  for (const char* parent : {"/executor", "/alloc"}) {
    const std::string dir = data_dir + parent;
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) {
      if (errno == ENOENT) continue;
      result = Internal("open " + dir + ": " + std::strerror(errno));
      continue;
    }
    if (RemoveTreeAt(fd.get(), alloc_id.c_str()) != 0 && result.ok())
      result = Internal("remove " + dir + "/" + alloc_id + ": " + std::strerror(errno));
  }
  return result;
}

}  // namespace drover
