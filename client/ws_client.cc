#include "client/ws_client.h"

#include "client/http_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "common/text.h"

namespace drover::client {

int WsClient::Frame::close_code() const {
  if (payload.size() < 2) return 0;
  return static_cast<std::uint8_t>(payload[0]) << 8 | static_cast<std::uint8_t>(payload[1]);
}

std::string WsClient::Frame::close_reason() const {
  return payload.size() > 2 ? payload.substr(2) : "";
}

WsClient::~WsClient() {
  if (fd_ >= 0) ::close(fd_);
}

WsClient::WsClient(WsClient&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      timeout_(other.timeout_),
      buffer_(std::move(other.buffer_)),
      status_(other.status_),
      head_(std::move(other.head_)),
      body_(std::move(other.body_)) {}

WsClient& WsClient::operator=(WsClient&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    timeout_ = other.timeout_;
    buffer_ = std::move(other.buffer_);
    status_ = other.status_;
    head_ = std::move(other.head_);
    body_ = std::move(other.body_);
  }
  return *this;
}

Status WsClient::SendAll(std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, static_cast<int>(timeout_.count())) <= 0)
        return Unavailable("websocket: send timed out");
      continue;
    }
    return Unavailable(std::string("websocket: send: ") + std::strerror(errno));
  }
  return Status::Ok();
}

Result<WsClient> WsClient::Connect(const std::string& host, std::uint16_t port,
                                   const std::string& target,
                                   const std::vector<std::pair<std::string, std::string>>& headers,
                                   std::chrono::milliseconds timeout) {
  ASSIGN_OR_RETURN(int fd, ConnectTcp(host, port, timeout));
  WsClient client(fd, timeout);
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: " + HostPort(host, port) +
                    "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
  for (const auto& [name, value] : headers) req += name + ": " + value + "\r\n";
  req += "\r\n";
  RETURN_IF_ERROR(client.SendAll(req));
  std::size_t end;
  while ((end = client.buffer_.find("\r\n\r\n")) == std::string::npos) {
    RETURN_IF_ERROR(client.Fill());
  }
  client.head_ = client.buffer_.substr(0, end);
  client.buffer_.erase(0, end + 4);
  if (client.head_.size() < 12) return Internal("bad status line: " + client.head_);
  client.status_ = std::atoi(client.head_.c_str() + 9);
  if (client.status_ != 101) {
    // The body: Content-Length framed.
    std::string lower = client.head_;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::size_t at = lower.find("content-length:");
    std::size_t length = at == std::string::npos ? 0 : std::strtoul(lower.c_str() + at + 15, nullptr, 10);
    while (client.buffer_.size() < length) RETURN_IF_ERROR(client.Fill());
    client.body_ = client.buffer_.substr(0, length);
  }
  return client;
}

Status WsClient::Fill(bool* timed_out) {
  pollfd p{fd_, POLLIN, 0};
  int ready = ::poll(&p, 1, static_cast<int>(timeout_.count()));
  if (ready == 0) {
    if (timed_out != nullptr) *timed_out = true;
    return Unavailable("websocket: read timed out");
  }
  if (ready < 0) return Unavailable(std::string("poll: ") + std::strerror(errno));
  char buf[64 << 10];
  ssize_t n = ::read(fd_, buf, sizeof(buf));
  if (n == 0) return Unavailable("websocket: connection closed");
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return Status::Ok();
  if (n < 0) return Unavailable(std::string("read: ") + std::strerror(errno));
  buffer_.append(buf, static_cast<std::size_t>(n));
  return Status::Ok();
}

Status WsClient::SendFrame(std::uint8_t opcode, std::string_view payload, bool fin) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  std::string out;
  out.push_back(static_cast<char>((fin ? 0x80 : 0) | opcode));
  const std::uint64_t n = payload.size();
  if (n < 126) {
    out.push_back(static_cast<char>(0x80 | n));
  } else if (n <= 0xFFFF) {
    out.push_back(static_cast<char>(0x80 | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n));
  } else {
    out.push_back(static_cast<char>(0x80 | 127));
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(n >> shift));
  }
  char mask[4];
  for (char& m : mask) m = static_cast<char>(rng());
  out.append(mask, 4);
  for (std::size_t i = 0; i < payload.size(); ++i) out.push_back(payload[i] ^ mask[i % 4]);
  return SendAll(out);
}

Status WsClient::SendClose(int code) {
  const char payload[2] = {static_cast<char>(code >> 8), static_cast<char>(code)};
  return SendFrame(kClose, std::string_view(payload, 2));
}

std::optional<WsClient::Frame> WsClient::NextBuffered() {
  if (buffer_.size() < 2) return std::nullopt;
  const auto b0 = static_cast<std::uint8_t>(buffer_[0]);
  const auto b1 = static_cast<std::uint8_t>(buffer_[1]);
  std::uint64_t len = b1 & 0x7F;
  std::size_t header = 2;
  if (len == 126) {
    if (buffer_.size() < 4) return std::nullopt;
    len = static_cast<std::uint8_t>(buffer_[2]) << 8 | static_cast<std::uint8_t>(buffer_[3]);
    header = 4;
  } else if (len == 127) {
    if (buffer_.size() < 10) return std::nullopt;
    len = 0;
    for (int i = 2; i < 10; ++i) len = len << 8 | static_cast<std::uint8_t>(buffer_[i]);
    header = 10;
  }
  if (b1 & 0x80) header += 4;  // a masked frame (servers must not send one)
  if (buffer_.size() < header || buffer_.size() - header < len) return std::nullopt;
  Frame f;
  f.opcode = b0 & 0x0F;
  f.fin = b0 & 0x80;
  f.payload = buffer_.substr(header, static_cast<std::size_t>(len));
  if (b1 & 0x80) {
    const std::string mask = buffer_.substr(header - 4, 4);
    for (std::size_t i = 0; i < f.payload.size(); ++i) f.payload[i] ^= mask[i % 4];
  }
  buffer_.erase(0, header + static_cast<std::size_t>(len));
  return f;
}

Result<WsClient::Frame> WsClient::Next() {
  for (;;) {
    if (buffer_.size() >= 2 && (static_cast<std::uint8_t>(buffer_[1]) & 0x80))
      return Internal("websocket: server frame is masked");
    if (auto f = NextBuffered()) return std::move(*f);
    RETURN_IF_ERROR(Fill());
  }
}

void WsClient::Abort() { ::shutdown(fd_, SHUT_RDWR); }

bool WsClient::WaitClosed() {
  for (;;) {
    bool timed_out = false;
    Status st = Fill(&timed_out);
    if (timed_out) return false;
    if (!st.ok()) return true;
    buffer_.clear();
  }
}

}  // namespace drover::client
