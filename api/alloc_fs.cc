#include "api/alloc_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>

namespace drover::api {
namespace {

constexpr std::size_t kMaxPathBytes = PATH_MAX;  // 4096: the kernel's own limit
constexpr std::string_view kSharedDir = "alloc";  // every other top-level dir is a task's

// Go's texts for the errnos a lookup meets ("no such file or directory").
std::string ErrnoText(int err) {
  switch (err) {
    case ENOENT: return "no such file or directory";
    case ENOTDIR: return "not a directory";
    case EACCES: return "permission denied";
    case ENAMETOOLONG: return "file name too long";
    default: {
      std::string s = std::strerror(err);
      if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
      return s;
    }
  }
}

Status EscapeError() { return InvalidArgument("Path escapes the alloc directory"); }

Status SymlinkError(std::string_view path) {
  return PermissionDenied("Path \"" + std::string(path) +
                          "\" goes through a symbolic link; links are not followed");
}

// The status for a failed lookup or open of `path`.
Status LookupError(const char* op, std::string_view path, int err) {
  const std::string what = std::string(op) + " " + std::string(path) + ": " + ErrnoText(err);
  switch (err) {
    case ENOENT:
    case ENOTDIR: return NotFound(what);
    case ELOOP: return SymlinkError(path);
    case EXDEV: return EscapeError();
    case EACCES:
    case EPERM: return PermissionDenied(what);
    case ENAMETOOLONG: return InvalidArgument(what);
    default: return Internal(what);
  }
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Step 2: <task>/secrets and <task>/private. Compared without case, as
// Nomad does, so that a case-insensitive filesystem cannot be used around it.
Status CheckPrivate(const std::vector<std::string>& parts, std::string_view path) {
  if (parts.size() < 2 || parts[0] == kSharedDir) return Status::Ok();
  if (EqualsNoCase(parts[1], "secrets"))
    return PermissionDenied("Reading secret file prohibited: " + std::string(path));
  if (EqualsNoCase(parts[1], "private"))
    return PermissionDenied("Reading private file prohibited: " + std::string(path));
  return Status::Ok();
}

// Step 3: the kernel resolves beneath the root and refuses every symlink.
Result<UniqueFd> OpenIn(int root, const std::vector<std::string>& parts, std::string_view path,
                        int flags, Resolver resolver) {
  UniqueFd fd(OpenBeneath(root, parts, flags, 0, resolver));
  if (fd.valid()) return fd;
  if (errno == EAGAIN) return Unavailable("resolve " + std::string(path) + ": try again");
  return LookupError((flags & O_PATH) != 0 ? "stat" : "open", path, errno);
}

AllocFileInfo InfoOf(std::string name, const struct stat& st) {
  AllocFileInfo info;
  info.name = std::move(name);
  info.is_dir = S_ISDIR(st.st_mode);
  info.size = static_cast<std::int64_t>(st.st_size);
  info.file_mode = GoFileMode(st.st_mode);
  info.mod_time = GoTime::FromUnixNanos(static_cast<Nanos>(st.st_mtim.tv_sec) * kSecond +
                                        st.st_mtim.tv_nsec);
  return info;
}

}  // namespace

std::string GoFileMode(mode_t mode) {
  // Go prints one letter per type bit, in this order, then the permissions.
  std::string out;
  if (S_ISDIR(mode)) out += 'd';
  if (S_ISLNK(mode)) out += 'L';
  if (S_ISBLK(mode) || S_ISCHR(mode)) out += 'D';
  if (S_ISFIFO(mode)) out += 'p';
  if (S_ISSOCK(mode)) out += 'S';
  if (mode & S_ISUID) out += 'u';
  if (mode & S_ISGID) out += 'g';
  if (S_ISCHR(mode)) out += 'c';
  if (mode & S_ISVTX) out += 't';
  if (out.empty()) out += '-';
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) out += (mode & (1u << (8 - i))) ? rwx[i] : '-';
  return out;
}

Result<std::vector<std::string>> SplitRequestPath(std::string_view path) {
  if (path.find('\0') != std::string_view::npos)
    return InvalidArgument("Path contains a NUL byte");
  if (path.size() >= kMaxPathBytes) return InvalidArgument("Path is too long");
  std::vector<std::string> parts;
  for (std::string_view part : PathComponents(path)) {
    if (part == "..") {
      // Above the root is an escape, as Nomad's PathEscapesAllocDir says;
      // "a/../b" stays inside and is just "b".
      if (parts.empty()) return EscapeError();
      parts.pop_back();
      continue;
    }
    parts.emplace_back(part);
  }
  return parts;
}

Result<AllocFs> AllocFs::Open(const std::string& alloc_dir, Resolver resolver) {
  if (resolver == Resolver::kAuto) resolver = Openat2Available() ? Resolver::kOpenat2 : Resolver::kWalk;
  if (resolver == Resolver::kOpenat2 && !Openat2Available())
    return Unavailable("openat2 is not available on this kernel");
  // The path is the agent's own; only its last component is refused as a
  // link, in case something replaced the allocation directory itself.
  UniqueFd root(::open(alloc_dir.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root.valid()) {
    if (errno == ENOENT) return NotFound("allocation directory not found");
    return Internal("open allocation directory: " + ErrnoText(errno));
  }
  const auto slash = alloc_dir.find_last_of('/');
  return AllocFs(std::move(root), slash == std::string::npos ? alloc_dir : alloc_dir.substr(slash + 1),
                 resolver);
}

Result<UniqueFd> AllocFs::Resolve(std::string_view path, std::vector<std::string>* parts) const {
  ASSIGN_OR_RETURN(*parts, SplitRequestPath(path));
  RETURN_IF_ERROR(CheckPrivate(*parts, path));
  return OpenIn(root_.get(), *parts, path, O_PATH, resolver_);
}

Result<struct stat> AllocFs::Lstat(std::string_view path) const {
  std::vector<std::string> parts;
  ASSIGN_OR_RETURN(UniqueFd fd, Resolve(path, &parts));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return LookupError("stat", path, errno);
  return st;
}

Result<AllocFileInfo> AllocFs::Stat(std::string_view path) const {
  std::vector<std::string> parts;
  ASSIGN_OR_RETURN(UniqueFd fd, Resolve(path, &parts));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return LookupError("stat", path, errno);
  return InfoOf(parts.empty() ? root_name_ : parts.back(), st);
}

Result<std::vector<AllocFileInfo>> AllocFs::List(std::string_view path) const {
  std::vector<std::string> parts;
  ASSIGN_OR_RETURN(UniqueFd at, Resolve(path, &parts));
  // Reopening "." beneath the resolved fd reads the very directory that was
  // resolved, whatever has been renamed since.
  UniqueFd dir(::openat(at.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return LookupError("open", path, errno);
  DIR* d = ::fdopendir(dir.get());
  if (d == nullptr) return LookupError("open", path, errno);
  dir.Release();  // closedir() closes it
  const int dfd = ::dirfd(d);
  std::vector<AllocFileInfo> out;
  while (dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    if (::fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // removed meanwhile
    out.push_back(InfoOf(std::string(name), st));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(),
            [](const AllocFileInfo& a, const AllocFileInfo& b) { return a.name < b.name; });
  return out;
}

Result<OpenedFile> AllocFs::OpenFile(std::string_view path) const {
  std::vector<std::string> parts;
  ASSIGN_OR_RETURN(UniqueFd at, Resolve(path, &parts));
  struct stat first {};
  if (::fstat(at.get(), &first) != 0) return LookupError("stat", path, errno);
  if (S_ISDIR(first.st_mode))
    return InvalidArgument("file \"" + std::string(path) + "\" is a directory");
  // Only the O_PATH fd has been opened so far: a FIFO or a device is
  // refused before anything opens it for reading.
  if (!S_ISREG(first.st_mode))
    return InvalidArgument("file \"" + std::string(path) + "\" is not a regular file");
  // An O_PATH fd cannot be read and a file cannot be reopened beneath
  // itself, so it is resolved again (safely) and must be the same inode.
  OpenedFile f;
  ASSIGN_OR_RETURN(f.fd,
                   OpenIn(root_.get(), parts, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, resolver_));
  if (::fstat(f.fd.get(), &f.st) != 0) return LookupError("stat", path, errno);
  if (f.st.st_dev != first.st_dev || f.st.st_ino != first.st_ino || !S_ISREG(f.st.st_mode))
    return PermissionDenied("file \"" + std::string(path) + "\" was replaced while it was opened");
  return f;
}

std::vector<LogFile> LogFilesOf(const std::vector<AllocFileInfo>& entries, std::string_view task,
                                std::string_view type) {
  const std::string prefix = std::string(task) + "." + std::string(type) + ".";
  std::vector<LogFile> out;
  for (const AllocFileInfo& e : entries) {
    if (e.file_mode.empty() || e.file_mode[0] != '-') continue;  // regular files only
    if (e.name.size() <= prefix.size() || e.name.compare(0, prefix.size(), prefix) != 0) continue;
    const char* first = e.name.data() + prefix.size();
    const char* last = e.name.data() + e.name.size();
    std::int64_t index = 0;
    auto [p, ec] = std::from_chars(first, last, index);
    if (ec != std::errc() || p != last || index < 0) continue;
    out.push_back(LogFile{index, e.name, e.size});
  }
  std::sort(out.begin(), out.end(),
            [](const LogFile& a, const LogFile& b) { return a.index < b.index; });
  return out;
}

LogPosition FindLogStart(const std::vector<LogFile>& files, std::int64_t offset, bool origin_end) {
  LogPosition pos;
  if (files.empty()) return pos;
  if (origin_end) {
    // Back from the end of the last file, into earlier files as needed.
    pos.file = files.size() - 1;
    std::int64_t back = offset < 0 ? 0 : offset;
    while (true) {
      const std::int64_t size = files[pos.file].size;
      if (back <= size) {
        pos.offset = size - back;
        return pos;
      }
      if (pos.file == 0) {
        pos.offset = 0;
        return pos;
      }
      back -= size;
      --pos.file;
    }
  }
  std::int64_t ahead = offset < 0 ? 0 : offset;
  while (true) {
    const std::int64_t size = files[pos.file].size;
    if (ahead <= size) {
      pos.offset = ahead;
      return pos;
    }
    if (pos.file + 1 == files.size()) {
      pos.offset = size;
      return pos;
    }
    ahead -= size;
    ++pos.file;
  }
}

}  // namespace drover::api
