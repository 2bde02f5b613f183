#include "tests/support/raw_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace drover::testing {

namespace {

std::string Errno(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

int PollMs(std::chrono::milliseconds t) { return static_cast<int>(t.count()); }

std::string LowerCopy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
  return out;
}

}  // namespace

Result<RawConnection> RawConnection::Connect(std::uint16_t port, std::chrono::milliseconds timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Unavailable(Errno("socket"));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{};
  tv.tv_sec = timeout.count() / 1000;
  tv.tv_usec = (timeout.count() % 1000) * 1000;
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    Status st = Unavailable(Errno("connect"));
    ::close(fd);
    return st;
  }
  return RawConnection(fd, timeout);
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

RawConnection::RawConnection(RawConnection&& other) noexcept
    : fd_(other.fd_), timeout_(other.timeout_), buffer_(std::move(other.buffer_)) {
  other.fd_ = -1;
}

RawConnection& RawConnection::operator=(RawConnection&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    timeout_ = other.timeout_;
    buffer_ = std::move(other.buffer_);
    other.fd_ = -1;
  }
  return *this;
}

Status RawConnection::Send(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Unavailable(Errno("send"));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return Status::Ok();
}

Result<std::size_t> RawConnection::SendUntilAnswered(std::string_view data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    pollfd p{fd_, POLLIN | POLLOUT, 0};
    int r = ::poll(&p, 1, PollMs(timeout_));
    if (r == 0) return Unavailable("send: timed out after " + std::to_string(sent) + " bytes");
    if (r < 0) {
      if (errno == EINTR) continue;
      return Unavailable(Errno("poll"));
    }
    if (p.revents & (POLLIN | POLLERR | POLLHUP)) break;
    const std::size_t chunk = std::min<std::size_t>(data.size() - sent, 64 << 10);
    ssize_t n = ::send(fd_, data.data() + sent, chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      break;  // reset or closed: the answer may be waiting to be read
    }
    sent += static_cast<std::size_t>(n);
  }
  return sent;
}

Status RawConnection::Fill() {
  pollfd p{fd_, POLLIN, 0};
  int r = ::poll(&p, 1, PollMs(timeout_));
  if (r == 0) return Unavailable("read: timed out");
  if (r < 0) return Unavailable(Errno("poll"));
  char chunk[16384];
  ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
  if (n < 0) return Unavailable(Errno("recv"));
  if (n == 0) return Unavailable("read: connection closed");
  buffer_.append(chunk, static_cast<std::size_t>(n));
  return Status::Ok();
}

Result<RawResponse> RawConnection::ReadResponse(bool interim) {
  for (;;) {
    std::size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      Status st = Fill();
      if (!st.ok()) {
        return Status(st.code(), st.message() + " (before a response head; have " +
                                     std::to_string(buffer_.size()) + " bytes)");
      }
    }
    RawResponse resp;
    resp.head = buffer_.substr(0, end + 2);
    buffer_.erase(0, end + 4);
    if (resp.head.size() < 12 || resp.head.compare(0, 7, "HTTP/1.") != 0)
      return Internal("malformed status line: " + resp.head.substr(0, 80));
    resp.status = std::atoi(resp.head.c_str() + 9);
    if (resp.status >= 100 && resp.status < 200) {
      if (interim) return resp;
      continue;
    }

    const std::string lower = LowerCopy(resp.head);
    const std::size_t cl = lower.find("\r\ncontent-length:");
    if (cl == std::string::npos) {
      // Up to the close.
      while (Fill().ok()) {
      }
      resp.body.swap(buffer_);
      return resp;
    }
    const std::size_t length = std::strtoul(lower.c_str() + cl + 17, nullptr, 10);
    while (buffer_.size() < length) RETURN_IF_ERROR(Fill());
    resp.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return resp;
  }
}

bool RawConnection::WaitClosed() {
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, PollMs(timeout_)) <= 0) return false;
    char chunk[16384];
    ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) return true;
  }
}

}  // namespace drover::testing
