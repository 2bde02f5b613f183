#include "client/http_client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>

namespace drover::client {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxLineBytes = 64 * 1024;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (EqualsIgnoreCase(haystack.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Status Errno(std::string_view what) {
  return Unavailable(std::string(what) + ": " + std::strerror(errno));
}

// Waits until `fd` is ready for `events` or `deadline` passes.
Status Await(int fd, short events, Clock::time_point deadline, std::string_view what) {
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return Unavailable("timed out " + std::string(what));
    pollfd p{fd, events, 0};
    // At most an hour per poll: a stream's deadline is time_point::max().
    const int n = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 3'600'000)));
    if (n > 0) return Status::Ok();
    if (n < 0 && errno != EINTR) return Errno("poll");
  }
}

// One non-blocking connect to `ai`, bounded by `deadline`.
Result<int> ConnectOne(const addrinfo& ai, const std::string& where, Clock::time_point deadline) {
  const int fd = ::socket(ai.ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket for " + where);
  Status st;
  if (::connect(fd, ai.ai_addr, ai.ai_addrlen) != 0) {
    if (errno != EINPROGRESS) {
      st = Errno("connect to " + where);
    } else if (st = Await(fd, POLLOUT, deadline, "connecting"); st.ok()) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      errno = err;
      if (err != 0) st = Errno("connect to " + where);
    }
  }
  if (!st.ok()) {
    ::close(fd);
    return st;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// `host` is an IP literal (IPv6 without brackets) or a name; each of its
// addresses is tried in the resolver's order (localhost may be ::1 first
// while the agent listens on 127.0.0.1 only).
Result<int> Connect(const std::string& host, std::uint16_t port, Clock::time_point deadline) {
  const std::string where = HostPort(host, port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0) {
    return Unavailable("lookup " + host + ": " + ::gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, &::freeaddrinfo);
  Status last = Unavailable("lookup " + host + ": no addresses");
  for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    auto fd = ConnectOne(*ai, where, deadline);
    if (fd.ok()) return fd;
    last = fd.status();
  }
  return last;
}

Status SendAll(int fd, std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      RETURN_IF_ERROR(Await(fd, POLLOUT, deadline, "sending the request"));
    } else {
      return Errno("send");
    }
  }
  return Status::Ok();
}

// True when an idle kept-alive connection was closed (or reset) by the server.
bool PeerClosed(int fd) {
  char byte;
  const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

// Buffered reads of one response, all bounded by one deadline.
class Reader {
 public:
  Reader(int fd, Clock::time_point deadline) : fd_(fd), deadline_(deadline) {}

  Result<std::string> Line() {
    for (;;) {
      if (auto eol = buf_.find("\r\n", pos_); eol != std::string::npos) {
        std::string line = buf_.substr(pos_, eol - pos_);
        pos_ = eol + 2;
        return line;
      }
      if (buf_.size() - pos_ > kMaxLineBytes) return Internal("response line too long");
      RETURN_IF_ERROR(Fill());
    }
  }

  Status Exactly(std::size_t n, std::string& out) {
    while (buf_.size() - pos_ < n) RETURN_IF_ERROR(Fill());
    out.append(buf_, pos_, n);
    pos_ += n;
    return Status::Ok();
  }

  Status UntilEof(std::string& out) {
    for (;;) {
      out.append(buf_, pos_);
      buf_.clear();
      pos_ = 0;
      if (Status st = Fill(); !st.ok()) return eof_ ? Status::Ok() : st;
    }
  }

  // Moves whatever is buffered past the read position into `out`.
  void TakeBuffered(std::string& out) {
    out.append(buf_, pos_);
    buf_.clear();
    pos_ = 0;
  }
  Status FillMore() { return Fill(); }
  void set_deadline(Clock::time_point deadline) { deadline_ = deadline; }

  bool received_any() const { return received_any_; }
  bool drained() const { return pos_ == buf_.size(); }

 private:
  Status Fill() {
    char chunk[16 * 1024];
    for (;;) {
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n > 0) {
        buf_.append(chunk, static_cast<std::size_t>(n));
        received_any_ = true;
        return Status::Ok();
      }
      if (n == 0) {
        eof_ = true;
        return Unavailable("connection closed by the server mid-response");
      }
      if (errno != EAGAIN && errno != EINTR) return Errno("recv");
      RETURN_IF_ERROR(Await(fd_, POLLIN, deadline_, "waiting for the response"));
    }
  }

  int fd_;
  Clock::time_point deadline_;
  std::string buf_;
  std::size_t pos_ = 0;
  bool received_any_ = false;
  bool eof_ = false;
};

Result<std::size_t> ParseSize(std::string_view text, int base) {
  text = Trim(text);
  std::size_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    return Internal("bad length in response: '" + std::string(text) + "'");
  }
  return value;
}

Status ReadChunked(Reader& in, std::string& body) {
  for (;;) {
    ASSIGN_OR_RETURN(std::string line, in.Line());
    ASSIGN_OR_RETURN(std::size_t size, ParseSize(line.substr(0, line.find(';')), 16));
    if (size == 0) break;
    RETURN_IF_ERROR(in.Exactly(size, body));
    ASSIGN_OR_RETURN(std::string end, in.Line());
    if (!end.empty()) return Internal("chunk not followed by CRLF");
  }
  for (;;) {  // trailer fields, up to the empty line
    ASSIGN_OR_RETURN(std::string line, in.Line());
    if (line.empty()) return Status::Ok();
  }
}

Status ReadHead(Reader& in, HttpResponse& response, bool& http10) {
  ASSIGN_OR_RETURN(std::string status_line, in.Line());
  // "HTTP/1.1 200 OK"
  if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12) {
    return Internal("malformed status line: '" + status_line + "'");
  }
  http10 = status_line.compare(0, 8, "HTTP/1.0") == 0;
  ASSIGN_OR_RETURN(std::size_t code, ParseSize(std::string_view(status_line).substr(9, 3), 10));
  response.status = static_cast<int>(code);
  for (;;) {
    ASSIGN_OR_RETURN(std::string line, in.Line());
    if (line.empty()) return Status::Ok();
    const auto colon = line.find(':');
    if (colon == std::string::npos) return Internal("malformed header: '" + line + "'");
    std::string_view view(line);
    response.headers.Add(std::string(Trim(view.substr(0, colon))),
                         std::string(Trim(view.substr(colon + 1))));
  }
}

}  // namespace

void HttpHeaders::Add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

std::optional<std::string_view> HttpHeaders::Get(std::string_view name) const {
  for (const auto& [n, v] : fields_) {
    if (EqualsIgnoreCase(n, name)) return std::string_view(v);
  }
  return std::nullopt;
}

HttpClient::HttpClient(std::string host, std::uint16_t port, std::chrono::milliseconds timeout)
    : host_(std::move(host)), port_(port), timeout_(timeout) {}

HttpClient::~HttpClient() { CloseConnection(); }

HttpClient::HttpClient(HttpClient&& other) noexcept
    : host_(std::move(other.host_)),
      port_(other.port_),
      timeout_(other.timeout_),
      fd_(std::exchange(other.fd_, -1)) {}

HttpClient& HttpClient::operator=(HttpClient&& other) noexcept {
  if (this != &other) {
    CloseConnection();
    host_ = std::move(other.host_);
    port_ = other.port_;
    timeout_ = other.timeout_;
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

void HttpClient::CloseConnection() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::string HttpClient::BuildRequest(std::string_view method, std::string_view path,
                                     std::string_view body, const HttpHeaders& headers) const {
  std::string request;
  request.reserve(256 + body.size());
  request.append(method).append(" ").append(path).append(" HTTP/1.1\r\n");
  if (!headers.Has("Host")) {
    request.append("Host: ").append(HostPort(host_, port_)).append("\r\n");
  }
  request.append("Connection: keep-alive\r\n");
  for (const auto& [name, value] : headers.fields()) {
    request.append(name).append(": ").append(value).append("\r\n");
  }
  if (!body.empty() || method == "PUT" || method == "POST") {
    request.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  request.append("\r\n").append(body);
  return request;
}

Result<HttpResponse> HttpClient::Request(std::string_view method, std::string_view path,
                                         std::string_view body,
                                         const HttpHeaders& headers) {
  const std::string request = BuildRequest(method, path, body, headers);
  const auto deadline = Clock::now() + timeout_;
  const bool head = method == "HEAD";
  if (fd_ >= 0 && PeerClosed(fd_)) CloseConnection();
  const bool reused = fd_ >= 0;

  bool response_started = false;
  auto response = RoundTrip(request, head, deadline, response_started);
  // A kept-alive connection can be closed by the server just as we reuse it;
  // the request then never reached a handler, so sending it again is safe
  // for the methods HTTP calls idempotent.
  const bool idempotent = method != "POST" && method != "PATCH";
  if (!response.ok() && reused && !response_started && idempotent) {
    response = RoundTrip(request, head, deadline, response_started);
  }
  return response;
}

Result<HttpResponse> HttpClient::RoundTrip(const std::string& request, bool head,
                                           Clock::time_point deadline,
                                           bool& response_started) {
  if (fd_ < 0) {
    ASSIGN_OR_RETURN(fd_, Connect(host_, port_, deadline));
  }
  Reader in(fd_, deadline);
  HttpResponse response;
  bool http10 = false;
  bool keep_alive = true;
  Status st = SendAll(fd_, request, deadline);
  if (st.ok()) st = ReadHead(in, response, http10);
  if (st.ok()) {
    const auto connection = response.headers.Get("Connection");
    keep_alive = connection ? !ContainsIgnoreCase(*connection, "close")
                            : !http10;
    const auto encoding = response.headers.Get("Transfer-Encoding");
    const auto length = response.headers.Get("Content-Length");
    const bool no_body = head || response.status / 100 == 1 ||
                         response.status == 204 || response.status == 304;
    if (no_body) {
      // nothing to read
    } else if (encoding && ContainsIgnoreCase(*encoding, "chunked")) {
      st = ReadChunked(in, response.body);
    } else if (length) {
      auto size = ParseSize(*length, 10);
      st = size.ok() ? in.Exactly(*size, response.body) : size.status();
    } else {
      keep_alive = false;
      st = in.UntilEof(response.body);
    }
  }
  response_started = in.received_any();
  if (!st.ok() || !keep_alive || !in.drained()) CloseConnection();
  if (!st.ok()) return st;
  return response;
}

Result<HttpResponse> HttpClient::Stream(std::string_view method, std::string_view path,
                                        const HttpHeaders& headers,
                                        const std::function<bool(std::string_view)>& on_data) {
  // A stream is never reused: it ends by the server's close or ours.
  CloseConnection();
  const std::string request = BuildRequest(method, path, {}, headers);
  const auto deadline = Clock::now() + timeout_;
  ASSIGN_OR_RETURN(fd_, Connect(host_, port_, deadline));
  struct Closer {
    HttpClient* self;
    ~Closer() { self->CloseConnection(); }
  } closer{this};
  RETURN_IF_ERROR(SendAll(fd_, request, deadline));
  Reader in(fd_, deadline);
  HttpResponse response;
  bool http10 = false;
  RETURN_IF_ERROR(ReadHead(in, response, http10));
  const auto encoding = response.headers.Get("Transfer-Encoding");
  const bool chunked = encoding && ContainsIgnoreCase(*encoding, "chunked");
  if (response.status != 200) {
    if (chunked) {
      RETURN_IF_ERROR(ReadChunked(in, response.body));
    } else if (const auto length = response.headers.Get("Content-Length")) {
      ASSIGN_OR_RETURN(std::size_t size, ParseSize(*length, 10));
      RETURN_IF_ERROR(in.Exactly(size, response.body));
    }
    return response;
  }
  in.set_deadline(Clock::time_point::max());
  std::string piece;
  if (!chunked) {  // up to the close
    for (;;) {
      piece.clear();
      in.TakeBuffered(piece);
      if (!piece.empty() && !on_data(piece)) return response;
      if (Status st = in.FillMore(); !st.ok()) return response;
    }
  }
  for (;;) {
    ASSIGN_OR_RETURN(std::string line, in.Line());
    ASSIGN_OR_RETURN(std::size_t size, ParseSize(line.substr(0, line.find(';')), 16));
    if (size == 0) return response;
    piece.clear();
    RETURN_IF_ERROR(in.Exactly(size, piece));
    ASSIGN_OR_RETURN(std::string end, in.Line());
    if (!end.empty()) return Internal("chunk not followed by CRLF");
    if (!on_data(piece)) return response;
  }
}

std::string HostPort(const std::string& host, std::uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<int> ConnectTcp(const std::string& host, std::uint16_t port,
                       std::chrono::milliseconds timeout) {
  return Connect(host, port, Clock::now() + timeout);
}

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace drover::client
