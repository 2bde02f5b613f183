#include "common/text.h"

namespace drover {
namespace {

void AppendEscaped(std::string& out, std::string_view text, bool quoting) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += quoting ? "\\\"" : "\""; break;
      case '\\': out += quoting ? "\\\\" : "\\"; break;
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
}

}  // namespace

std::string GoQuote(std::string_view text) {
  std::string out = "\"";
  AppendEscaped(out, text, /*quoting=*/true);
  return out + "\"";
}

std::string EscapeControls(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  AppendEscaped(out, text, /*quoting=*/false);
  return out;
}

}  // namespace drover
