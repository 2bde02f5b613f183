#include "api/websocket.h"

#include <gtest/gtest.h>

#include "common/text.h"

namespace drover::api {
namespace {

// A client frame: masked with `mask`.
std::string ClientFrame(std::uint8_t b0, std::string_view payload,
                        std::string_view mask = std::string_view("\x11\x22\x33\x44", 4)) {
  std::string out;
  out.push_back(static_cast<char>(b0));
  if (payload.size() < 126) {
    out.push_back(static_cast<char>(0x80 | payload.size()));
  } else {
    out.push_back(static_cast<char>(0x80 | 126));
    out.push_back(static_cast<char>(payload.size() >> 8));
    out.push_back(static_cast<char>(payload.size()));
  }
  out.append(mask);
  for (std::size_t i = 0; i < payload.size(); ++i) out.push_back(payload[i] ^ mask[i % 4]);
  return out;
}

TEST(WebSocketTest, Sha1MatchesKnownDigests) {
  EXPECT_EQ(Base64Encode(Sha1("")), "2jmj7l5rSw0yVb/vlWAYkK/YBwk=");
  EXPECT_EQ(Base64Encode(Sha1("abc")), "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
  // A whole block, then a block of padding alone (checked with sha1sum).
  EXPECT_EQ(Base64Encode(Sha1(std::string(64, 'a'))), "AJi6gktcFkJ716ESKlpEKiXsZE0=");
}

TEST(WebSocketTest, AcceptKeyIsRfc6455sExample) {
  EXPECT_TRUE(ValidWebSocketKey("dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_EQ(WebSocketAccept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_FALSE(ValidWebSocketKey("c2hvcnQ="));  // 5 bytes
  EXPECT_FALSE(ValidWebSocketKey("not base64 at all!!!!!!="));
}

TEST(WebSocketTest, HeaderTokensAreCaseInsensitiveListItems) {
  EXPECT_TRUE(HeaderHasToken("keep-alive, Upgrade", "upgrade"));
  EXPECT_TRUE(HeaderHasToken("WebSocket", "websocket"));
  EXPECT_FALSE(HeaderHasToken("websockets", "websocket"));
  EXPECT_FALSE(HeaderHasToken("", "websocket"));
}

TEST(WebSocketTest, ParsesMaskedMessagesSplitAnywhere) {
  const std::string bytes = ClientFrame(0x81, "hello") + ClientFrame(0x89, "p") +
                            ClientFrame(0x82, std::string(300, 'b'));
  for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
    WsFrameParser parser(1 << 20);
    std::vector<WsMessage> out;
    ASSERT_TRUE(parser.Feed(std::string_view(bytes).substr(0, cut), out));
    ASSERT_TRUE(parser.Feed(std::string_view(bytes).substr(cut), out));
    ASSERT_EQ(out.size(), 3u) << cut;
    EXPECT_EQ(out[0].kind, WsMessage::Kind::kText);
    EXPECT_EQ(out[0].payload, "hello");
    EXPECT_EQ(out[1].kind, WsMessage::Kind::kPing);
    EXPECT_EQ(out[2].kind, WsMessage::Kind::kBinary);
    EXPECT_EQ(out[2].payload, std::string(300, 'b'));
  }
}

TEST(WebSocketTest, JoinsFragmentsAroundControlFrames) {
  WsFrameParser parser(1 << 20);
  std::vector<WsMessage> out;
  ASSERT_TRUE(parser.Feed(ClientFrame(0x01, "he") + ClientFrame(0x8A, "") +
                              ClientFrame(0x00, "ll") + ClientFrame(0x80, "o"),
                          out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].kind, WsMessage::Kind::kPong);
  EXPECT_EQ(out[1].payload, "hello");
}

TEST(WebSocketTest, RefusesWhatRfc6455Forbids) {
  struct Case {
    std::string bytes;
    int code;
  };
  std::string unmasked = "\x81\x02hi";
  const Case cases[] = {
      {unmasked, kWsCloseProtocolError},
      {ClientFrame(0xC1, "x"), kWsCloseProtocolError},             // RSV1
      {ClientFrame(0x83, "x"), kWsCloseProtocolError},             // opcode 3
      {ClientFrame(0x09, "x"), kWsCloseProtocolError},             // fragmented ping
      {ClientFrame(0x80, "x"), kWsCloseProtocolError},             // continuation alone
      {ClientFrame(0x01, "a") + ClientFrame(0x81, "b"), kWsCloseProtocolError},
      {ClientFrame(0x88, "x"), kWsCloseProtocolError},             // 1-byte close
      {ClientFrame(0x81, std::string(200, 'x')), kWsCloseTooBig},  // over the limit
  };
  for (const Case& c : cases) {
    WsFrameParser parser(100);
    std::vector<WsMessage> out;
    EXPECT_FALSE(parser.Feed(c.bytes, out));
    EXPECT_EQ(parser.error_code(), c.code);
    EXPECT_FALSE(parser.Feed(ClientFrame(0x81, "later"), out));  // stays failed
    EXPECT_TRUE(out.empty());
  }
}

TEST(WebSocketTest, TooBigIsRefusedFromTheHeaderAlone) {
  WsFrameParser parser(1000);
  std::vector<WsMessage> out;
  std::string head = "\x81\xFF";  // 8-byte length follows
  head += std::string("\x00\x00\x00\x01\x00\x00\x00\x00", 8);
  EXPECT_FALSE(parser.Feed(head, out));
  EXPECT_EQ(parser.error_code(), kWsCloseTooBig);
}

TEST(WebSocketTest, ServerFramesAreUnmaskedWithTheRightLengths) {
  EXPECT_EQ(WsTextFrame("hi"), std::string("\x81\x02hi"));
  const std::string mid = WsTextFrame(std::string(300, 'x'));
  EXPECT_EQ(mid.substr(0, 4), std::string("\x81\x7E\x01\x2C"));
  const std::string big = WsTextFrame(std::string(70000, 'x'));
  EXPECT_EQ(big.substr(0, 2), std::string("\x81\x7F"));
  EXPECT_EQ(big.size(), 10u + 70000u);
}

TEST(WebSocketTest, CloseFrameReasonFitsAControlFrame) {
  const std::string f = WsCloseFrame(1011, "oops");
  EXPECT_EQ(f, std::string("\x88\x06\x03\xF3oops"));
  // 200 two-byte characters: cut to 123 bytes or less, never inside one.
  std::string reason;
  for (int i = 0; i < 100; ++i) reason += "\xC3\xA9";
  const std::string g = WsCloseFrame(1008, reason);
  EXPECT_LE(g.size(), 2u + 125u);
  EXPECT_EQ((g.size() - 4) % 2, 0u);
}

TEST(TextTest, Base64RoundTripsAndRefusesWhatGoRefuses) {
  for (std::string s : {"", "a", "ab", "abc", "abcd", "\xff\x00\x10"}) {
    EXPECT_EQ(Base64Decode(Base64Encode(s)), s);
  }
  EXPECT_EQ(Base64Decode("aGk=\r\n"), "hi");
  EXPECT_FALSE(Base64Decode("aGk"));    // no padding
  EXPECT_FALSE(Base64Decode("a=Gk"));   // padding inside
  EXPECT_FALSE(Base64Decode("aG!k"));
  EXPECT_EQ(GoParseBool("True"), true);
  EXPECT_EQ(GoParseBool("0"), false);
  EXPECT_FALSE(GoParseBool("yes"));
}

}  // namespace
}  // namespace drover::api
