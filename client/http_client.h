// A small synchronous HTTP/1.1 client: the `drover` CLI, the end-to-end
// tests and the benchmarks all talk to the agent through it.
//
// It talks to one server over plain TCP (an IPv4 address or "localhost";
// no TLS, no name resolution), one request at a time,
// and reuses the connection while the server keeps it alive. Responses may
// be framed by Content-Length, chunked, or end at connection close.
// Failures to connect, send or read (including a timeout) come back as a
// non-OK Status; any HTTP status, 4xx and 5xx included, is a response.
//
// Not thread-safe: give each thread its own client.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace drover::client {

// Header fields in arrival order; names compare case-insensitively.
class HttpHeaders {
 public:
  HttpHeaders() = default;
  HttpHeaders(std::initializer_list<std::pair<std::string, std::string>> fields)
      : fields_(fields) {}

  void Add(std::string name, std::string value);
  // The first field named `name`, if any.
  std::optional<std::string_view> Get(std::string_view name) const;
  bool Has(std::string_view name) const { return Get(name).has_value(); }

  const std::vector<std::pair<std::string, std::string>>& fields() const {
    return fields_;
  }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;
};

class HttpClient {
 public:
  static constexpr std::chrono::milliseconds kDefaultTimeout{15'000};

  // `timeout` bounds each request as a whole: connect, send and the full
  // response. Blocking queries need it above their `wait`.
  explicit HttpClient(std::uint16_t port,
                      std::chrono::milliseconds timeout = kDefaultTimeout)
      : HttpClient("127.0.0.1", port, timeout) {}
  // `host` is an IPv4 address or "localhost".
  HttpClient(std::string host, std::uint16_t port,
             std::chrono::milliseconds timeout = kDefaultTimeout);
  ~HttpClient();
  HttpClient(HttpClient&& other) noexcept;
  HttpClient& operator=(HttpClient&& other) noexcept;
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // `path` is the request target, query string included. Content-Length
  // and Connection are set by the client, and Host unless `headers` has one.
  Result<HttpResponse> Request(std::string_view method, std::string_view path,
                               std::string_view body = {},
                               const HttpHeaders& headers = {});

  Result<HttpResponse> Get(std::string_view path) { return Request("GET", path); }
  Result<HttpResponse> Put(std::string_view path, std::string_view body) {
    return Request("PUT", path, body);
  }
  Result<HttpResponse> Delete(std::string_view path) {
    return Request("DELETE", path);
  }

  // A streaming request (logs -f, the event stream): the head goes to
  // `on_head`; a 200 answer's body goes to `on_data` piece by piece as it
  // arrives, with no deadline, until the server ends it or `on_data`
  // returns false. Any other status comes back whole, as Request's.
  Result<HttpResponse> Stream(std::string_view method, std::string_view path,
                              const HttpHeaders& headers,
                              const std::function<bool(std::string_view)>& on_data);

  const std::string& host() const { return host_; }
  std::uint16_t port() const { return port_; }
  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  using Clock = std::chrono::steady_clock;

  Result<HttpResponse> RoundTrip(const std::string& request, bool head,
                                 Clock::time_point deadline, bool& response_started);
  void CloseConnection();

  std::string BuildRequest(std::string_view method, std::string_view path,
                           std::string_view body, const HttpHeaders& headers) const;

  std::string host_;
  std::uint16_t port_;
  std::chrono::milliseconds timeout_;
  int fd_ = -1;  // the kept-alive connection, or -1
};

// "host:port" as a Host header or an error message writes it ("[::1]:4646"
// for an IPv6 literal).
std::string HostPort(const std::string& host, std::uint16_t port);

// A connected TCP socket (non-blocking, close-on-exec, TCP_NODELAY) to
// `host`:`port` (an IP literal or a name, each address tried in turn), or
// the reason why not.
Result<int> ConnectTcp(const std::string& host, std::uint16_t port,
                       std::chrono::milliseconds timeout);

// Percent-encodes every byte but letters, digits and "-_.~": valid as a
// path segment (a job ID "a/b" -> "a%2Fb") and as a query value.
std::string PercentEncode(std::string_view s);

}  // namespace drover::client
