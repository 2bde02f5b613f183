// Nomad's fs/logs stream frames: back-to-back JSON objects
//   {"Offset": N, "Data": "<base64>", "File": "...", "FileEvent": "..."}
// with "{}" as a heartbeat, cut anywhere by the transport. The decoder takes
// the bytes as they come and hands out whole frames.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace drover::client {

struct StreamFrame {
  std::int64_t offset = 0;
  std::string data;  // decoded
  std::string file;
  std::string file_event;  // "file deleted", "file truncated", or empty
  bool heartbeat = false;  // "{}"
};

class FrameDecoder {
 public:
  FrameDecoder();
  ~FrameDecoder();
  FrameDecoder(FrameDecoder&&) noexcept;
  FrameDecoder& operator=(FrameDecoder&&) noexcept;

  // Appends the frames `bytes` completes to `out`. An error (not JSON, not
  // an object, bad base64) leaves the decoder unusable.
  Status Feed(std::string_view bytes, std::vector<StreamFrame>& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace drover::client
