#include "api/websocket.h"

#include <array>
#include <cctype>

#include "common/text.h"

namespace drover::api {
namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr std::size_t kMaxControlPayload = 125;

enum Opcode : std::uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

std::string ServerFrame(std::uint8_t opcode, std::string_view payload) {
  std::string out;
  out.push_back(static_cast<char>(0x80 | opcode));
  const std::uint64_t n = payload.size();
  if (n < 126) {
    out.push_back(static_cast<char>(n));
  } else if (n <= 0xFFFF) {
    out.push_back(static_cast<char>(126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n));
  } else {
    out.push_back(static_cast<char>(127));
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(n >> shift));
  }
  out.append(payload);
  return out;
}

std::uint32_t Rotl(std::uint32_t v, int n) { return v << n | v >> (32 - n); }

}  // namespace

bool HeaderHasToken(std::string_view value, std::string_view token) {
  std::size_t start = 0;
  while (start <= value.size()) {
    std::size_t end = value.find(',', start);
    if (end == std::string_view::npos) end = value.size();
    std::string_view item = value.substr(start, end - start);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item.size() == token.size()) {
      bool same = true;
      for (std::size_t i = 0; i < item.size() && same; ++i) {
        same = std::tolower(static_cast<unsigned char>(item[i])) ==
               std::tolower(static_cast<unsigned char>(token[i]));
      }
      if (same) return true;
    }
    start = end + 1;
  }
  return false;
}

bool ValidWebSocketKey(std::string_view key) {
  auto decoded = Base64Decode(key);
  return decoded && decoded->size() == 16 && key.find_first_of("\r\n") == std::string_view::npos;
}

std::string WebSocketAccept(std::string_view key) {
  std::string text(key);
  text += kGuid;
  return Base64Encode(Sha1(text));
}

std::string Sha1(std::string_view data) {
  std::array<std::uint32_t, 5> h = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  std::string msg(data);
  const std::uint64_t bits = static_cast<std::uint64_t>(data.size()) * 8;
  msg.push_back(static_cast<char>(0x80));
  while (msg.size() % 64 != 56) msg.push_back('\0');
  for (int shift = 56; shift >= 0; shift -= 8) msg.push_back(static_cast<char>(bits >> shift));
  for (std::size_t block = 0; block < msg.size(); block += 64) {
    std::array<std::uint32_t, 80> w{};
    for (int i = 0; i < 16; ++i) {
      const auto* p = reinterpret_cast<const unsigned char*>(msg.data() + block + 4 * i);
      w[i] = static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
             static_cast<std::uint32_t>(p[2]) << 8 | p[3];
    }
    for (int i = 16; i < 80; ++i) w[i] = Rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; ++i) {
      std::uint32_t f, k;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5A827999;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ED9EBA1;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8F1BBCDC;
      } else {
        f = b ^ c ^ d;
        k = 0xCA62C1D6;
      }
      const std::uint32_t t = Rotl(a, 5) + f + e + k + w[i];
      e = d;
      d = c;
      c = Rotl(b, 30);
      b = a;
      a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
  }
  std::string out;
  for (std::uint32_t v : h) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
  }
  return out;
}

bool WsFrameParser::Fail(int code, std::string reason) {
  error_code_ = code;
  error_reason_ = std::move(reason);
  pending_.clear();
  message_.clear();
  return false;
}

bool WsFrameParser::Feed(std::string_view in, std::vector<WsMessage>& out) {
  if (error_code_ != 0) return false;
  pending_.append(in);
  std::size_t pos = 0;
  for (;;) {
    const std::string_view p(pending_.data() + pos, pending_.size() - pos);
    if (p.size() < 2) break;
    const auto b0 = static_cast<std::uint8_t>(p[0]);
    const auto b1 = static_cast<std::uint8_t>(p[1]);
    const bool fin = b0 & 0x80;
    const std::uint8_t opcode = b0 & 0x0F;
    if (b0 & 0x70) return Fail(kWsCloseProtocolError, "reserved bits set");
    if (!(b1 & 0x80)) return Fail(kWsCloseProtocolError, "client frame not masked");
    const bool control = opcode >= 0x8;
    if (opcode != kContinuation && opcode != kText && opcode != kBinary && opcode != kClose &&
        opcode != kPing && opcode != kPong) {
      return Fail(kWsCloseProtocolError, "unknown opcode");
    }
    std::uint64_t len = b1 & 0x7F;
    std::size_t header = 2;
    if (control && (!fin || len > kMaxControlPayload)) {
      return Fail(kWsCloseProtocolError, "bad control frame");
    }
    if (len == 126) {
      if (p.size() < 4) break;
      len = static_cast<std::uint64_t>(static_cast<std::uint8_t>(p[2])) << 8 |
            static_cast<std::uint8_t>(p[3]);
      header = 4;
    } else if (len == 127) {
      if (p.size() < 10) break;
      len = 0;
      for (int i = 2; i < 10; ++i) len = len << 8 | static_cast<std::uint8_t>(p[i]);
      if (len >> 63) return Fail(kWsCloseProtocolError, "bad frame length");
      header = 10;
    }
    // Checked before the payload is buffered.
    const std::uint64_t so_far = control ? 0 : message_.size();
    if (len > max_message_ || so_far + len > max_message_) {
      return Fail(kWsCloseTooBig, "message too big");
    }
    if (p.size() < header + 4 + len) break;
    const char* mask = p.data() + header;
    std::string payload(p.data() + header + 4, static_cast<std::size_t>(len));
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] ^= mask[i % 4];
    pos += header + 4 + static_cast<std::size_t>(len);

    if (control) {
      if (opcode == kClose && payload.size() == 1) {
        return Fail(kWsCloseProtocolError, "bad close frame");
      }
      const auto kind = opcode == kClose  ? WsMessage::Kind::kClose
                        : opcode == kPing ? WsMessage::Kind::kPing
                                          : WsMessage::Kind::kPong;
      out.push_back({kind, std::move(payload)});
      continue;
    }
    if (opcode == kContinuation) {
      if (!in_message_) return Fail(kWsCloseProtocolError, "continuation without a message");
    } else {
      if (in_message_) return Fail(kWsCloseProtocolError, "data frame inside a message");
      in_message_ = true;
      message_kind_ = opcode == kText ? WsMessage::Kind::kText : WsMessage::Kind::kBinary;
    }
    message_ += payload;
    if (fin) {
      out.push_back({message_kind_, std::move(message_)});
      message_.clear();
      in_message_ = false;
    }
  }
  pending_.erase(0, pos);
  return true;
}

std::string WsTextFrame(std::string_view payload) { return ServerFrame(kText, payload); }
std::string WsPongFrame(std::string_view payload) {
  return ServerFrame(kPong, payload.substr(0, kMaxControlPayload));
}

std::string WsCloseFrame(int code, std::string_view reason) {
  std::size_t n = std::min<std::size_t>(reason.size(), kMaxControlPayload - 2);
  // Never cut a UTF-8 sequence: back up over continuation bytes.
  if (n < reason.size()) {
    while (n > 0 && (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80) --n;
  }
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code));
  payload.append(reason.substr(0, n));
  return ServerFrame(kClose, payload);
}

}  // namespace drover::api
