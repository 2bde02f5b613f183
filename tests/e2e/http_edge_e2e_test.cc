// The HTTP edge against hostile clients: a raw TCP client sends what a
// well-behaved HTTP client never would, and every answer must come at once
// (within the client's few-second read timeout, far below Pistache's 60 s
// header timeout), with a 4xx status and no C++ exception text.
#include <cctype>
#include <gtest/gtest.h>
#include <poll.h>
#include <zlib.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/agent_process.h"
#include "tests/support/json_assert.h"
#include "tests/support/raw_http.h"
#include "tests/support/shared_agent.h"

namespace drover::testing {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;

constexpr auto kReadTimeout = 5s;

// Text that would show a C++ exception reached the client.
bool LooksLikeExceptionText(const std::string& body) {
  for (const char* s : {"stoul", "stol", "stoi", "std::", "bad_alloc", "invalid_argument",
                        "out_of_range", "lexical", "what()"}) {
    if (body.find(s) != std::string::npos) return true;
  }
  return false;
}

class HttpEdgeE2ETest : public SharedAgentTest<HttpEdgeE2ETest> {
 protected:
  static RawConnection Connect() {
    auto c = RawConnection::Connect(agent_->port(), kReadTimeout);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return std::move(c).value();
  }

  // Sends `wire` (as far as the server reads it) and returns the answer.
  static RawResponse Exchange(std::string_view wire) {
    RawConnection c = Connect();
    auto sent = c.SendUntilAnswered(wire);
    EXPECT_TRUE(sent.ok()) << sent.status().ToString();
    auto r = c.ReadResponse();
    EXPECT_TRUE(r.ok()) << r.status().ToString() << "\n" << agent_->LogTail();
    return r.ok() ? *r : RawResponse{};
  }

  // The agent still serves a normal request afterwards.
  static void ExpectHealthy() {
    auto r = agent_->Client().Get("/v1/agent/self");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 200);
  }
};

// The 414 comes as soon as the request line passes the 64 KiB head limit,
// not at its end: the client sends 256 KiB of a URL that never ends and
// waits. An agent that waited for the rest of the line would never answer.
// (Timing how much of a longer URL went out before the answer depends on
// the machine: the agent's reader drains the socket before it writes.)
TEST_F(HttpEdgeE2ETest, HugeUrlIs414BeforeTheLineEnds) {
  RawConnection c = Connect();
  ASSERT_OK(c.Send("GET /v1/jobs?prefix=" + std::string(256 << 10, 'a')));
  ASSERT_OK_AND_ASSIGN(RawResponse r, c.ReadResponse());
  EXPECT_EQ(r.status, 414) << r.head;
  EXPECT_TRUE(c.WaitClosed());
  ExpectHealthy();
}

TEST_F(HttpEdgeE2ETest, HundredKibibytesOfHeadersAre431) {
  std::string wire = "GET /v1/agent/self HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (int i = 0; wire.size() < (100 << 10); ++i) {
    wire += "X-Pad-" + std::to_string(i) + ": " + std::string(100, 'p') + "\r\n";
  }
  wire += "\r\n";
  const RawResponse r = Exchange(wire);
  EXPECT_EQ(r.status, 431) << r.head;
  ExpectHealthy();
}

TEST_F(HttpEdgeE2ETest, BadContentLengthIs400WithoutExceptionText) {
  for (const char* cl : {"-1", "1e23", "1e12", "12abc", "99999999999999999999999"}) {
    const std::string wire =
        "PUT /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: "s + cl + "\r\n\r\n{}";
    const RawResponse r = Exchange(wire);
    EXPECT_EQ(r.status, 400) << "Content-Length: " << cl << "\n" << r.head << r.body;
    EXPECT_FALSE(LooksLikeExceptionText(r.body)) << r.body;
  }
  ExpectHealthy();
}

TEST_F(HttpEdgeE2ETest, FiveMebibyteContentLengthIs413BeforeTheBody) {
  RawConnection c = Connect();
  // Only the head: the answer must not wait for a body.
  ASSERT_OK(c.Send("PUT /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5242880\r\n\r\n"));
  ASSERT_OK_AND_ASSIGN(RawResponse r, c.ReadResponse());
  EXPECT_EQ(r.status, 413) << r.head;
  EXPECT_NE(r.body.find("Request exceeded maximum buffer size"), std::string::npos) << r.body;
  EXPECT_TRUE(c.WaitClosed());
}

TEST_F(HttpEdgeE2ETest, MalformedRequestsAre400AtOnce) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"no colon", "GET /v1/agent/self HTTP/1.1\r\nHost x\r\n\r\n"},
      {"LF only", "GET /v1/agent/self HTTP/1.1\nHost: x\n\n"},
      {"TLS client hello", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"s + std::string(32, '\x42')},
      {"NUL in target", "GET /v1/agent/self\0 HTTP/1.1\r\n\r\n"s},
      {"NUL in header", "GET /v1/agent/self HTTP/1.1\r\nHost: a\0b\r\n\r\n"s},
  };
  for (const auto& [name, wire] : cases) {
    RawConnection c = Connect();
    ASSERT_OK(c.Send(wire));
    auto r = c.ReadResponse();
    ASSERT_TRUE(r.ok()) << name << ": " << r.status().ToString();
    EXPECT_EQ(r->status, 400) << name << "\n" << r->head;
    EXPECT_NE(r->head.find("Connection: close"), std::string::npos) << name;
    EXPECT_TRUE(c.WaitClosed()) << name;
  }
  ExpectHealthy();
}

TEST_F(HttpEdgeE2ETest, KeepAliveAndPipelinedRequestsAreAllAnswered) {
  RawConnection c = Connect();
  const std::string get = "GET /v1/agent/self HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n";
  const std::string missing =
      "GET /v1/allocation/9e2a0b4c-1111-2222-3333-444455556666 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Connection: keep-alive\r\n\r\n";
  // Three requests in one write, then one more on the same connection.
  ASSERT_OK(c.Send(get + missing + get));
  for (int expected : {200, 404, 200}) {
    ASSERT_OK_AND_ASSIGN(RawResponse r, c.ReadResponse());
    EXPECT_EQ(r.status, expected) << r.head;
  }
  ASSERT_OK(c.Send(get));
  ASSERT_OK_AND_ASSIGN(RawResponse r, c.ReadResponse());
  EXPECT_EQ(r.status, 200) << r.head;
}

// Go's net/http sends no Connection field and keeps the connection when the
// answer does not say "close": HTTP/1.1's default must be answered as such.
TEST_F(HttpEdgeE2ETest, HttpOneOneWithoutConnectionFieldIsAnsweredKeepAlive) {
  RawConnection c = Connect();
  const std::string get = "GET /v1/agent/self HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  for (int i = 0; i < 2; ++i) {
    ASSERT_OK(c.Send(get));
    ASSERT_OK_AND_ASSIGN(RawResponse r, c.ReadResponse());
    EXPECT_EQ(r.status, 200) << r.head;
    std::string head = r.head;
    for (char& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    EXPECT_NE(head.find("connection: keep-alive"), std::string::npos) << r.head;
    EXPECT_EQ(head.find("connection: close"), std::string::npos) << r.head;
  }
}

// Go's client asks for gzip on every call; Nomad compresses answers of
// 1400 bytes or more. An indented node is larger than that.
TEST_F(HttpEdgeE2ETest, LargeAnswersAreGzippedWhenTheClientAsks) {
  auto nodes = agent_->Client().Get("/v1/nodes");
  ASSERT_TRUE(nodes.ok());
  auto list = ParseJson(nodes->body);
  ASSERT_TRUE(list.ok() && list->is_array() && !list->as_array().empty()) << nodes->body;
  const std::string path =
      "/v1/node/" + std::string(list->as_array()[0].at("ID").as_string()) + "?pretty";
  const RawResponse plain =
      Exchange("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  ASSERT_EQ(plain.status, 200);
  ASSERT_GE(plain.body.size(), 1400u);
  EXPECT_EQ(plain.head.find("Content-Encoding"), std::string::npos) << plain.head;

  const RawResponse packed = Exchange("GET " + path +
                                      " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                      "Accept-Encoding: gzip\r\n\r\n");
  ASSERT_EQ(packed.status, 200);
  EXPECT_NE(packed.head.find("Content-Encoding: gzip"), std::string::npos) << packed.head;
  EXPECT_NE(packed.head.find("Vary: Accept-Encoding"), std::string::npos) << packed.head;
  EXPECT_LT(packed.body.size(), plain.body.size());
  z_stream z{};
  ASSERT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  std::string out(1 << 20, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(packed.body.data()));
  z.avail_in = static_cast<uInt>(packed.body.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(out.size() - z.avail_out);
  inflateEnd(&z);
  EXPECT_EQ(out, plain.body);

  // A small answer stays plain.
  const RawResponse small = Exchange(
      "GET /v1/allocations HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n\r\n");
  EXPECT_EQ(small.status, 200);
  EXPECT_EQ(small.head.find("Content-Encoding"), std::string::npos) << small.head;
}

TEST_F(HttpEdgeE2ETest, BodiesSplitAcrossWritesAndChunkedBodiesArrive) {
  RawConnection c = Connect();
  const std::string body = R"({"Meta": {"edge_split": "yes"}})";
  const std::string head = "POST /v1/client/metadata HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n"
                           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  ASSERT_OK(c.Send(head + body.substr(0, 10)));
  ASSERT_OK(c.Send(body.substr(10)));
  ASSERT_OK_AND_ASSIGN(RawResponse split, c.ReadResponse());
  EXPECT_EQ(split.status, 200) << split.head << split.body;

  const std::string chunked_body = R"({"Meta": {"edge_chunked": "yes"}})";
  const std::string chunked =
      "POST /v1/client/metadata HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n"
      "Transfer-Encoding: chunked\r\n\r\n" +
      std::string("a\r\n") + chunked_body.substr(0, 10) + "\r\n" +
      ([&] {
        char size[16];
        std::snprintf(size, sizeof(size), "%zx", chunked_body.size() - 10);
        return std::string(size);
      })() +
      "\r\n" + chunked_body.substr(10) + "\r\n0\r\n\r\n";
  ASSERT_OK(c.Send(chunked + "GET /v1/client/metadata HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  ASSERT_OK_AND_ASSIGN(RawResponse posted, c.ReadResponse());
  EXPECT_EQ(posted.status, 200) << posted.head << posted.body;
  ASSERT_OK_AND_ASSIGN(RawResponse meta, c.ReadResponse());
  EXPECT_EQ(meta.status, 200) << meta.head;
  EXPECT_NE(meta.body.find("edge_split"), std::string::npos) << meta.body;
  EXPECT_NE(meta.body.find("edge_chunked"), std::string::npos) << meta.body;
}

TEST_F(HttpEdgeE2ETest, ExpectContinueGetsAnInterimAnswer) {
  RawConnection c = Connect();
  const std::string body = R"({"Meta": {"edge_continue": "yes"}})";
  ASSERT_OK(c.Send("POST /v1/client/metadata HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\n"
                   "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n"));
  // The interim answer comes before any body byte is sent.
  ASSERT_OK_AND_ASSIGN(RawResponse interim, c.ReadResponse(/*interim=*/true));
  EXPECT_EQ(interim.status, 100) << interim.head;
  ASSERT_OK(c.Send(body));
  ASSERT_OK_AND_ASSIGN(RawResponse r, c.ReadResponse());  // skips the 100
  EXPECT_EQ(r.status, 200) << r.head << r.body;
}

// Hundreds of idle connections beyond the fd limit must not stall the API:
// the oldest connections that never sent a request make room.
TEST(HttpEdgeFdLimitE2ETest, IdleConnectionsBeyondTheFdLimitDoNotStallRequests) {
  AgentOptions options;
  options.launcher = {"/usr/bin/prlimit", "--nofile=256"};
  auto launched = AgentProcess::Launch(options);
  ASSERT_TRUE(launched.ok()) << launched.status().ToString();
  std::unique_ptr<AgentProcess> agent = std::move(launched).value();

  std::vector<RawConnection> idle;
  for (int i = 0; i < 400; ++i) {
    auto c = RawConnection::Connect(agent->port(), kReadTimeout);
    ASSERT_TRUE(c.ok()) << "connection " << i << ": " << c.status().ToString();
    idle.push_back(std::move(c).value());
  }
  // The agent closes the oldest idle connections to make room (a quarter
  // of the fds stays free): at least those beyond the fd limit.
  auto closed_by_agent = [&idle] {
    int closed = 0;
    for (RawConnection& c : idle) {
      pollfd p{c.fd(), POLLIN, 0};
      if (::poll(&p, 1, 0) == 1) ++closed;
    }
    return closed;
  };
  EXPECT_TRUE(WaitFor([&] { return closed_by_agent() >= 400 - 256; }, 30s))
      << closed_by_agent() << " idle connections closed\n" << agent->LogTail();
  for (int i = 0; i < 3; ++i) {
    auto r = agent->Client(kReadTimeout).Get("/v1/agent/self");
    ASSERT_TRUE(r.ok()) << "request " << i << ": " << r.status().ToString() << "\n"
                        << agent->LogTail();
    EXPECT_EQ(r->status, 200) << r->body;
  }
}

}  // namespace
}  // namespace drover::testing
