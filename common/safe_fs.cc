#include "common/safe_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

namespace drover {
namespace {

constexpr int kOpenat2Retries = 8;  // EAGAIN: a rename raced the lookup
constexpr std::uint64_t kResolveFlags =
    RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
// RemoveTreeAt: directory levels held open at once, and passes over a tree.
constexpr int kMaxRemoveDepth = 32;
constexpr int kMaxRemovePasses = 1 << 16;
// OpenAppendOwnFile: how often a planted entry is removed before giving up.
constexpr int kReplaceAttempts = 4;

long Openat2(int dirfd, const char* path, int flags, mode_t mode) {
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags);
  how.mode = (flags & O_CREAT) != 0 ? mode : 0;  // openat2 refuses a mode without O_CREAT
  how.resolve = kResolveFlags;
  return ::syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

// The components of `rel` ("" and "." dropped). False (errno EXDEV) for an
// absolute path or a "..".
bool SplitRel(std::string_view rel, std::vector<std::string>* parts) {
  if (!rel.empty() && rel.front() == '/') {
    errno = EXDEV;
    return false;
  }
  for (std::string_view part : PathComponents(rel)) {
    if (part == ".." || part.find('\0') != std::string_view::npos) {
      errno = part == ".." ? EXDEV : EINVAL;
      return false;
    }
    parts->emplace_back(part);
  }
  return true;
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out.empty() ? "." : out;
}

// An O_PATH open hands back a trailing symlink itself: refuse it, so that
// no caller ever holds a descriptor of a link.
int RefuseLink(int fd, int flags) {
  if (fd < 0 || (flags & O_PATH) == 0) return fd;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || S_ISLNK(st.st_mode)) {
    int err = S_ISLNK(st.st_mode) ? ELOOP : errno;
    ::close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

int OpenOpenat2(int root, const std::vector<std::string>& parts, int flags, mode_t mode) {
  const std::string rel = Join(parts);
  for (int attempt = 0;; ++attempt) {
    long fd = Openat2(root, rel.c_str(), flags, mode);
    if (fd >= 0) return RefuseLink(static_cast<int>(fd), flags);
    if (errno != EAGAIN || attempt >= kOpenat2Retries) return -1;
  }
}

// ENOTDIR for an O_DIRECTORY open of `name` in `dir`: ELOOP if it is a link.
int DirOpenErrno(int dir, const char* name, int err) {
  struct stat st {};
  if (err == ENOTDIR && ::fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
    return ELOOP;
  return err;
}

int OpenWalk(int root, const std::vector<std::string>& parts, int flags, mode_t mode) {
  if (parts.empty()) return RefuseLink(::openat(root, ".", flags, mode), flags);
  UniqueFd held;
  int cur = root;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    UniqueFd next(::openat(cur, parts[i].c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid()) return -1;
    struct stat st {};
    if (::fstat(next.get(), &st) != 0) return -1;
    if (!S_ISDIR(st.st_mode)) {
      errno = S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR;
      return -1;
    }
    held = std::move(next);
    cur = held.get();
  }
  return RefuseLink(::openat(cur, parts.back().c_str(), flags, mode), flags);
}

struct RemoveState {
  int top;                  // the tree's own directory: deep levels move here
  unsigned long moved = 0;  // names for moved directories
  bool progress = false;    // something was removed or moved in this pass
  int first_errno = 0;
  void Fail() {
    if (first_errno == 0) first_errno = errno;
  }
};

bool IsDirErrno(int err) { return err == EISDIR || err == EPERM; }

// Moves the directory `name` of `dir` into the tree's top directory.
bool MoveUp(int dir, const char* name, RemoveState& st) {
  for (int attempt = 0; attempt < kReplaceAttempts; ++attempt) {
    char moved[64];
    std::snprintf(moved, sizeof(moved), ".drover-rm-%lu", st.moved++);
    if (::renameat2(dir, name, st.top, moved, RENAME_NOREPLACE) == 0) return true;
    if (errno != EEXIST) return false;
  }
  return false;
}

// Empties the directory `fd` (taken over) at `depth` below the top.
void EmptyDir(int fd, int depth, RemoveState& st) {
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    st.Fail();
    ::close(fd);
    return;
  }
  ::rewinddir(d);  // a duplicate of the top shares its offset with the last pass
  const int dfd = ::dirfd(d);
  while (dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    if (::unlinkat(dfd, e->d_name, 0) == 0) {
      st.progress = true;
      continue;
    }
    if (errno == ENOENT) continue;
    if (!IsDirErrno(errno)) {
      st.Fail();
      continue;
    }
    if (depth + 1 >= kMaxRemoveDepth) {
      if (MoveUp(dfd, e->d_name, st))
        st.progress = true;
      else
        st.Fail();
      continue;
    }
    int sub = ::openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) {
      // Swapped for a link or a file meanwhile: the next pass unlinks it.
      if (errno != ENOTDIR && errno != ENOENT) st.Fail();
      continue;
    }
    EmptyDir(sub, depth + 1, st);
    if (::unlinkat(dfd, e->d_name, AT_REMOVEDIR) == 0) st.progress = true;
  }
  ::closedir(d);
}

}  // namespace

void UniqueFd::Reset() {
  if (fd_ < 0) return;
  int saved = errno;
  ::close(fd_);
  errno = saved;
  fd_ = -1;
}

bool Openat2Available() {
  static const bool available = [] {
    long fd = Openat2(AT_FDCWD, ".", O_PATH | O_CLOEXEC, 0);
    if (fd < 0) return false;  // ENOSYS (old kernel), EPERM (seccomp), E2BIG...
    ::close(static_cast<int>(fd));
    return true;
  }();
  return available;
}

std::vector<std::string_view> PathComponents(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    std::size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view part = path.substr(pos, slash - pos);
    pos = slash + 1;
    if (!part.empty() && part != ".") parts.push_back(part);
  }
  return parts;
}

bool IsSafeComponent(std::string_view name) {
  return !name.empty() && name.size() <= NAME_MAX && name != "." && name != ".." &&
         name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

int OpenBeneath(int root, std::string_view rel, int flags, mode_t mode, Resolver resolver) {
  std::vector<std::string> parts;
  if (!SplitRel(rel, &parts)) return -1;
  return OpenBeneath(root, parts, flags, mode, resolver);
}

int OpenBeneath(int root, const std::vector<std::string>& parts, int flags, mode_t mode,
                Resolver resolver) {
  for (const std::string& part : parts) {
    if (!IsSafeComponent(part)) {
      errno = part == ".." ? EXDEV : part.size() > NAME_MAX ? ENAMETOOLONG : EINVAL;
      return -1;
    }
  }
  flags |= O_NOFOLLOW | O_CLOEXEC;
  if (resolver == Resolver::kAuto)
    resolver = Openat2Available() ? Resolver::kOpenat2 : Resolver::kWalk;
  return resolver == Resolver::kOpenat2 ? OpenOpenat2(root, parts, flags, mode)
                                        : OpenWalk(root, parts, flags, mode);
}

int MakeDirsBeneath(int root, std::string_view rel, mode_t mode) {
  std::vector<std::string> parts;
  if (!SplitRel(rel, &parts)) return -1;
  constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  UniqueFd cur(::openat(root, ".", kDirFlags));
  if (!cur.valid()) return -1;
  for (const std::string& part : parts) {
    const char* name = part.c_str();
    UniqueFd next(::openat(cur.get(), name, kDirFlags));
    if (!next.valid() && errno == ENOENT) {
      if (::mkdirat(cur.get(), name, mode) != 0 && errno != EEXIST) return -1;
      next = UniqueFd(::openat(cur.get(), name, kDirFlags));
    }
    if (!next.valid()) {
      errno = DirOpenErrno(cur.get(), name, errno);
      return -1;
    }
    cur = std::move(next);
  }
  return cur.Release();
}

int RemoveTreeAt(int dir, const char* name) {
  if (::unlinkat(dir, name, 0) == 0 || errno == ENOENT) return 0;
  if (!IsDirErrno(errno)) return -1;
  UniqueFd top(::openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!top.valid()) {
    if (errno == ENOENT) return 0;
    if (errno != ENOTDIR) return -1;
    // Replaced by a link or a file since the unlink: that one goes.
    return ::unlinkat(dir, name, 0) == 0 || errno == ENOENT ? 0 : -1;
  }
  for (int pass = 0; pass < kMaxRemovePasses; ++pass) {
    RemoveState st{top.get()};
    int fd = ::fcntl(top.get(), F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return -1;
    EmptyDir(fd, 0, st);
    if (::unlinkat(dir, name, AT_REMOVEDIR) == 0 || errno == ENOENT) return 0;
    if (errno != ENOTEMPTY && errno != EEXIST) return -1;
    if (!st.progress) {
      errno = st.first_errno != 0 ? st.first_errno : ENOTEMPTY;
      return -1;
    }
  }
  errno = ENOTEMPTY;
  return -1;
}

int RemovePathTree(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  const std::string parent = slash == std::string::npos ? "."
                             : slash == 0               ? "/"
                                                        : path.substr(0, slash);
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (!IsSafeComponent(name)) {
    errno = EINVAL;
    return -1;
  }
  UniqueFd dir(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return errno == ENOENT ? 0 : -1;
  return RemoveTreeAt(dir.get(), name.c_str());
}

int OpenAppendOwnFile(int dir, const char* name, mode_t mode) {
  constexpr int kFlags =
      O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
  for (int attempt = 0; attempt < kReplaceAttempts; ++attempt) {
    // Only a plain file with no other name is ours to append to; it is
    // checked before the open, so that a FIFO or a device is never opened,
    // and after it, against a swap in between.
    struct stat st {};
    bool planted = ::fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                   (!S_ISREG(st.st_mode) || st.st_nlink != 1);
    if (!planted) {
      UniqueFd fd(::openat(dir, name, kFlags, mode));
      if (fd.valid()) {
        if (::fstat(fd.get(), &st) != 0) return -1;
        if (S_ISREG(st.st_mode) && st.st_nlink == 1) {
          if (::fcntl(fd.get(), F_SETFL, O_APPEND) != 0) return -1;  // clears O_NONBLOCK
          return fd.Release();
        }
      } else if (errno != ELOOP && errno != ENXIO && errno != EISDIR) {
        return -1;
      }
    }
    if (RemoveTreeAt(dir, name) != 0) return -1;
  }
  errno = EEXIST;
  return -1;
}

}  // namespace drover
