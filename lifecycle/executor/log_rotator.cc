#include "lifecycle/executor/log_rotator.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/safe_fs.h"

namespace drover {
namespace {

// Higher indexes (a task can plant any name) are ignored, so that rotating
// on from the highest one never overflows an int.
constexpr long kMaxLogIndex = 1'000'000'000;

}  // namespace

int HighestLogIndex(int dir_fd, const std::string& name) {
  const std::string prefix = name + ".";
  int fd = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return -1;
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
    return -1;
  }
  ::rewinddir(d);  // the duplicate shares its offset with dir_fd
  int highest = -1;
  while (dirent* e = ::readdir(d)) {
    const char* entry = e->d_name;
    if (std::strncmp(entry, prefix.c_str(), prefix.size()) != 0) continue;
    const char* digits = entry + prefix.size();
    if (*digits < '0' || *digits > '9') continue;
    char* end = nullptr;
    errno = 0;
    long n = std::strtol(digits, &end, 10);
    if (*end != '\0' || errno != 0 || n < 0 || n > kMaxLogIndex) continue;
    if (n > highest) highest = static_cast<int>(n);
  }
  ::closedir(d);
  return highest;
}

LogRotator::LogRotator(int dir_fd, std::string name, int max_files, std::uint64_t max_bytes)
    : dir_fd_(dir_fd),
      name_(std::move(name)),
      max_files_(max_files < 1 ? 1 : max_files),
      max_bytes_(max_bytes < 1 ? 1 : max_bytes) {}

LogRotator::~LogRotator() {
  if (fd_ >= 0) ::close(fd_);
}

std::string LogRotator::NameOf(int index) const { return name_ + "." + std::to_string(index); }

bool LogRotator::Open() {
  int highest = HighestLogIndex(dir_fd_, name_);
  return OpenIndex(highest < 0 ? 0 : highest);
}

bool LogRotator::OpenIndex(int index) {
  int fd = OpenAppendOwnFile(dir_fd_, NameOf(index).c_str(), 0644);
  if (fd < 0) return false;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int saved = errno;
    ::close(fd);
    errno = saved;
    return false;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  index_ = index;
  size_ = static_cast<std::uint64_t>(st.st_size);
  Purge();
  return true;
}

void LogRotator::Purge() {
  for (int i = index_ - max_files_; i >= 0; --i) {
    // By name in the directory: a planted link goes, never what it names.
    // Once one is missing, the older ones are gone too.
    if (::unlinkat(dir_fd_, NameOf(i).c_str(), 0) != 0 && errno == ENOENT) break;
  }
}

bool LogRotator::Write(const char* data, std::size_t n) {
  while (n > 0) {
    if (size_ >= max_bytes_ && !OpenIndex(index_ + 1)) return false;
    std::size_t room = static_cast<std::size_t>(max_bytes_ - size_);
    std::size_t chunk = n < room ? n : room;
    ssize_t w = ::write(fd_, data, chunk);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += w;
    n -= static_cast<std::size_t>(w);
    size_ += static_cast<std::uint64_t>(w);
  }
  return true;
}

}  // namespace drover
