// The client side of RFC 6455: the opening handshake, masked frames out,
// frames in. Used by `drover alloc exec` and the exec tests. Every blocking
// read is bounded by the timeout given at connect time; an event loop can
// instead poll fd() and call ReadAvailable() / NextBuffered().
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace drover::client {

class WsClient {
 public:
  enum Opcode : std::uint8_t { kText = 0x1, kBinary = 0x2, kClose = 0x8, kPing = 0x9, kPong = 0xA };
  struct Frame {
    std::uint8_t opcode = 0;
    bool fin = true;
    std::string payload;
    // A close frame's code (0 if it carries none) and reason.
    int close_code() const;
    std::string close_reason() const;
  };

  // Connects and sends the upgrade request for `target` ("/v1/...?..."),
  // with `headers` besides the WebSocket ones (Host is set). An answer that
  // is not 101 is not an error: see status() and body().
  static Result<WsClient> Connect(
      const std::string& host, std::uint16_t port, const std::string& target,
      const std::vector<std::pair<std::string, std::string>>& headers = {},
      std::chrono::milliseconds timeout = std::chrono::seconds(30));
  static Result<WsClient> Connect(
      std::uint16_t port, const std::string& target,
      const std::vector<std::pair<std::string, std::string>>& headers = {},
      std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    return Connect("127.0.0.1", port, target, headers, timeout);
  }

  ~WsClient();
  WsClient(WsClient&& other) noexcept;
  WsClient& operator=(WsClient&& other) noexcept;
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  int status() const { return status_; }
  const std::string& head() const { return head_; }
  const std::string& body() const { return body_; }
  int fd() const { return fd_; }

  Status SendFrame(std::uint8_t opcode, std::string_view payload, bool fin = true);
  Status SendText(std::string_view payload) { return SendFrame(kText, payload); }
  Status SendClose(int code);
  // The next frame; a timeout or the end of the connection is an error.
  Result<Frame> Next();
  // One read of what the socket holds (waits up to the timeout for it).
  Status ReadAvailable() { return Fill(); }
  // A whole frame already read, if any; never reads the socket.
  std::optional<Frame> NextBuffered();
  // Drops the connection without a closing handshake.
  void Abort();
  // True once the server closed the connection (within the timeout).
  bool WaitClosed();

 private:
  WsClient(int fd, std::chrono::milliseconds timeout) : fd_(fd), timeout_(timeout) {}
  Status Fill(bool* timed_out = nullptr);
  Status SendAll(std::string_view data);

  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::string buffer_;
  int status_ = 0;
  std::string head_;
  std::string body_;
};

}  // namespace drover::client
