// Rotating log files in Nomad's layout: <dir>/<name>.0, <name>.1, ...
// A new file starts once the current one would pass `max_bytes`; at most
// `max_files` are kept (the oldest removed). Opening continues from the
// highest index already on disk, so a restarted writer appends where the
// previous one stopped.
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
  // `base` is "<dir>/<task>.stdout"; files are base + "." + index.
  LogRotator(std::string base, int max_files, std::uint64_t max_bytes);
  ~LogRotator();
  LogRotator(const LogRotator&) = delete;
  LogRotator& operator=(const LogRotator&) = delete;

  // Opens (or creates) the current file. False with errno set on failure.
  bool Open();
  // Appends, rotating as needed. False with errno set on a write error.
  bool Write(const char* data, std::size_t n);

  int current_index() const { return index_; }
  std::string PathOf(int index) const;

 private:
  bool OpenIndex(int index);
  void Purge();

  std::string base_;
  int max_files_;
  std::uint64_t max_bytes_;
  int index_ = 0;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

// The highest N for which "<base>.N" exists, or -1.
int HighestLogIndex(const std::string& base);

}  // namespace drover
