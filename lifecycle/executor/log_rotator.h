// Rotating log files in Nomad's layout: <dir>/<name>.0, <name>.1, ...
// A new file starts once the current one would pass `max_bytes`; at most
// `max_files` are kept (the oldest removed). Opening continues from the
// highest index already on disk, so a restarted writer appends where the
// previous one stopped.
//
// The directory is the allocation's alloc/logs, which every task of the
// group can write to. So each file is opened, created and removed by name
// beneath a descriptor of that directory, never by path, and only a plain
// file with one link is appended to: a symlink, hard link or FIFO planted
// under the name of the next file is removed and a new file made in its
// place (common/safe_fs.h OpenAppendOwnFile).
//
// Deliberately free of anything but the C and C++ standard libraries: the
// executor links it and stays small.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace drover {

class LogRotator {
 public:
  // `dir_fd` is the logs directory (borrowed: it must outlive the
  // rotator); `name` is "<task>.stdout", files are name + "." + index.
  LogRotator(int dir_fd, std::string name, int max_files, std::uint64_t max_bytes);
  ~LogRotator();
  LogRotator(const LogRotator&) = delete;
  LogRotator& operator=(const LogRotator&) = delete;

  // Opens (or creates) the current file. False with errno set on failure.
  bool Open();
  // Appends, rotating as needed. False with errno set on a write error.
  bool Write(const char* data, std::size_t n);

  int current_index() const { return index_; }
  std::string NameOf(int index) const;

 private:
  bool OpenIndex(int index);
  void Purge();

  int dir_fd_;
  std::string name_;
  int max_files_;
  std::uint64_t max_bytes_;
  int index_ = 0;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

// The highest N for which "<name>.N" is in the directory `dir_fd`, or -1.
int HighestLogIndex(int dir_fd, const std::string& name);

}  // namespace drover
