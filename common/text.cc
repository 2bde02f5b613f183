#include "common/text.h"

#include <cstdint>
#include <optional>

namespace drover {
namespace {

struct DecodedRune {
  char32_t rune = 0;
  std::size_t width = 1;
  bool valid = false;
};

struct Utf8Lead {
  std::size_t width;
  char32_t bits;      // the payload bits of the lead byte
  char32_t min_rune;  // anything smaller is an overlong encoding
};

std::optional<Utf8Lead> ClassifyLead(unsigned char lead) {
  if ((lead & 0xE0) == 0xC0) return Utf8Lead{2, lead & 0x1Fu, 0x80};
  if ((lead & 0xF0) == 0xE0) return Utf8Lead{3, lead & 0x0Fu, 0x800};
  if ((lead & 0xF8) == 0xF0) return Utf8Lead{4, lead & 0x07u, 0x10000};
  return std::nullopt;
}

// Decodes one UTF-8 sequence at the front of `s`, rejecting what Go rejects:
// overlong forms, surrogates and code points above U+10FFFF.
DecodedRune DecodeRune(std::string_view s) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  if (byte(0) < 0x80) return {byte(0), 1, true};

  const auto lead = ClassifyLead(byte(0));
  if (!lead || s.size() < lead->width) return {};
  char32_t rune = lead->bits;
  for (std::size_t i = 1; i < lead->width; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return {};
    rune = (rune << 6) | (byte(i) & 0x3Fu);
  }
  const bool surrogate = rune >= 0xD800 && rune <= 0xDFFF;
  if (rune < lead->min_rune || rune > 0x10FFFF || surrogate) return {};
  return {rune, lead->width, true};
}

void AppendHex(std::string& out, std::uint32_t value, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4) out += kHex[(value >> shift) & 0xF];
}

std::optional<char> ShortEscape(char32_t r) {
  switch (r) {
    case '\a':
      return 'a';
    case '\b':
      return 'b';
    case '\f':
      return 'f';
    case '\n':
      return 'n';
    case '\r':
      return 'r';
    case '\t':
      return 't';
    case '\v':
      return 'v';
    default:
      return std::nullopt;
  }
}

}  // namespace

// Go's strconv.Quote, which fmt's %q applies to strings. Control characters
// (C0, DEL, C1) and invalid bytes are escaped as Go escapes them; every other
// code point is taken as printable.
std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  while (!s.empty()) {
    const DecodedRune d = DecodeRune(s);
    const std::string_view raw = s.substr(0, d.width);
    s.remove_prefix(d.width);
    if (!d.valid) {
      out += "\\x";
      AppendHex(out, static_cast<unsigned char>(raw[0]), 2);
    } else if (d.rune == '"' || d.rune == '\\') {
      out += '\\';
      out += raw;
    } else if (const auto esc = ShortEscape(d.rune)) {
      out += '\\';
      out += *esc;
    } else if (d.rune < ' ' || d.rune == 0x7F) {
      out += "\\x";
      AppendHex(out, d.rune, 2);
    } else if (d.rune >= 0x80 && d.rune <= 0x9F) {
      out += "\\u";
      AppendHex(out, d.rune, 4);
    } else {
      out += raw;
    }
  }
  return out + "\"";
}

std::string EscapeControls(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (byte < 0x20 || byte == 0x7f) {
          out += "\\x";
          out += kHex[byte >> 4];
          out += kHex[byte & 0xf];
        } else {
          out += c;
        }
    }
  }
  return out;
}

namespace {
constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}
}  // namespace

std::string Base64Encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(in[k])); };
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out += kBase64Alphabet[v >> 18];
    out += kBase64Alphabet[(v >> 12) & 63];
    out += kBase64Alphabet[(v >> 6) & 63];
    out += kBase64Alphabet[v & 63];
  }
  if (const std::size_t rest = in.size() - i; rest > 0) {
    std::uint32_t v = byte(i) << 16;
    if (rest == 2) v |= byte(i + 1) << 8;
    out += kBase64Alphabet[v >> 18];
    out += kBase64Alphabet[(v >> 12) & 63];
    out += rest == 2 ? kBase64Alphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view in) {
  std::string clean;
  clean.reserve(in.size());
  for (char c : in) {
    if (c != '\r' && c != '\n') clean += c;
  }
  if (clean.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(clean.size() / 4 * 3);
  for (std::size_t i = 0; i < clean.size(); i += 4) {
    const bool last = i + 4 == clean.size();
    int pad = 0;
    std::uint32_t v = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const char c = clean[i + k];
      if (c == '=' && last && k >= 2) {
        // Padding only at the end: "xx==" or "xxx=".
        if (k == 2 && clean[i + 3] != '=') return std::nullopt;
        ++pad;
        v <<= 6;
        continue;
      }
      const int d = Base64Value(c);
      if (d < 0 || pad > 0) return std::nullopt;
      v = v << 6 | static_cast<std::uint32_t>(d);
    }
    out += static_cast<char>(v >> 16);
    if (pad < 2) out += static_cast<char>((v >> 8) & 0xFF);
    if (pad < 1) out += static_cast<char>(v & 0xFF);
  }
  return out;
}

std::optional<bool> GoParseBool(std::string_view text) {
  for (const char* t : {"1", "t", "T", "TRUE", "true", "True"}) {
    if (text == t) return true;
  }
  for (const char* f : {"0", "f", "F", "FALSE", "false", "False"}) {
    if (text == f) return false;
  }
  return std::nullopt;
}

}  // namespace drover
