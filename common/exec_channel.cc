#include "common/exec_channel.h"

namespace drover {

namespace {

bool KnownType(char t) {
  switch (static_cast<ExecFrameType>(t)) {
    case ExecFrameType::kStdin:
    case ExecFrameType::kStdinClose:
    case ExecFrameType::kResize:
    case ExecFrameType::kStarted:
    case ExecFrameType::kStdout:
    case ExecFrameType::kStderr:
    case ExecFrameType::kStdoutClose:
    case ExecFrameType::kStderrClose:
    case ExecFrameType::kExited:
    case ExecFrameType::kFailed:
      return true;
  }
  return false;
}

// Whether a payload of `n` bytes suits the type.
bool SizeFits(ExecFrameType t, std::size_t n) {
  switch (t) {
    case ExecFrameType::kStdinClose:
    case ExecFrameType::kStarted:
    case ExecFrameType::kStdoutClose:
    case ExecFrameType::kStderrClose:
      return n == 0;
    case ExecFrameType::kResize:
      return n == 4;
    case ExecFrameType::kExited:
      return n > 0 && n <= 11;
    default:
      return true;
  }
}

}  // namespace

void AppendExecFrame(std::string& out, ExecFrameType type, std::string_view payload) {
  const auto n = static_cast<std::uint32_t>(payload.size());
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(n >> 24));
  out.push_back(static_cast<char>(n >> 16));
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
  out.append(payload);
}

void AppendResizeFrame(std::string& out, std::uint16_t height, std::uint16_t width) {
  const char size[4] = {static_cast<char>(height >> 8), static_cast<char>(height),
                        static_cast<char>(width >> 8), static_cast<char>(width)};
  AppendExecFrame(out, ExecFrameType::kResize, std::string_view(size, 4));
}

std::optional<std::pair<std::uint16_t, std::uint16_t>> DecodeResize(std::string_view p) {
  if (p.size() != 4) return std::nullopt;
  auto u = [&](std::size_t i) { return static_cast<std::uint8_t>(p[i]); };
  return std::pair<std::uint16_t, std::uint16_t>(static_cast<std::uint16_t>(u(0) << 8 | u(1)),
                                                 static_cast<std::uint16_t>(u(2) << 8 | u(3)));
}

std::optional<ExecFrame> ExecFrameReader::Next() {
  if (!error_.empty() || buffer_.size() - offset_ < kExecFrameHeader) return std::nullopt;
  const char* p = buffer_.data() + offset_;
  if (!KnownType(p[0])) {
    error_ = "unknown frame type";
    return std::nullopt;
  }
  std::size_t n = 0;
  for (int i = 1; i <= 4; ++i) n = n << 8 | static_cast<std::uint8_t>(p[i]);
  const auto type = static_cast<ExecFrameType>(p[0]);
  if (n > kMaxExecPayload || !SizeFits(type, n)) {
    error_ = "bad frame length";
    return std::nullopt;
  }
  if (buffer_.size() - offset_ < kExecFrameHeader + n) return std::nullopt;
  ExecFrame frame{type, std::string(p + kExecFrameHeader, n)};
  offset_ += kExecFrameHeader + n;
  // Drop what was read once it is most of the buffer.
  if (offset_ == buffer_.size()) {
    buffer_.clear();
    offset_ = 0;
  } else if (offset_ > (64 << 10) && offset_ * 2 > buffer_.size()) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  return frame;
}

}  // namespace drover
