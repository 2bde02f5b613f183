// The client side of RFC 6455 for end-to-end tests: the opening handshake,
// masked frames out, frames in. Every read is bounded by the timeout given
// at connect time.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "tests/support/raw_http.h"

namespace drover::testing {

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
      std::uint16_t port, const std::string& target,
      const std::vector<std::pair<std::string, std::string>>& headers = {},
      std::chrono::milliseconds timeout = std::chrono::seconds(30));

  int status() const { return status_; }
  const std::string& head() const { return head_; }
  const std::string& body() const { return body_; }

  Status SendFrame(std::uint8_t opcode, std::string_view payload, bool fin = true);
  Status SendText(std::string_view payload) { return SendFrame(kText, payload); }
  Status SendClose(int code);
  // The next frame; a timeout or the end of the connection is an error.
  Result<Frame> Next();
  // Drops the connection without a closing handshake.
  void Abort();
  // True once the server closed the connection (within the timeout).
  bool WaitClosed();

 private:
  WsClient(RawConnection conn, std::chrono::milliseconds timeout)
      : conn_(std::move(conn)), timeout_(timeout) {}
  Status Fill(bool* timed_out = nullptr);

  RawConnection conn_;
  std::chrono::milliseconds timeout_;
  std::string buffer_;
  int status_ = 0;
  std::string head_;
  std::string body_;
};

}  // namespace drover::testing
