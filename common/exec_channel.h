// The channel between the agent and an exec helper (`drover-executor exec`,
// lifecycle/executor/exec_helper.cc), which runs one `alloc exec` command
// inside a task: a unix stream socket carrying frames both ways.
//
//   frame   := type length payload
//   type    := one byte (below)
//   length  := 4 bytes, big-endian, at most kMaxExecPayload
//
//   agent -> helper   'i' stdin bytes
//                     'c' stdin is closed (empty payload)
//                     'w' terminal size: height, width (2 bytes each, big-endian)
//   helper -> agent   's' the command started (empty)
//                     'o' / 'e' stdout / stderr bytes
//                     'O' / 'E' stdout / stderr closed (empty)
//                     'x' the command exited: its exit code in decimal
//                     'f' it could not start: "<HTTP code> <text>", Nomad's
//                         code and text for the error frame
//
// A reader refuses an unknown type, a payload over the limit or a payload
// a type does not allow. Libc and the standard library only: the executor
// links it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace drover {

inline constexpr std::size_t kMaxExecPayload = 64 << 10;
inline constexpr std::size_t kExecFrameHeader = 5;

enum class ExecFrameType : char {
  kStdin = 'i',
  kStdinClose = 'c',
  kResize = 'w',
  kStarted = 's',
  kStdout = 'o',
  kStderr = 'e',
  kStdoutClose = 'O',
  kStderrClose = 'E',
  kExited = 'x',
  kFailed = 'f',
};

struct ExecFrame {
  ExecFrameType type;
  std::string payload;
};

// Appends one frame to `out`. `payload` must fit kMaxExecPayload.
void AppendExecFrame(std::string& out, ExecFrameType type, std::string_view payload = {});
void AppendResizeFrame(std::string& out, std::uint16_t height, std::uint16_t width);
// The height and width of a kResize payload; nullopt if it is not 4 bytes.
std::optional<std::pair<std::uint16_t, std::uint16_t>> DecodeResize(std::string_view payload);

// Splits a byte stream into frames.
class ExecFrameReader {
 public:
  void Append(const char* data, std::size_t n) { buffer_.append(data, n); }
  // The next whole frame, or nullopt when more bytes are needed or the
  // stream is broken (then `error` is set and stays set).
  std::optional<ExecFrame> Next();
  const std::string& error() const { return error_; }
  // Bytes received and not yet returned as frames.
  std::size_t buffered() const { return buffer_.size() - offset_; }

 private:
  std::string buffer_;
  std::size_t offset_ = 0;
  std::string error_;
};

}  // namespace drover
