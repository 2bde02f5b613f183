// Files beneath a directory descriptor, never through a symbolic link.
//
// Tasks own their allocation directory and can plant anything in it: a
// symlink named like the next rotated log, `alloc/logs` or `secrets`
// replaced by a link to /etc, a hard link, a FIFO, a link swapped in
// between a check and an open. So nothing the agent or the executor does
// inside an allocation directory goes by path. Every open, create, chmod
// or unlink starts from a descriptor of a directory the agent made, and
// each component beneath it is resolved by the kernel without following a
// symlink:
//
//   - openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
//     where the kernel has it (Linux 5.6), or
//   - a walk that opens one component at a time with O_NOFOLLOW and refuses
//     any symlink it meets.
//
// Either way a symlink anywhere on the way is refused with ELOOP, even one
// that points back inside: the answer is the same for every link, and no
// descriptor of a symlink is ever returned. `..` is refused outright.
//
// Plain libc with errno, no Status: drover-executor links this file and
// nothing else of common/.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace drover {

// An owned file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Closes the descriptor; errno is kept.
  void Reset();
  // Gives up ownership (to fdopendir, for one).
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

// How components are resolved. kAuto uses openat2 where the kernel has it;
// the others exist so that tests can run both.
enum class Resolver { kAuto, kOpenat2, kWalk };

// Whether openat2 with the RESOLVE_ flags above works here (probed once).
bool Openat2Available();

// The components of a '/'-separated path in order, without the empty and
// "." ones ("a//./b/" gives "a", "b"); ".." is kept, for the caller to
// judge.
std::vector<std::string_view> PathComponents(std::string_view path);

// True if `name` is one directory entry name that resolves to itself: not
// empty, not "." or "..", no '/', no NUL, at most NAME_MAX bytes.
bool IsSafeComponent(std::string_view name);

// Opens `rel` beneath the directory `root`. `rel` is components joined by
// '/' ("alloc/logs"); "" or "." is `root` itself; a leading '/' or a ".."
// component is refused (EXDEV, as openat2 says for an escape). O_NOFOLLOW
// and O_CLOEXEC are always added to `flags`; with O_CREAT only the last
// component is created. Returns the descriptor, or -1 with errno: ELOOP for
// a symlink anywhere on the way (the last component included, O_PATH too),
// ENOTDIR for a non-directory on the way, EAGAIN if renames kept racing the
// lookup, or whatever open(2) says.
int OpenBeneath(int root, std::string_view rel, int flags, mode_t mode = 0,
                Resolver resolver = Resolver::kAuto);
// The same for a path already split into components (none may be "..").
int OpenBeneath(int root, const std::vector<std::string>& parts, int flags, mode_t mode = 0,
                Resolver resolver = Resolver::kAuto);

// Creates every missing directory of `rel` beneath `root` (with `mode`,
// less the umask) and returns an O_RDONLY | O_DIRECTORY descriptor of the
// last one, or -1 with errno: ELOOP where a component is a symlink, ENOTDIR
// where it is something else, EXDEV for "..". Nothing existing is changed.
int MakeDirsBeneath(int root, std::string_view rel, mode_t mode);

// Removes the entry `name` of the directory `dir`; a directory with
// everything beneath it. A symlink is removed itself, never followed, and
// no descriptor is kept per level beyond a fixed depth (deeper levels are
// moved up and removed in later passes), so that a hostile tree can neither
// lead outside nor exhaust descriptors or the stack. 0 (also when `name`
// does not exist) or -1 with errno of the first failure.
int RemoveTreeAt(int dir, const char* name);

// RemoveTreeAt for a path whose directories are the caller's own (not a
// task's): its last component is removed beneath a descriptor of its
// parent. "" and "/" are refused (EINVAL).
int RemovePathTree(const std::string& path);

// Opens the file `name` of the directory `dir` to append to it, creating
// it (mode `mode`) if needed. Whatever a task may have planted under that
// name instead of a plain file of ours (a symlink, a hard link to another
// file, a FIFO, a device) is unlinked, never opened for writing, and a new
// file is created in its place. Returns the descriptor or -1 with errno.
int OpenAppendOwnFile(int dir, const char* name, mode_t mode);

}  // namespace drover
