// A raw TCP connection to a test server, for requests the HttpClient would
// never produce: malformed heads, lying Content-Lengths, TLS bytes,
// pipelines, connections that send nothing.
//
// Every call is bounded by the timeout given at connect time; a timeout or
// a closed connection comes back as a non-OK Status.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace drover::testing {

struct RawResponse {
  int status = 0;
  std::string head;  // status line and header fields
  std::string body;  // Content-Length framed, or up to the close
};

class RawConnection {
 public:
  static Result<RawConnection> Connect(std::uint16_t port,
                                       std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~RawConnection();
  RawConnection(RawConnection&& other) noexcept;
  RawConnection& operator=(RawConnection&& other) noexcept;
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // Sends all of `data`.
  Status Send(std::string_view data);
  // Sends `data` until all is sent, the server answers (input is ready to
  // read) or closes. Returns how many bytes were sent.
  Result<std::size_t> SendUntilAnswered(std::string_view data);
  // Reads one response; 1xx interim responses are skipped unless
  // `interim` is set.
  Result<RawResponse> ReadResponse(bool interim = false);
  // True when the server closed the connection (EOF or reset) within the
  // timeout, after any response bytes still unread are drained.
  bool WaitClosed();

  int fd() const { return fd_; }

 private:
  RawConnection(int fd, std::chrono::milliseconds timeout) : fd_(fd), timeout_(timeout) {}
  Status Fill();  // reads more into buffer_

  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::string buffer_;
};

}  // namespace drover::testing
