// The server side of RFC 6455 WebSockets, free of any I/O: the opening
// handshake's checks and accept key, a parser for the frames a client
// sends, and the frames a server sends.
//
//   frame := b0 b1 [ext-len] [mask] payload
//   b0    := FIN(0x80) RSV(0x70, must be 0) opcode(0x0F)
//   b1    := MASK(0x80, must be set by a client) len7
//   len7 126 -> 2-byte length, 127 -> 8-byte length (top bit 0)
//
// The parser refuses (close code 1002) unmasked frames, RSV bits, unknown
// opcodes, fragmented or long (over 125 bytes) control frames, a
// continuation with no message and a data frame inside a message; a message
// over its limit is 1009. It buffers at most one frame header and the
// message in progress.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace drover::api {

inline constexpr int kWsCloseNormal = 1000;
inline constexpr int kWsCloseGoingAway = 1001;
inline constexpr int kWsCloseProtocolError = 1002;
inline constexpr int kWsClosePolicyViolation = 1008;
inline constexpr int kWsCloseTooBig = 1009;
inline constexpr int kWsCloseInternalError = 1011;

// True if a comma-separated header value holds `token` (case-insensitive).
bool HeaderHasToken(std::string_view value, std::string_view token);

// A Sec-WebSocket-Key is the base64 of 16 bytes.
bool ValidWebSocketKey(std::string_view key);
// Sec-WebSocket-Accept for a key: base64(SHA-1(key + RFC 6455's GUID)).
std::string WebSocketAccept(std::string_view key);

// SHA-1 (FIPS 180-4), the 20-byte digest; only the handshake uses it.
std::string Sha1(std::string_view data);

struct WsMessage {
  enum class Kind { kText, kBinary, kPing, kPong, kClose };
  Kind kind;
  std::string payload;  // a close frame's: 2-byte code and reason, or empty
};

class WsFrameParser {
 public:
  explicit WsFrameParser(std::size_t max_message) : max_message_(max_message) {}

  // Consumes `in`, appending each whole message (fragments joined) and
  // control frame to `out`. False on a protocol violation: the connection
  // must be closed with error_code() and error_reason(); later input is
  // ignored.
  bool Feed(std::string_view in, std::vector<WsMessage>& out);

  int error_code() const { return error_code_; }
  const std::string& error_reason() const { return error_reason_; }

 private:
  bool Fail(int code, std::string reason);

  const std::size_t max_message_;
  std::string pending_;  // bytes of the frame in progress
  std::string message_;  // fragments of the message in progress
  bool in_message_ = false;
  WsMessage::Kind message_kind_ = WsMessage::Kind::kText;
  int error_code_ = 0;
  std::string error_reason_;
};

// Server frames (unmasked, FIN set).
std::string WsTextFrame(std::string_view payload);
std::string WsPongFrame(std::string_view payload);
// A close frame; the reason is cut to fit a control frame (123 bytes, at a
// UTF-8 boundary).
std::string WsCloseFrame(int code, std::string_view reason);

}  // namespace drover::api
