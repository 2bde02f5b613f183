// Race-free access to one allocation's directory, for the client fs and
// logs endpoints. Free of HTTP so that it can be tested on a temp tree.
//
// Tasks own their directories and can put anything there: symlinks to
// /etc/passwd, a symlinked parent directory, a FIFO, a link swapped in
// between two requests. So no path is ever checked and then opened (Nomad's
// CVE-2022-24683 was exactly that). Instead:
//
//   1. The request path is split lexically: NUL bytes, over-long paths and
//      `..` that climbs above the allocation root are refused before the
//      filesystem is touched. A leading "/" means the allocation root, as in
//      Nomad ("/alloc/logs"), so "/etc/passwd" is <alloc>/etc/passwd.
//   2. A task's secrets/ and private/ are refused by name.
//   3. The kernel resolves the components beneath an fd of the allocation
//      root without following any symlink (common/safe_fs.h: openat2, or a
//      component walk with O_NOFOLLOW where the kernel lacks it), even one
//      that points back inside: the answer is the same for every link.
//   4. Reads go through the fd that was resolved, and only regular files are
//      read (a FIFO would block a thread forever).
//
// Errors: Nomad's "Path escapes the alloc directory" (400) for `..` above
// the root, 403 for symlinks and secrets, 404 for what does not exist.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/gotime.h"
#include "common/safe_fs.h"
#include "common/status.h"

namespace drover::api {

// One entry of fs/ls or the answer of fs/stat (Nomad's AllocFileInfo).
struct AllocFileInfo {
  std::string name;
  bool is_dir = false;
  std::int64_t size = 0;
  std::string file_mode;  // Go's os.FileMode.String(), e.g. "drwxr-xr-x"
  GoTime mod_time;
};

// Go's os.FileMode.String() for a st_mode: "-rw-r--r--", "drwxrwxrwt" is
// "dtrwxrwxrwx", a symlink "Lrwxrwxrwx", a FIFO "prw-r--r--".
std::string GoFileMode(mode_t mode);

// The resolver is common/safe_fs.h's, shared with the agent's and the
// executor's writes.
using ::drover::Openat2Available;
using ::drover::Resolver;
using ::drover::UniqueFd;

// Step 1 above: the components of a request path below the root ("" and
// "/" give none). Errors: NUL byte, too long, escape.
Result<std::vector<std::string>> SplitRequestPath(std::string_view path);

// A regular file opened for reading, with its size when it was opened.
struct OpenedFile {
  UniqueFd fd;
  struct stat st {};
};

class AllocFs {
 public:
  // Opens `alloc_dir`, which the caller built from the data dir and a known
  // allocation id. NotFound when it does not exist (not built yet, or
  // collected).
  static Result<AllocFs> Open(const std::string& alloc_dir, Resolver resolver = Resolver::kAuto);

  // The entries of a directory, by name; symlinks are listed, not followed.
  Result<std::vector<AllocFileInfo>> List(std::string_view path) const;
  Result<AllocFileInfo> Stat(std::string_view path) const;
  // A regular file, opened for reading. A directory, FIFO, socket or device
  // is refused with InvalidArgument.
  Result<OpenedFile> OpenFile(std::string_view path) const;
  // The identity (st_dev, st_ino, size...) of what `path` names now, without
  // opening it for reading: a follower uses it to notice a file replaced.
  Result<struct stat> Lstat(std::string_view path) const;

 private:
  AllocFs(UniqueFd root, std::string root_name, Resolver resolver)
      : root_(std::move(root)), root_name_(std::move(root_name)), resolver_(resolver) {}

  // Steps 1 to 3: an O_PATH fd of what `path` names (never a symlink).
  Result<UniqueFd> Resolve(std::string_view path, std::vector<std::string>* parts) const;

  UniqueFd root_;          // O_PATH | O_DIRECTORY
  std::string root_name_;  // the allocation id: the name of "/"
  Resolver resolver_;
};

// ---- Rotated log files: <task>.<type>.<index> in alloc/logs ----------------

struct LogFile {
  std::int64_t index = 0;
  std::string name;  // "web.stdout.3"
  std::int64_t size = 0;
};

// The log files of `task` and `type` among `entries`, by index. Only
// regular files count: a symlink or directory named like a log is not one.
std::vector<LogFile> LogFilesOf(const std::vector<AllocFileInfo>& entries, std::string_view task,
                                std::string_view type);

struct LogPosition {
  std::size_t file = 0;     // into the LogFilesOf() vector
  std::int64_t offset = 0;  // into that file
};

// Nomad's findClosest: where to start reading `files` (non-empty, by index)
// for `offset` bytes from the start (origin_end false) or back from the end
// (origin_end true), walking across files and clamping at either end.
LogPosition FindLogStart(const std::vector<LogFile>& files, std::int64_t offset, bool origin_end);

}  // namespace drover::api
