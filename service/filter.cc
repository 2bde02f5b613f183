#include "service/filter.h"

#include <boost/json/value.hpp>
#include <boost/regex.hpp>
#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "common/text.h"

namespace drover {

namespace json = boost::json;

namespace filter_internal {

// go-bexpr's match operators, folded into a test and its negation:
// `contains` is `in` with the operands swapped.
enum class Test { kEqual, kContains, kIsEmpty, kIsNil, kMatches };

struct Selector {
  std::vector<std::string> path;
  std::string display;  // how go-bexpr names the selector in errors
};

struct Match {
  Selector selector;
  Test test = Test::kEqual;
  bool negated = false;
  std::string literal;  // the value as written; empty for `is ...`
  std::optional<boost::regex> regex;  // for `matches`
};

struct Not {
  std::unique_ptr<Expr> operand;
};

// `and` (all operands true) or `or` (any operand true), kept flat so that
// long chains cost neither parser nor evaluator stack.
struct Junction {
  bool all = true;
  std::vector<Expr> operands;
};

struct Expr {
  std::variant<Match, Not, Junction> node;
};

}  // namespace filter_internal

namespace {

using filter_internal::Expr;
using filter_internal::Junction;
using filter_internal::Match;
using filter_internal::Not;
using filter_internal::Selector;
using filter_internal::Test;

// ---- Helpers shared by the parser and the evaluator -------------------------

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsIdentifierChar(char c) {
  return IsAlpha(c) || IsDigit(c) || c == '_' || c == '/';
}

std::string Join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += separator;
    out += parts[i];
  }
  return out;
}

// ---- Errors with a position ---------------------------------------------------

// "line:column (offset)", as go-bexpr's parser (pigeon) prints it: columns
// count code points from 1, the offset counts bytes from 0.
std::string Position(std::string_view text, std::size_t offset) {
  int line = 1;
  int column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++column;
    }
  }
  return std::to_string(line) + ":" + std::to_string(column) + " (" +
         std::to_string(offset) + ")";
}

Status SyntaxError(std::string_view text, std::size_t offset, std::string_view message) {
  return InvalidArgument(Position(text, offset) + ": " + std::string(message));
}

Status RuleError(std::string_view text, std::size_t offset, std::string_view rule,
                 std::string_view message) {
  return SyntaxError(text, offset,
                     "rule \"" + std::string(rule) + "\": " + std::string(message));
}

// ---- String literals ------------------------------------------------------------

void AppendUtf8(char32_t code_point, std::string& out) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

std::optional<std::uint32_t> ParseRadix(std::string_view digits, int base) {
  std::uint32_t value = 0;
  const auto [end, error] =
      std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
  if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

// How many digits follow a numeric escape; 0 for any other escape.
std::size_t NumericEscapeWidth(char escape) {
  if (escape >= '0' && escape <= '7') return 3;
  switch (escape) {
    case 'x': return 2;
    case 'u': return 4;
    case 'U': return 8;
    default: return 0;
  }
}

// The escapes Go's strconv.Unquote accepts in a double-quoted string, which
// is what go-bexpr applies to its string literals.
std::optional<std::string> UnquoteGo(std::string_view body) {
  std::string out;
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\n') return std::nullopt;
    if (body[i] != '\\') {
      out += body[i];
      continue;
    }
    if (++i == body.size()) return std::nullopt;
    const char escape = body[i];
    switch (escape) {
      case 'a': out += '\a'; continue;
      case 'b': out += '\b'; continue;
      case 'f': out += '\f'; continue;
      case 'n': out += '\n'; continue;
      case 'r': out += '\r'; continue;
      case 't': out += '\t'; continue;
      case 'v': out += '\v'; continue;
      case '\\': out += '\\'; continue;
      case '"': out += '"'; continue;
      default: break;
    }
    // \xHH and \ooo are bytes; \uHHHH and \UHHHHHHHH are code points.
    const bool octal = escape >= '0' && escape <= '7';
    const std::size_t digits = octal ? i : i + 1;
    const std::size_t width = NumericEscapeWidth(escape);
    if (width == 0 || body.size() - digits < width) return std::nullopt;
    const std::optional<std::uint32_t> value =
        ParseRadix(body.substr(digits, width), octal ? 8 : 16);
    if (!value) return std::nullopt;
    i = digits + width - 1;
    if (octal || escape == 'x') {
      if (*value > 0xFF) return std::nullopt;
      out += static_cast<char>(*value);
    } else {
      if (*value > 0x10FFFF || (*value >= 0xD800 && *value <= 0xDFFF)) return std::nullopt;
      AppendUtf8(*value, out);
    }
  }
  return out;
}

// go-bexpr's JSON pointer selector: '"' ("/" [\pL\pN-_.~:|]+)* '"', whose
// parts are then unescaped per RFC 6901. Non-ASCII bytes stand in for \pL.
bool IsPointerChar(char c) {
  return IsAlpha(c) || IsDigit(c) || static_cast<unsigned char>(c) >= 0x80 || c == '-' ||
         c == '_' || c == '.' || c == '~' || c == ':' || c == '|';
}

std::string UnescapePointerPart(std::string_view part) {
  std::string out;
  for (std::size_t i = 0; i < part.size(); ++i) {
    if (part[i] == '~' && i + 1 < part.size() && (part[i + 1] == '0' || part[i + 1] == '1')) {
      out += part[i + 1] == '0' ? '~' : '/';
      ++i;
    } else {
      out += part[i];
    }
  }
  return out;
}

std::optional<std::vector<std::string>> ParsePointer(std::string_view body) {
  // An empty pointer still names one (empty) key, as pointerstructure parses "/".
  if (body.empty()) return std::vector<std::string>{""};
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i < body.size()) {
    if (body[i] != '/') return std::nullopt;
    const std::size_t start = ++i;
    while (i < body.size() && IsPointerChar(body[i])) ++i;
    if (i == start) return std::nullopt;
    parts.push_back(UnescapePointerPart(body.substr(start, i - start)));
  }
  return parts;
}

// ---- Tokens ---------------------------------------------------------------------

struct Token {
  enum class Kind {
    kEnd,
    kLeftParen,
    kRightParen,
    kEqual,
    kNotEqual,
    kWord,
    kString,
    kNumber,
    kOther,  // a character no token starts with
  };

  Kind kind = Kind::kEnd;
  std::size_t offset = 0;
  // kWord: the path joined with "." (its meaning as a value); kString: the
  // decoded text; kNumber: the literal as written.
  std::string text;
  std::vector<std::string> path;  // kWord, and a kString in pointer form
  bool plain = false;    // kWord: one identifier, so possibly a keyword
  bool pointer = false;  // kString: usable as a JSON pointer selector
};

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Result<std::vector<Token>> Tokenize() {
    std::vector<Token> tokens;
    do {
      ASSIGN_OR_RETURN(Token token, Next());
      tokens.push_back(std::move(token));
    } while (tokens.back().kind != Token::Kind::kEnd);
    return tokens;
  }

 private:
  bool At(char c, std::size_t ahead = 0) const {
    return pos_ + ahead < text_.size() && text_[pos_ + ahead] == c;
  }
  bool AtDigit(std::size_t ahead = 0) const {
    return pos_ + ahead < text_.size() && IsDigit(text_[pos_ + ahead]);
  }
  bool AtAlpha(std::size_t ahead = 0) const {
    return pos_ + ahead < text_.size() && IsAlpha(text_[pos_ + ahead]);
  }

  void SkipSpace() {
    while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
  }

  Result<Token> Next() {
    SkipSpace();
    Token token;
    token.offset = pos_;
    if (pos_ == text_.size()) return token;
    if (At('"') || At('`')) return LexString(std::move(token));
    if (At('-') || AtDigit()) return LexNumber(std::move(token));
    if (AtAlpha()) return LexSelector(std::move(token));
    token.kind = Token::Kind::kOther;
    if (At('(')) token.kind = Token::Kind::kLeftParen;
    if (At(')')) token.kind = Token::Kind::kRightParen;
    if (At('=') && At('=', 1)) token.kind = Token::Kind::kEqual;
    if (At('!') && At('=', 1)) token.kind = Token::Kind::kNotEqual;
    const bool two_chars =
        token.kind == Token::Kind::kEqual || token.kind == Token::Kind::kNotEqual;
    pos_ += two_chars ? 2 : 1;
    return token;
  }

  // A "..." or `...` literal at pos_, decoded.
  Result<std::string> LexQuoted() {
    const std::size_t start = pos_;
    const char quote = text_[pos_];
    std::size_t end = pos_ + 1;
    while (end < text_.size() && text_[end] != quote) {
      if (quote == '"' && text_[end] == '\\') ++end;  // an escaped character
      ++end;
    }
    if (end >= text_.size()) {
      return RuleError(text_, text_.size(), "string", "Unterminated string literal");
    }
    const std::string_view body = text_.substr(start + 1, end - start - 1);
    pos_ = end + 1;
    if (quote == '`') {
      std::string raw;
      for (char c : body) {
        if (c != '\r') raw += c;  // Go drops carriage returns from raw strings
      }
      return raw;
    }
    std::optional<std::string> decoded = UnquoteGo(body);
    if (!decoded) return RuleError(text_, start, "string", "invalid syntax");
    return std::move(*decoded);
  }

  Result<Token> LexString(Token token) {
    const std::size_t start = pos_;
    token.kind = Token::Kind::kString;
    ASSIGN_OR_RETURN(token.text, LexQuoted());
    if (text_[start] == '"') {
      std::optional<std::vector<std::string>> path =
          ParsePointer(text_.substr(start + 1, pos_ - start - 2));
      if (path) {
        token.pointer = true;
        token.path = std::move(*path);
      }
    }
    return token;
  }

  Result<Token> LexNumber(Token token) {
    const std::size_t start = pos_;
    if (At('-')) ++pos_;
    if (!AtDigit()) {
      pos_ = start + 1;
      token.kind = Token::Kind::kOther;
      return token;
    }
    if (At('0')) {
      ++pos_;
    } else {
      while (AtDigit()) ++pos_;
    }
    if (At('.') && AtDigit(1)) {
      ++pos_;
      while (AtDigit()) ++pos_;
    }
    // go-bexpr's AfterNumbers: a number ends at a space, ")" or the end.
    if (pos_ < text_.size() && !IsSpace(text_[pos_]) && !At(')')) {
      return RuleError(text_, pos_, "number", "Invalid number literal");
    }
    token.kind = Token::Kind::kNumber;
    token.text = std::string(text_.substr(start, pos_ - start));
    return token;
  }

  std::string LexRun(bool (*accept)(char)) {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && accept(text_[pos_])) ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }

  // `[ "key" ]` at pos_.
  Result<std::string> LexIndex() {
    ++pos_;
    SkipSpace();
    if (!At('"') && !At('`')) return RuleError(text_, pos_, "index", "Invalid index");
    ASSIGN_OR_RETURN(std::string key, LexQuoted());
    SkipSpace();
    if (!At(']')) return RuleError(text_, pos_, "index", "Unclosed index expression");
    ++pos_;
    return key;
  }

  Result<Token> LexSelector(Token token) {
    token.kind = Token::Kind::kWord;
    token.plain = true;
    token.path.push_back(LexRun(IsIdentifierChar));
    while (true) {
      if (At('.') && AtAlpha(1)) {
        ++pos_;
        token.path.push_back(LexRun(IsIdentifierChar));
      } else if (At('.') && AtDigit(1)) {
        ++pos_;
        token.path.push_back(LexRun(IsDigit));
      } else if (At('[')) {
        ASSIGN_OR_RETURN(std::string key, LexIndex());
        token.path.push_back(std::move(key));
      } else {
        break;
      }
      token.plain = false;
    }
    token.text = Join(token.path, ".");
    return token;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// ---- Parser ---------------------------------------------------------------------

constexpr std::string_view kExpectOperand =
    "no match found, expected: \"(\", \"not\", a selector, a number or a string";
constexpr std::string_view kExpectOperator =
    "no match found, expected: \"!=\", \"==\", \"contains\", \"in\", \"is\", \"matches\" "
    "or \"not\"";
constexpr std::string_view kExpectIn = "no match found, expected: \"in\" or \"not\"";

bool IsSelector(const Token& token) {
  return token.kind == Token::Kind::kWord || (token.kind == Token::Kind::kString && token.pointer);
}

bool IsOperand(const Token& token) {
  return token.kind == Token::Kind::kWord || token.kind == Token::Kind::kString ||
         token.kind == Token::Kind::kNumber;
}

bool IsKeyword(const Token& token, std::string_view word) {
  return token.kind == Token::Kind::kWord && token.plain && token.text == word;
}

Selector SelectorOf(const Token& token) {
  const bool pointer = token.kind == Token::Kind::kString;
  return Selector{token.path, Join(token.path, pointer ? "/" : ".")};
}

class Parser {
 public:
  Parser(std::string_view text, std::vector<Token> tokens)
      : text_(text), tokens_(std::move(tokens)) {}

  Result<Expr> Parse() {
    ASSIGN_OR_RETURN(Expr root, ParseOr(0));
    if (Peek().kind != Token::Kind::kEnd) {
      return SyntaxError(text_, Peek().offset,
                         "no match found, expected: \"and\", \"or\" or EOF");
    }
    return root;
  }

 private:
  using Level = Result<Expr> (Parser::*)(int depth);

  const Token& Peek(std::size_t ahead = 0) const {
    return tokens_[std::min(next_ + ahead, tokens_.size() - 1)];  // the last is kEnd
  }
  const Token& Take() {
    const Token& token = Peek();
    if (next_ + 1 < tokens_.size()) ++next_;
    return token;
  }

  // `and` binds tighter than `or`; both chain left to right.
  Result<Expr> ParseOr(int depth) {
    return ParseJunction("or", false, &Parser::ParseAnd, depth);
  }
  Result<Expr> ParseAnd(int depth) {
    return ParseJunction("and", true, &Parser::ParseUnary, depth);
  }

  Result<Expr> ParseJunction(std::string_view keyword, bool all, Level operand, int depth) {
    ASSIGN_OR_RETURN(Expr first, (this->*operand)(depth));
    if (!IsKeyword(Peek(), keyword)) return first;
    Junction junction{all, {}};
    junction.operands.push_back(std::move(first));
    while (IsKeyword(Peek(), keyword)) {
      Take();
      ASSIGN_OR_RETURN(Expr next, (this->*operand)(depth));
      junction.operands.push_back(std::move(next));
    }
    return Expr{std::move(junction)};
  }

  Result<Expr> ParseUnary(int depth) {
    if (depth > kMaxFilterDepth) {
      return RuleError(text_, Peek().offset, "grouping",
                       "expression nested deeper than " + std::to_string(kMaxFilterDepth) +
                           " levels");
    }
    // `not == x` compares a field named "not", as in go-bexpr.
    const Token::Kind after = Peek(1).kind;
    if (IsKeyword(Peek(), "not") && after != Token::Kind::kEqual &&
        after != Token::Kind::kNotEqual) {
      Take();
      ASSIGN_OR_RETURN(Expr operand, ParseUnary(depth + 1));
      return Expr{Not{std::make_unique<Expr>(std::move(operand))}};
    }
    if (Peek().kind == Token::Kind::kLeftParen) return ParseGroup(depth);
    return ParseMatch();
  }

  Result<Expr> ParseGroup(int depth) {
    Take();
    ASSIGN_OR_RETURN(Expr inner, ParseOr(depth + 1));
    const Token& close = Take();
    if (close.kind == Token::Kind::kRightParen) return inner;
    if (close.kind == Token::Kind::kEnd) {
      return RuleError(text_, close.offset, "grouping", "Unmatched parentheses");
    }
    return SyntaxError(text_, close.offset,
                       "no match found, expected: \")\", \"and\" or \"or\"");
  }

  Result<Expr> ParseMatch() {
    const Token& left = Take();
    if (!IsOperand(left)) return SyntaxError(text_, left.offset, kExpectOperand);
    const Token& op = Take();
    if (op.kind == Token::Kind::kEqual) return SelectorFirst(left, op, Test::kEqual, false);
    if (op.kind == Token::Kind::kNotEqual) return SelectorFirst(left, op, Test::kEqual, true);
    if (IsKeyword(op, "contains")) return SelectorFirst(left, op, Test::kContains, false);
    if (IsKeyword(op, "matches")) return SelectorFirst(left, op, Test::kMatches, false);
    if (IsKeyword(op, "is")) return ParseIs(left, op);
    if (IsKeyword(op, "in")) return ValueFirst(left, false);
    if (IsKeyword(op, "not")) {
      const Token& negated = Take();
      if (IsKeyword(negated, "contains")) return SelectorFirst(left, op, Test::kContains, true);
      if (IsKeyword(negated, "matches")) return SelectorFirst(left, op, Test::kMatches, true);
      if (IsKeyword(negated, "in")) return ValueFirst(left, true);
      return SyntaxError(text_, negated.offset,
                         "no match found, expected: \"contains\", \"in\" or \"matches\"");
    }
    return SyntaxError(text_, op.offset, IsSelector(left) ? kExpectOperator : kExpectIn);
  }

  // selector ("==" | "!=" | ["not"] "contains" | ["not"] "matches") value
  Result<Expr> SelectorFirst(const Token& selector, const Token& op, Test test, bool negated) {
    if (!IsSelector(selector)) return SyntaxError(text_, op.offset, kExpectIn);
    const Token& value = Take();
    if (!IsOperand(value)) {
      return SyntaxError(text_, value.offset,
                         "no match found, expected: a selector, a number or a string");
    }
    Match match{SelectorOf(selector), test, negated, value.text, std::nullopt};
    if (test == Test::kMatches) RETURN_IF_ERROR(CompileRegex(value, match));
    return Expr{std::move(match)};
  }

  // value ["not"] "in" selector
  Result<Expr> ValueFirst(const Token& value, bool negated) {
    const Token& selector = Take();
    if (IsSelector(selector)) {
      return Expr{Match{SelectorOf(selector), Test::kContains, negated, value.text, std::nullopt}};
    }
    if (IsOperand(selector)) return RuleError(text_, selector.offset, "match", "Invalid selector");
    return SyntaxError(text_, selector.offset, "no match found, expected: a selector");
  }

  // selector "is" ["not"] ("empty" | "nil")
  Result<Expr> ParseIs(const Token& selector, const Token& op) {
    if (!IsSelector(selector)) return SyntaxError(text_, op.offset, kExpectIn);
    const bool negated = IsKeyword(Peek(), "not");
    if (negated) Take();
    const Token& what = Take();
    Test test;
    if (IsKeyword(what, "empty")) {
      test = Test::kIsEmpty;
    } else if (IsKeyword(what, "nil")) {
      test = Test::kIsNil;
    } else {
      return SyntaxError(text_, what.offset,
                         negated ? "no match found, expected: \"empty\" or \"nil\""
                                 : "no match found, expected: \"empty\", \"nil\" or \"not\"");
    }
    return Expr{Match{SelectorOf(selector), test, negated, "", std::nullopt}};
  }

  // Perl syntax with Go's (RE2's) defaults: "." stops at newlines and "^",
  // "$" anchor the whole text. Boost.Regex runs without recursion and gives
  // up on pathological backtracking instead of exhausting the stack.
  Status CompileRegex(const Token& value, Match& match) {
    try {
      match.regex.emplace(match.literal, boost::regex::perl | boost::regex::no_mod_s |
                                             boost::regex::no_mod_m);
    } catch (const boost::regex_error& error) {
      return RuleError(text_, value.offset, "match",
                       "failed to compile regular expression " + GoQuote(match.literal) +
                           ": " + error.what());
    }
    return Status::Ok();
  }

  std::string_view text_;
  std::vector<Token> tokens_;
  std::size_t next_ = 0;
};

// ---- Evaluation -------------------------------------------------------------------

// Go's reflect kind names, which go-bexpr's messages use.
const char* KindName(const json::value& value) {
  switch (value.kind()) {
    case json::kind::null: return "invalid";
    case json::kind::bool_: return "bool";
    case json::kind::int64: return "int64";
    case json::kind::uint64: return "uint64";
    case json::kind::double_: return "float64";
    case json::kind::string: return "string";
    case json::kind::array: return "slice";
    case json::kind::object: return "map";
  }
  return "invalid";
}

std::string PointerText(const std::vector<std::string>& path, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    out += '/';
    for (char c : path[i]) {
      if (c == '~') {
        out += "~0";
      } else if (c == '/') {
        out += "~1";
      } else {
        out += c;
      }
    }
  }
  return out;
}

Status LookupError(const std::vector<std::string>& path, std::size_t part,
                   const std::string& reason) {
  return InvalidArgument("error finding value in datum: " + PointerText(path, path.size()) +
                         " at part " + std::to_string(part) + ": " + reason);
}

Result<const json::value*> ElementAt(const json::array& array,
                                     const std::vector<std::string>& path, std::size_t part) {
  const std::string& text = path[part];
  std::size_t index = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), index);
  if (error != std::errc() || end != text.data() + text.size()) {
    return LookupError(path, part, "couldn't convert " + GoQuote(text) + " to an index");
  }
  if (index >= array.size()) {
    return LookupError(path, part,
                       "index " + text + " is out of range (length = " +
                           std::to_string(array.size()) + ")");
  }
  return &array[index];
}

// The value a selector names, or nullptr when it is "not present": the
// last key, below the top level, is missing from an object or its parent
// is null. go-bexpr draws the line at the same place (evaluateNotPresent).
Result<const json::value*> Resolve(const std::vector<std::string>& path, const json::value& root) {
  const json::value* current = &root;
  for (std::size_t part = 0; part < path.size(); ++part) {
    const bool forgivable = part > 0 && part + 1 == path.size();
    if (current->is_object()) {
      const json::value* child = current->get_object().if_contains(path[part]);
      if (child != nullptr) {
        current = child;
        continue;
      }
      if (forgivable) return nullptr;
      return LookupError(path, part, "couldn't find key " + GoQuote(path[part]));
    }
    if (current->is_null() && forgivable) return nullptr;
    if (current->is_array()) {
      ASSIGN_OR_RETURN(current, ElementAt(current->get_array(), path, part));
      continue;
    }
    return LookupError(path, part, std::string("invalid value kind: ") + KindName(*current));
  }
  return current;
}

// A number held exactly when it is an integer, as both JSON and go-bexpr's
// literals can be.
struct Number {
  bool integral = false;
  bool negative = false;
  std::uint64_t magnitude = 0;
  double real = 0;
};

Number FromInt(std::int64_t value) {
  const bool negative = value < 0;
  const std::uint64_t magnitude =
      negative ? 0 - static_cast<std::uint64_t>(value) : static_cast<std::uint64_t>(value);
  return Number{true, negative, magnitude, static_cast<double>(value)};
}

Number FromUint(std::uint64_t value) {
  return Number{true, false, value, static_cast<double>(value)};
}

template <typename T>
bool ParseWhole(std::string_view text, T& out) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

std::optional<Number> ParseNumber(std::string_view text) {
  if (std::int64_t i; ParseWhole(text, i)) return FromInt(i);
  if (std::uint64_t u; ParseWhole(text, u)) return FromUint(u);
  if (double d; ParseWhole(text, d)) return Number{false, false, 0, d};
  return std::nullopt;
}

Number FromJson(const json::value& value) {
  if (value.is_int64()) return FromInt(value.get_int64());
  if (value.is_uint64()) return FromUint(value.get_uint64());
  return Number{false, false, 0, value.get_double()};
}

bool SameNumber(const Number& a, const Number& b) {
  if (a.integral && b.integral) {
    return a.magnitude == b.magnitude && (a.negative == b.negative || a.magnitude == 0);
  }
  return a.real == b.real;
}


// Compares a scalar with a literal converted to the scalar's type; nullopt
// when the literal does not convert or `value` is not a scalar.
std::optional<bool> ScalarEquals(const json::value& value, const std::string& literal) {
  switch (value.kind()) {
    case json::kind::string:
      return value.get_string() == literal;
    case json::kind::bool_: {
      const std::optional<bool> wanted = GoParseBool(literal);
      if (!wanted) return std::nullopt;
      return *wanted == value.get_bool();
    }
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: {
      const std::optional<Number> wanted = ParseNumber(literal);
      if (!wanted) return std::nullopt;
      return SameNumber(FromJson(value), *wanted);
    }
    default:
      return std::nullopt;
  }
}

Result<bool> Equals(const Match& match, const json::value& value) {
  if (std::optional<bool> same = ScalarEquals(value, match.literal)) return *same;
  if (value.is_bool()) {
    return InvalidArgument("error getting match value in expression: strconv.ParseBool: parsing " +
                           GoQuote(match.literal) + ": invalid syntax");
  }
  if (value.is_number()) {
    return InvalidArgument(
        "error getting match value in expression: strconv.ParseFloat: parsing " +
        GoQuote(match.literal) + ": invalid syntax");
  }
  return InvalidArgument("unable to find suitable primitive comparison function for matching");
}

// As go-bexpr does for []interface{}: elements the literal does not convert
// to are skipped; elements that are themselves containers cannot be compared.
Result<bool> ArrayContains(const json::array& array, const std::string& literal) {
  for (const json::value& element : array) {
    if (element.is_array() || element.is_object()) {
      return InvalidArgument(
          std::string("unable to find suitable primitive comparison function for \"in\" "
                      "comparison in interface slice: ") +
          KindName(element));
    }
    if (ScalarEquals(element, literal).value_or(false)) return true;
  }
  return false;
}

Status UnsupportedType(std::string_view operation, const Match& match, const json::value& value) {
  return InvalidArgument("cannot perform " + std::string(operation) + " operations on type " +
                         KindName(value) + " for selector: " + GoQuote(match.selector.display));
}

Result<bool> Contains(const Match& match, const json::value& value) {
  switch (value.kind()) {
    case json::kind::string:
      return std::string_view(value.get_string().data(), value.get_string().size())
                 .find(match.literal) != std::string_view::npos;
    case json::kind::object:
      return value.get_object().contains(match.literal);
    case json::kind::array:
      return ArrayContains(value.get_array(), match.literal);
    case json::kind::null:
      return false;  // a nil slice or map holds nothing
    default:
      return UnsupportedType("in/contains", match, value);
  }
}

Result<bool> IsEmpty(const Match& match, const json::value& value) {
  switch (value.kind()) {
    case json::kind::string: return value.get_string().empty();
    case json::kind::array: return value.get_array().empty();
    case json::kind::object: return value.get_object().empty();
    case json::kind::null: return true;
    default: return UnsupportedType("is-empty", match, value);
  }
}

Result<bool> IsNil(const Match& match, const json::value& value) {
  switch (value.kind()) {
    case json::kind::null: return true;
    case json::kind::array:
    case json::kind::object: return false;
    default: return UnsupportedType("is-nil", match, value);
  }
}

Result<bool> RegexMatches(const Match& match, const json::value& value) {
  if (!value.is_string()) {
    return InvalidArgument(std::string("value of type ") + KindName(value) +
                           " is not convertible to []byte");
  }
  const json::string& text = value.get_string();
  try {
    return boost::regex_search(text.begin(), text.end(), *match.regex, boost::match_any);
  } catch (const std::runtime_error& error) {  // Boost.Regex's complexity limit
    return InvalidArgument("failed to evaluate regular expression " + GoQuote(match.literal) +
                           ": " + error.what());
  }
}

Result<bool> RunTest(const Match& match, const json::value& value) {
  switch (match.test) {
    case Test::kEqual: return Equals(match, value);
    case Test::kContains: return Contains(match, value);
    case Test::kIsEmpty: return IsEmpty(match, value);
    case Test::kIsNil: return IsNil(match, value);
    case Test::kMatches: return RegexMatches(match, value);
  }
  return Internal("unknown filter test");
}

// go-bexpr's NotPresentDisposition: an absent value is empty and nil, and
// equals, contains and matches nothing.
bool TestAbsent(Test test) { return test == Test::kIsEmpty || test == Test::kIsNil; }

Result<bool> EvaluateMatch(const Match& match, const json::value& root) {
  ASSIGN_OR_RETURN(const json::value* value, Resolve(match.selector.path, root));
  if (value == nullptr) return TestAbsent(match.test) != match.negated;
  ASSIGN_OR_RETURN(bool result, RunTest(match, *value));
  return result != match.negated;
}

Result<bool> EvaluateExpr(const Expr& expr, const json::value& root) {
  if (const auto* match = std::get_if<Match>(&expr.node)) return EvaluateMatch(*match, root);
  if (const auto* negation = std::get_if<Not>(&expr.node)) {
    ASSIGN_OR_RETURN(bool operand, EvaluateExpr(*negation->operand, root));
    return !operand;
  }
  const auto& junction = std::get<Junction>(expr.node);
  for (const Expr& operand : junction.operands) {
    ASSIGN_OR_RETURN(bool result, EvaluateExpr(operand, root));
    if (result != junction.all) return result;  // short-circuit, left to right
  }
  return junction.all;
}

}  // namespace

Result<Filter> Filter::Parse(std::string_view expression) {
  ASSIGN_OR_RETURN(std::vector<Token> tokens, Lexer(expression).Tokenize());
  ASSIGN_OR_RETURN(Expr root, Parser(expression, std::move(tokens)).Parse());
  return Filter(std::make_shared<const Expr>(std::move(root)));
}

Result<bool> Filter::Evaluate(const json::value& object) const {
  return EvaluateExpr(*root_, object);
}

bool Filter::Matches(const json::value& object) const {
  const Result<bool> result = Evaluate(object);
  return result.ok() && *result;
}

}  // namespace drover
