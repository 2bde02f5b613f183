#include "cli/input.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>

namespace drover::cli {

Result<std::string> ReadInput(const std::string& path, std::size_t max_bytes) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) return InvalidArgument("open " + path + ": " + std::strerror(errno));
    in = &file;
  }
  std::string out;
  char buf[64 * 1024];
  while (in->read(buf, sizeof buf) || in->gcount() > 0) {
    out.append(buf, static_cast<std::size_t>(in->gcount()));
    if (out.size() > max_bytes) {
      return InvalidArgument((path == "-" ? std::string("stdin") : path) + ": larger than " +
                             std::to_string(max_bytes) + " bytes");
    }
  }
  if (in->bad()) return InvalidArgument("read " + path + ": " + std::strerror(errno));
  return out;
}

}  // namespace drover::cli
