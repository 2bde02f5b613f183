#include "client/stream_reader.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

namespace drover::client {

using namespace std::chrono_literals;

StreamReader::StreamReader(std::uint16_t port, const std::string& target,
                           const std::string& extra_headers) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return;
  std::string req = "GET " + target +
                    " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n" +
                    extra_headers + "\r\n";
  connected_ = ::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size());
}

StreamReader::~StreamReader() {
  if (fd_ >= 0) ::close(fd_);
}

bool StreamReader::ReadUntil(const std::function<bool(const std::vector<std::string>&)>& done,
                              std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done(lines_)) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left <= 0ms || ended_) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[16384];
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) {
      ended_ = true;
      continue;
    }
    raw_.append(buf, static_cast<std::size_t>(n));
    Parse();
  }
  return true;
}

void StreamReader::Parse() {
  if (status_ == 0) {
    const auto end = raw_.find("\r\n\r\n");
    if (end == std::string::npos) return;
    status_ = std::atoi(raw_.c_str() + raw_.find(' ') + 1);
    raw_.erase(0, end + 4);
  }
  for (;;) {
    const auto eol = raw_.find("\r\n");
    if (eol == std::string::npos) return;
    const std::size_t size = std::strtoul(raw_.substr(0, eol).c_str(), nullptr, 16);
    if (raw_.size() < eol + 2 + size + 2) return;
    if (size == 0) {
      ended_ = true;
      return;
    }
    body_ += raw_.substr(eol + 2, size);
    raw_.erase(0, eol + 2 + size + 2);
    for (auto nl = body_.find('\n'); nl != std::string::npos; nl = body_.find('\n')) {
      lines_.push_back(body_.substr(0, nl));
      body_.erase(0, nl + 1);
    }
  }
}

}  // namespace drover::client
