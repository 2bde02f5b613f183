#include "api/http_edge.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace drover::api {
namespace {

using Action = EdgeVerdict::Action;
using namespace std::string_literals;

// Feeds `wire` in pieces of `step` bytes; returns the requests it framed
// (as the bytes each one spans) and the final verdict.
struct Framed {
  std::vector<std::string> requests;
  EdgeVerdict last;
};

Framed FeedAll(std::string_view wire, std::size_t step = 1 << 20, EdgeLimits limits = {}) {
  HttpRequestFramer framer(limits);
  Framed out;
  std::string current;
  for (std::size_t off = 0; off < wire.size();) {
    std::string_view piece = wire.substr(off, step);
    while (!piece.empty()) {
      EdgeVerdict v = framer.Feed(piece);
      out.last = v;
      if (v.action == Action::kReject) return out;
      if (v.action == Action::kNeedMore) {
        current.append(piece);
        break;
      }
      current.append(piece.substr(0, v.consumed));
      out.requests.push_back(current);
      current.clear();
      piece.remove_prefix(v.consumed);
    }
    off += step;
  }
  return out;
}

int RejectCode(std::string_view wire, EdgeLimits limits = {}) {
  Framed f = FeedAll(wire, 1 << 20, limits);
  return f.last.action == Action::kReject ? f.last.code : 0;
}

TEST(HttpRequestFramerTest, FramesSimpleGet) {
  const std::string req = "GET /v1/jobs?prefix=a HTTP/1.1\r\nHost: x\r\n\r\n";
  Framed f = FeedAll(req);
  ASSERT_EQ(f.requests.size(), 1u);
  EXPECT_EQ(f.requests[0], req);
}

TEST(HttpRequestFramerTest, FramesByteByByteAndPipelined) {
  const std::string a = "PUT /v1/jobs HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
  const std::string b = "GET /v1/agent/self HTTP/1.0\r\n\r\n";
  const std::string c = "DELETE /v1/job/x HTTP/1.1\r\ncontent-length:  0 \r\n\r\n";
  for (std::size_t step : {std::size_t{1}, std::size_t{3}, std::size_t{1} << 20}) {
    Framed f = FeedAll(a + b + c, step);
    ASSERT_EQ(f.requests.size(), 3u) << "step " << step;
    EXPECT_EQ(f.requests[0], a);
    EXPECT_EQ(f.requests[1], b);
    EXPECT_EQ(f.requests[2], c);
    EXPECT_EQ(f.last.action, Action::kComplete);
  }
}

TEST(HttpRequestFramerTest, FramesChunkedBodyWithTrailers) {
  const std::string req =
      "POST /v1/jobs HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Sum: 1\r\n\r\n";
  const std::string next = "GET / HTTP/1.1\r\n\r\n";
  for (std::size_t step : {std::size_t{1}, std::size_t{7}, std::size_t{1} << 20}) {
    Framed f = FeedAll(req + next, step);
    ASSERT_EQ(f.requests.size(), 2u) << "step " << step;
    EXPECT_EQ(f.requests[0], req);
    EXPECT_EQ(f.requests[1], next);
  }
}

TEST(HttpRequestFramerTest, ChunkedBodyAfterALongTarget) {
  // Regression: the target's length once counted towards the chunk size's.
  const std::string req =
      "POST /v1/client/metadata/with/a/long/path HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "a\r\n0123456789\r\n0\r\n\r\n";
  Framed f = FeedAll(req);
  ASSERT_EQ(f.requests.size(), 1u) << f.last.text;
  EXPECT_EQ(f.requests[0], req);
}

TEST(HttpRequestFramerTest, IncompleteRequestNeedsMore) {
  HttpRequestFramer framer;
  EXPECT_TRUE(framer.AtRequestStart());
  EdgeVerdict v = framer.Feed("PUT /x HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
  EXPECT_EQ(v.action, Action::kNeedMore);
  EXPECT_FALSE(framer.AtRequestStart());
  v = framer.Feed("defghij");
  EXPECT_EQ(v.action, Action::kComplete);
  EXPECT_EQ(v.consumed, 7u);
  EXPECT_TRUE(framer.AtRequestStart());
}

TEST(HttpRequestFramerTest, LongRequestLineIs414AtTheLimit) {
  EdgeLimits limits;
  limits.max_head_bytes = 1024;
  HttpRequestFramer framer(limits);
  std::string url = "GET /" + std::string(4000, 'a');
  EdgeVerdict v = framer.Feed(url);
  ASSERT_EQ(v.action, Action::kReject);
  EXPECT_EQ(v.code, 414);
}

TEST(HttpRequestFramerTest, LargeHeadersAre431) {
  std::string req = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 2000; ++i) req += "X-Filler-" + std::to_string(i) + ": " + std::string(40, 'v') + "\r\n";
  req += "\r\n";
  EXPECT_EQ(RejectCode(req), 431);
}

TEST(HttpRequestFramerTest, ContentLengthMustBeDigitsWithoutOverflow) {
  for (const char* cl : {"-1", "1e23", "1e12", "12abc", "", " ", "0x10", "+5", "1 2",
                         "99999999999999999999", "184467440737095516160"}) {
    std::string req = std::string("PUT /v1/jobs HTTP/1.1\r\nContent-Length: ") + cl + "\r\n\r\n";
    EXPECT_EQ(RejectCode(req), 400) << "Content-Length \"" << cl << "\"";
  }
}

TEST(HttpRequestFramerTest, ContentLengthAboveLimitIs413BeforeTheBody) {
  HttpRequestFramer framer;
  EdgeVerdict v = framer.Feed("PUT /v1/jobs HTTP/1.1\r\nContent-Length: 5242880\r\n\r\n");
  ASSERT_EQ(v.action, Action::kReject);
  EXPECT_EQ(v.code, 413);
  EXPECT_EQ(v.text, kBodyTooLargeText);
  EXPECT_EQ(RejectCode("PUT / HTTP/1.1\r\nContent-Length: 1000000000000\r\n\r\n"), 413);
}

TEST(HttpRequestFramerTest, ContentLengthAtLimitIsAccepted) {
  EdgeLimits limits;
  limits.max_body_bytes = 10;
  Framed f = FeedAll("PUT / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", 4, limits);
  EXPECT_EQ(f.requests.size(), 1u);
  EXPECT_EQ(RejectCode("PUT / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", limits), 413);
}

TEST(HttpRequestFramerTest, AmbiguousFramingIsRejected) {
  EXPECT_EQ(RejectCode("PUT / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx"), 400);
  EXPECT_EQ(RejectCode("PUT / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
  EXPECT_EQ(RejectCode("PUT / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"), 501);
  EXPECT_EQ(RejectCode("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\n\r\n"), 400);
  EXPECT_EQ(RejectCode("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), 400);
  EXPECT_EQ(RejectCode("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX"), 400);
}

TEST(HttpRequestFramerTest, ChunkedBodyAboveLimitIs413) {
  EdgeLimits limits;
  limits.max_body_bytes = 8;
  EXPECT_EQ(RejectCode("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n5\r\n", limits), 413);
  EXPECT_EQ(RejectCode("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n"), 413);
  EXPECT_EQ(RejectCode("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n00000000000000001\r\n"), 400);
}

TEST(HttpRequestFramerTest, MalformedRequestsAre400AtTheFirstBadByte) {
  EXPECT_EQ(RejectCode("GET / HTTP/1.1\r\nNoColonHere\r\n\r\n"), 400);
  EXPECT_EQ(RejectCode("GET / HTTP/1.1\nHost: x\n\n"), 400);
  EXPECT_EQ(RejectCode("GET / HTTP/1.1\r\nHost: x\n\r\n"), 400);
  EXPECT_EQ(RejectCode("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"s), 400);
  EXPECT_EQ(RejectCode("GET /a\0b HTTP/1.1\r\n\r\n"s), 400);
  EXPECT_EQ(RejectCode("GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n"s), 400);
  EXPECT_EQ(RejectCode("GET / HTTP/1.1\r\nHost : x\r\n\r\n"), 400);
  EXPECT_EQ(RejectCode("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n"), 400);
  EXPECT_EQ(RejectCode("GET / HTTP/1.1\r\n: empty-name\r\n\r\n"), 400);
  EXPECT_EQ(RejectCode("GET  / HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(RejectCode("GET / FTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(RejectCode("\r\nGET / HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(RejectCode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505);
}

TEST(HttpRequestFramerTest, RejectedFramerStaysRejected) {
  HttpRequestFramer framer;
  ASSERT_EQ(framer.Feed("BAD\x01").action, Action::kReject);
  EXPECT_EQ(framer.Feed("GET / HTTP/1.1\r\n\r\n").action, Action::kReject);
}

TEST(HttpRequestFramerTest, ReportsTheHeadSizeAndWhetherKeepAliveIsOnlyImplied) {
  HttpRequestFramer framer;
  const std::string head = "PUT /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n";
  EdgeVerdict v = framer.Feed(head + "{}");
  ASSERT_EQ(v.action, Action::kComplete);
  EXPECT_EQ(v.head_size, head.size());
  EXPECT_TRUE(v.implied_keep_alive);  // HTTP/1.1 without a Connection field

  v = framer.Feed("GET / HTTP/1.1\r\nconnection: close\r\n\r\n");
  ASSERT_EQ(v.action, Action::kComplete);
  EXPECT_FALSE(v.implied_keep_alive);  // the client said what it wants

  v = framer.Feed("GET / HTTP/1.0\r\n\r\n");
  ASSERT_EQ(v.action, Action::kComplete);
  EXPECT_FALSE(v.implied_keep_alive);  // HTTP/1.0 closes by default
}

TEST(HttpRequestFramerTest, ExpectContinueAsksForTheBody) {
  HttpRequestFramer framer;
  EdgeVerdict v = framer.Feed("PUT /v1/jobs HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
  EXPECT_EQ(v.action, Action::kNeedMore);
  EXPECT_TRUE(v.send_continue);
  v = framer.Feed("ab");
  EXPECT_FALSE(v.send_continue);
  EXPECT_EQ(framer.Feed("c").action, Action::kComplete);

  HttpRequestFramer eager;
  v = eager.Feed("PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\na");
  EXPECT_FALSE(v.send_continue);  // the body is already coming
}

TEST(HttpRequestFramerTest, FeedingIsLinearInInput) {
  // A 4 MiB request line fed in 4 KiB reads is rejected after the limit is
  // crossed, having looked at each byte once (no re-parse from the start).
  HttpRequestFramer framer;
  std::string piece(4096, 'a');
  EdgeVerdict v = framer.Feed("GET /");
  std::size_t fed = 5;
  while (v.action == Action::kNeedMore && fed < (4u << 20)) {
    v = framer.Feed(piece);
    fed += piece.size();
  }
  EXPECT_EQ(v.action, Action::kReject);
  EXPECT_EQ(v.code, 414);
  EXPECT_LE(fed, EdgeLimits{}.max_head_bytes + piece.size());
}

}  // namespace
}  // namespace drover::api
