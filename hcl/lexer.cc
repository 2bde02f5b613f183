#include "hcl/lexer.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

namespace drover::hcl {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c) || c == '-'; }
bool IsHeredocSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(std::uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// The code point starting at s[0] of valid UTF-8, as "U+XXXX".
std::string CodePointName(std::string_view s) {
  auto b = [&](std::size_t i) {
    return i < s.size() ? static_cast<unsigned char>(s[i]) : 0u;
  };
  std::uint32_t cp = b(0);
  if (cp >= 0xF0) {
    cp = ((cp & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
  } else if (cp >= 0xE0) {
    cp = ((cp & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
  } else if (cp >= 0xC0) {
    cp = ((cp & 0x1F) << 6) | (b(1) & 0x3F);
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(cp));
  return buf;
}

}  // namespace

std::string QuoteForMessage(std::string_view s) {
  constexpr std::size_t kMax = 64;
  std::string out = "\"";
  std::size_t i = 0;
  for (; i < s.size() && i < kMax; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (i < s.size()) {
    // Never end inside a UTF-8 sequence.
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) {
      out.pop_back();
    }
    if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xC0) out.pop_back();
    out += "...";
  }
  out += '"';
  return out;
}

std::string Describe(const Token& token) {
  switch (token.kind) {
    case TokenKind::kEof: return "end of file";
    case TokenKind::kNewline: return "newline";
    case TokenKind::kIdent: return "name " + QuoteForMessage(token.text);
    case TokenKind::kNumber: return "number " + std::string(token.text.substr(0, 64));
    case TokenKind::kString: return "a string";
    case TokenKind::kHeredoc: return "a heredoc";
    case TokenKind::kLBrace:
    case TokenKind::kRBrace:
    case TokenKind::kLBrack:
    case TokenKind::kRBrack:
    case TokenKind::kLParen:
    case TokenKind::kRParen:
    case TokenKind::kEquals:
    case TokenKind::kColon:
    case TokenKind::kComma:
    case TokenKind::kMinus:
    case TokenKind::kOperator: return "\"" + std::string(token.text) + "\"";
  }
  return "a token";
}

std::string FormatPos(std::string_view filename, Pos pos) {
  return std::string(filename) + ":" + std::to_string(pos.line) + ":" +
         std::to_string(pos.column);
}

Status ErrorAt(std::string_view filename, Pos pos, std::string_view message) {
  return InvalidArgument(FormatPos(filename, pos) + ": " + std::string(message));
}

Pos Lexer::PosAt(std::size_t offset) const {
  return Pos{line_, static_cast<int>(offset - line_start_) + 1};
}

void Lexer::AdvanceTo(std::size_t offset) {
  for (; off_ < offset; ++off_) {
    if (src_[off_] == '\n') {
      ++line_;
      line_start_ = off_ + 1;
    }
  }
}

Status Lexer::SkipSpaceAndBlockComments() {
  while (off_ < src_.size()) {
    char c = src_[off_];
    if (c == ' ' || c == '\t') {
      ++off_;
    } else if (At(off_, "/*")) {
      std::size_t end = src_.find("*/", off_ + 2);
      if (end == std::string_view::npos) {
        return ErrorAt(filename_, PosAt(off_), "unterminated /* comment");
      }
      AdvanceTo(end + 2);
    } else {
      break;
    }
  }
  return Status::Ok();
}

Result<Token> Lexer::Next() {
  RETURN_IF_ERROR(SkipSpaceAndBlockComments());
  Token t;
  t.pos = PosAt(off_);
  if (off_ >= src_.size()) return t;
  const std::size_t start = off_;
  const char c = src_[off_];
  const char next = off_ + 1 < src_.size() ? src_[off_ + 1] : '\0';
  auto single = [&](TokenKind kind, std::size_t len) {
    t.kind = kind;
    t.text = src_.substr(start, len);
    AdvanceTo(start + len);
  };
  switch (c) {
    case '\n': single(TokenKind::kNewline, 1); return t;
    case '\r':
      if (next != '\n') return ErrorAt(filename_, t.pos, "carriage return without a line feed");
      single(TokenKind::kNewline, 2);
      return t;
    case '#':
    case '/':
      if (c == '#' || next == '/') {  // a line comment counts as a newline
        std::size_t end = src_.find('\n', off_);
        single(TokenKind::kNewline, end == std::string_view::npos ? src_.size() - start
                                                                  : end + 1 - start);
        return t;
      }
      single(TokenKind::kOperator, 1);
      return t;
    case '"': RETURN_IF_ERROR(LexString(&t)); return t;
    case '<':
      if (next == '<') {
        RETURN_IF_ERROR(LexHeredoc(&t));
        return t;
      }
      single(TokenKind::kOperator, next == '=' ? 2 : 1);
      return t;
    case '{': single(TokenKind::kLBrace, 1); return t;
    case '}': single(TokenKind::kRBrace, 1); return t;
    case '[': single(TokenKind::kLBrack, 1); return t;
    case ']': single(TokenKind::kRBrack, 1); return t;
    case '(': single(TokenKind::kLParen, 1); return t;
    case ')': single(TokenKind::kRParen, 1); return t;
    case ',': single(TokenKind::kComma, 1); return t;
    case ':': single(TokenKind::kColon, 1); return t;
    case '-': single(TokenKind::kMinus, 1); return t;
    case '=':
      if (next == '=' || next == '>') {
        single(TokenKind::kOperator, 2);
      } else {
        single(TokenKind::kEquals, 1);
      }
      return t;
    case '!':
    case '>': single(TokenKind::kOperator, next == '=' ? 2 : 1); return t;
    case '&':
    case '|':
      if (next != c) break;
      single(TokenKind::kOperator, 2);
      return t;
    case '+':
    case '*':
    case '%':
    case '?': single(TokenKind::kOperator, 1); return t;
    case '.': single(TokenKind::kOperator, At(off_, "...") ? 3 : 1); return t;
    case '\'':
      return ErrorAt(filename_, t.pos,
                     "single quotes are not valid; use double quotes (\") to enclose strings");
    default:
      if (IsDigit(c)) {
        RETURN_IF_ERROR(LexNumber(&t));
        return t;
      }
      if (IsIdentStart(c)) {
        std::size_t end = off_ + 1;
        while (end < src_.size() && IsIdentChar(src_[end])) ++end;
        single(TokenKind::kIdent, end - start);
        return t;
      }
      break;
  }
  std::string what = (c > 0x20 && c < 0x7F) ? "\"" + std::string(1, c) + "\""
                     : static_cast<unsigned char>(c) < 0x80
                         ? CodePointName(src_.substr(off_, 1))
                         : CodePointName(src_.substr(off_, 4));
  return ErrorAt(filename_, t.pos, "unexpected character " + what);
}

Status Lexer::LexNumber(Token* token) {
  const std::size_t start = off_;
  std::size_t i = off_;
  auto digits = [&] {
    while (i < src_.size() && IsDigit(src_[i])) ++i;
  };
  digits();
  if (i + 1 < src_.size() && src_[i] == '.' && IsDigit(src_[i + 1])) {
    ++i;
    digits();
  }
  if (i < src_.size() && (src_[i] == 'e' || src_[i] == 'E')) {
    std::size_t j = i + 1;
    if (j < src_.size() && (src_[j] == '+' || src_[j] == '-')) ++j;
    if (j < src_.size() && IsDigit(src_[j])) {
      i = j;
      digits();
    }
  }
  if (i < src_.size() && IsIdentChar(src_[i]) && src_[i] != '-') {
    std::size_t end = i;
    while (end < src_.size() && IsIdentChar(src_[end])) ++end;
    return ErrorAt(filename_, token->pos,
                   "malformed number " + QuoteForMessage(src_.substr(start, end - start)));
  }
  token->kind = TokenKind::kNumber;
  token->text = src_.substr(start, i - start);
  AdvanceTo(i);
  return Status::Ok();
}

Status Lexer::CopyTemplateSequence(Token* token, std::string* out) {
  const std::size_t start = off_;
  const Pos start_pos = PosAt(off_);
  TemplateSeq seq;
  seq.out_begin = out->size();
  seq.src_begin = start;
  seq.line = line_;
  seq.line_start = line_start_;
  seq.directive = src_[start] == '%';
  // What encloses the current byte: 'b' braces of an expression (the first
  // is the sequence's own), 's' a quoted string inside the expression.
  std::vector<char> stack{'b'};
  AdvanceTo(off_ + 2);
  while (!stack.empty()) {
    if (off_ >= src_.size()) {
      return ErrorAt(filename_, start_pos, "unterminated template sequence: missing \"}\"");
    }
    if (stack.size() > static_cast<std::size_t>(kMaxDepth)) {
      return ErrorAt(filename_, start_pos, "template sequence nested too deeply");
    }
    const char c = src_[off_];
    const char next = off_ + 1 < src_.size() ? src_[off_ + 1] : '\0';
    if (stack.back() == 's') {
      if (c == '\n') {
        return ErrorAt(filename_, start_pos, "unterminated string inside template sequence");
      }
      if (c == '"') {
        stack.pop_back();
      } else if (c == '\\' && next != '\n' && next != '\0') {
        AdvanceTo(off_ + 1);
      } else if ((c == '$' || c == '%') && next == c && At(off_ + 2, "{")) {
        AdvanceTo(off_ + 2);
      } else if ((c == '$' || c == '%') && next == '{') {
        stack.push_back('b');
        AdvanceTo(off_ + 1);
      }
    } else if (c == '{') {
      stack.push_back('b');
    } else if (c == '}') {
      stack.pop_back();
    } else if (c == '"') {
      stack.push_back('s');
    }
    AdvanceTo(off_ + 1);
  }
  out->append(src_.substr(start, off_ - start));
  seq.out_end = out->size();
  seq.src_close = off_ - 1;
  token->templates.push_back(seq);
  return Status::Ok();
}

Status Lexer::LexString(Token* token) {
  const std::size_t start = off_;
  const Pos start_pos = token->pos;
  std::string out;
  AdvanceTo(off_ + 1);
  for (;;) {
    // Copy a run of plain bytes at once.
    std::size_t run = off_;
    while (run < src_.size() && std::strchr("\"\\$%\n", src_[run]) == nullptr) ++run;
    out.append(src_.substr(off_, run - off_));
    AdvanceTo(run);
    if (off_ >= src_.size() || src_[off_] == '\n') {
      return ErrorAt(filename_, start_pos,
                     "unterminated string (a quoted string ends on its line; "
                     "use \\n or a heredoc for more lines)");
    }
    const char c = src_[off_];
    const char next = off_ + 1 < src_.size() ? src_[off_ + 1] : '\0';
    if (c == '"') {
      AdvanceTo(off_ + 1);
      break;
    }
    if (c == '$' || c == '%') {
      if (next == c && At(off_ + 2, "{")) {  // $${ and %%{ are literal ${ and %{
        out += c;
        out += '{';
        AdvanceTo(off_ + 3);
      } else if (next == '{') {
        RETURN_IF_ERROR(CopyTemplateSequence(token, &out));
        token->has_template = true;
      } else {
        out += c;
        AdvanceTo(off_ + 1);
      }
      continue;
    }
    // A backslash escape.
    const Pos escape_pos = PosAt(off_);
    std::size_t hex_digits = 0;
    switch (next) {
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case 'u': hex_digits = 4; break;
      case 'U': hex_digits = 8; break;
      case '\0':
      case '\n':
        return ErrorAt(filename_, start_pos, "unterminated string");
      default: {
        std::string shown = (next > 0x20 && next < 0x7F) ? std::string(1, next) : "";
        return ErrorAt(filename_, escape_pos,
                       shown.empty() ? "invalid escape sequence"
                                     : "invalid escape sequence \"\\" + shown + "\"");
      }
    }
    if (hex_digits == 0) {
      AdvanceTo(off_ + 2);
      continue;
    }
    std::uint32_t cp = 0;
    for (std::size_t k = 0; k < hex_digits; ++k) {
      std::size_t at = off_ + 2 + k;
      int h = at < src_.size() ? HexValue(src_[at]) : -1;
      if (h < 0) {
        return ErrorAt(filename_, escape_pos,
                       std::string("\\") + next + " must be followed by " +
                           std::to_string(hex_digits) + " hexadecimal digits");
      }
      cp = cp * 16 + static_cast<std::uint32_t>(h);
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return ErrorAt(filename_, escape_pos,
                     "invalid Unicode code point " +
                         QuoteForMessage(src_.substr(off_, 2 + hex_digits)));
    }
    AppendUtf8(cp, &out);
    AdvanceTo(off_ + 2 + hex_digits);
  }
  token->kind = TokenKind::kString;
  token->text = src_.substr(start, off_ - start);
  token->value = std::move(out);
  return Status::Ok();
}

Status Lexer::LexHeredoc(Token* token) {
  const std::size_t start = off_;
  const Pos start_pos = token->pos;
  std::size_t i = off_ + 2;
  const bool flush = i < src_.size() && src_[i] == '-';
  if (flush) ++i;
  const std::size_t marker_start = i;
  if (i >= src_.size() || !IsIdentStart(src_[i])) {
    return ErrorAt(filename_, start_pos, "expected a heredoc marker name after \"<<\"");
  }
  while (i < src_.size() && IsIdentChar(src_[i])) ++i;
  const std::string_view marker = src_.substr(marker_start, i - marker_start);
  if (At(i, "\r\n")) {
    i += 2;
  } else if (At(i, "\n")) {
    i += 1;
  } else {
    return ErrorAt(filename_, PosAt(i), "a heredoc marker must be followed by a newline");
  }
  AdvanceTo(i);

  struct Line {
    std::size_t out_start;  // where the line begins in `out`
    std::size_t spaces;     // leading whitespace bytes
    bool blank;             // only whitespace: ignored for the indent
  };
  std::vector<Line> lines;
  std::string out;
  bool line_start = true;
  for (;;) {
    if (off_ >= src_.size()) {
      return ErrorAt(filename_, start_pos,
                     "unterminated heredoc: no closing " + QuoteForMessage(marker) + " line");
    }
    if (line_start) {
      line_start = false;
      std::size_t j = off_;
      while (j < src_.size() && (src_[j] == ' ' || src_[j] == '\t')) ++j;
      if (At(j, marker)) {
        std::size_t end = j + marker.size();
        while (end < src_.size() && (src_[end] == ' ' || src_[end] == '\t')) ++end;
        if (end == src_.size() || At(end, "\n") || At(end, "\r\n")) {
          AdvanceTo(end);  // the newline after the marker ends the attribute
          break;
        }
      }
      if (flush) {
        std::size_t k = off_;
        while (k < src_.size() && IsHeredocSpace(src_[k])) ++k;
        lines.push_back({out.size(), k - off_, k < src_.size() && src_[k] == '\n'});
      }
    }
    const char c = src_[off_];
    const char next = off_ + 1 < src_.size() ? src_[off_ + 1] : '\0';
    if (c == '\n') {
      out += '\n';
      AdvanceTo(off_ + 1);
      line_start = true;
    } else if ((c == '$' || c == '%') && next == c && At(off_ + 2, "{")) {
      out += c;
      out += '{';
      AdvanceTo(off_ + 3);
    } else if ((c == '$' || c == '%') && next == '{') {
      RETURN_IF_ERROR(CopyTemplateSequence(token, &out));
    } else {
      std::size_t run = off_ + 1;
      while (run < src_.size() && src_[run] != '\n' && src_[run] != '$' && src_[run] != '%') {
        ++run;
      }
      out.append(src_.substr(off_, run - off_));
      AdvanceTo(run);
    }
  }

  if (flush) {
    // Remove the smallest indent of the non-blank lines from each of them.
    std::size_t indent = std::string::npos;
    for (const Line& l : lines) {
      if (!l.blank && l.spaces < indent) indent = l.spaces;
    }
    if (indent != std::string::npos && indent > 0) {
      // Template sequences move left by the indent of each line stripped
      // before them.
      std::size_t line = 0;
      std::size_t removed = 0;
      for (TemplateSeq& seq : token->templates) {
        while (line < lines.size() && lines[line].out_start <= seq.out_begin) {
          if (!lines[line].blank) removed += indent;
          ++line;
        }
        seq.out_begin -= removed;
        seq.out_end -= removed;
      }
      std::string stripped;
      stripped.reserve(out.size());
      for (std::size_t n = 0; n < lines.size(); ++n) {
        std::size_t from = lines[n].out_start;
        std::size_t to = n + 1 < lines.size() ? lines[n + 1].out_start : out.size();
        if (!lines[n].blank) from += indent;
        stripped.append(out, from, to - from);
      }
      out = std::move(stripped);
    }
  }
  token->kind = TokenKind::kHeredoc;
  token->text = src_.substr(start, off_ - start);
  token->value = std::move(out);
  return Status::Ok();
}

}  // namespace drover::hcl
