#include "lifecycle/executor/log_rotator.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace drover {

int HighestLogIndex(const std::string& base) {
  auto slash = base.rfind('/');
  std::string dir = slash == std::string::npos ? "." : base.substr(0, slash);
  std::string prefix = (slash == std::string::npos ? base : base.substr(slash + 1)) + ".";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return -1;
  int highest = -1;
  while (dirent* e = ::readdir(d)) {
    const char* name = e->d_name;
    if (std::strncmp(name, prefix.c_str(), prefix.size()) != 0) continue;
    const char* digits = name + prefix.size();
    if (*digits == '\0') continue;
    char* end = nullptr;
    long n = std::strtol(digits, &end, 10);
    if (*end != '\0' || n < 0) continue;
    if (n > highest) highest = static_cast<int>(n);
  }
  ::closedir(d);
  return highest;
}

LogRotator::LogRotator(std::string base, int max_files, std::uint64_t max_bytes)
    : base_(std::move(base)),
      max_files_(max_files < 1 ? 1 : max_files),
      max_bytes_(max_bytes < 1 ? 1 : max_bytes) {}

LogRotator::~LogRotator() {
  if (fd_ >= 0) ::close(fd_);
}

std::string LogRotator::PathOf(int index) const { return base_ + "." + std::to_string(index); }

bool LogRotator::Open() {
  int highest = HighestLogIndex(base_);
  return OpenIndex(highest < 0 ? 0 : highest);
}

bool LogRotator::OpenIndex(int index) {
  int fd = ::open(PathOf(index).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
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
    if (::unlink(PathOf(i).c_str()) != 0 && errno == ENOENT) break;  // older ones are gone too
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
