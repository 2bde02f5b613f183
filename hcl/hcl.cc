// The HCL parser: a recursive descent over the lexer's tokens.
//
// Grammar (HCL2 native syntax; hclsyntax/spec.md):
//   Body         = (Attribute | Block)*
//   Attribute    = Ident "=" Value (Newline | EOF)
//   Block        = Ident (String | Ident)* "{" Newline Body "}" (Newline | EOF)
//                | Ident (String | Ident)* "{" (Ident "=" Value)? "}" (Newline | EOF)
//   Value        = String | Heredoc | "-"? Number | "true" | "false" | "null"
//                | "[" (Value ("," Value)* ","?)? "]"          newlines ignored
//                | "{" (Key ("=" | ":") Value sep)* "}"       sep: "," or newline
//   Key          = Ident | String
#include "hcl/hcl.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <map>
#include <utility>

#include "hcl/expr.h"
#include "hcl/lexer.h"

namespace drover::hcl {
namespace {

namespace json = boost::json;

// Refuses oversized input, a byte order mark, NUL bytes and invalid UTF-8
// (overlong forms, surrogates and code points past U+10FFFF included).
Status CheckEncoding(std::string_view src, std::string_view filename) {
  if (src.size() > kMaxSourceBytes) {
    return ErrorAt(filename, Pos{1, 1},
                   "input is " + std::to_string(src.size()) + " bytes; the limit is " +
                       std::to_string(kMaxSourceBytes));
  }
  if (src.substr(0, 3) == "\xEF\xBB\xBF") {
    return ErrorAt(filename, Pos{1, 1}, "a UTF-8 byte order mark is not allowed");
  }
  int line = 1;
  std::size_t line_start = 0;
  std::size_t i = 0;
  auto byte = [&](std::size_t k) {
    return k < src.size() ? static_cast<unsigned char>(src[k]) : 0u;
  };
  auto cont = [&](std::size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) {
    unsigned b = byte(k);
    return b >= lo && b <= hi;
  };
  while (i < src.size()) {
    const unsigned c = byte(i);
    std::size_t len = 0;
    if (c == '\n') {
      ++line;
      line_start = i + 1;
      len = 1;
    } else if (c == 0) {
      len = 0;
    } else if (c < 0x80) {
      len = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = cont(i + 1) ? 2 : 0;
    } else if (c >= 0xE0 && c <= 0xEF) {
      unsigned lo = c == 0xE0 ? 0xA0 : 0x80;
      unsigned hi = c == 0xED ? 0x9F : 0xBF;
      len = cont(i + 1, lo, hi) && cont(i + 2) ? 3 : 0;
    } else if (c >= 0xF0 && c <= 0xF4) {
      unsigned lo = c == 0xF0 ? 0x90 : 0x80;
      unsigned hi = c == 0xF4 ? 0x8F : 0xBF;
      len = cont(i + 1, lo, hi) && cont(i + 2) && cont(i + 3) ? 4 : 0;
    }
    if (len == 0) {
      Pos pos{line, static_cast<int>(i - line_start) + 1};
      return ErrorAt(filename, pos, c == 0 ? "NUL byte in input" : "invalid UTF-8");
    }
    i += len;
  }
  return Status::Ok();
}

class Parser {
 public:
  Parser(std::string_view source, std::string_view filename, bool expressions)
      : lexer_(source, filename), src_(source), filename_(filename),
        expressions_(expressions) {}
  // A template sequence's expression, lexed by `lexer` from inside `source`.
  Parser(Lexer lexer, std::string_view source, std::string_view filename, int depth)
      : lexer_(std::move(lexer)), src_(source), filename_(filename), expressions_(true),
        depth_(depth), nl_ignore_(1), in_template_(true) {}

  Result<Block> ParseFile() {
    RETURN_IF_ERROR(Advance());
    Block top;
    top.pos = Pos{1, 1};
    RETURN_IF_ERROR(ParseBody(&top, nullptr));
    return top;
  }

 private:
  Status Advance() {
    do {
      ASSIGN_OR_RETURN(tok_, lexer_.Next());
    } while (nl_ignore_ > 0 && tok_.kind == TokenKind::kNewline);
    return Status::Ok();
  }
  Status Error(Pos pos, std::string_view message) const {
    return ErrorAt(filename_, pos, message);
  }
  Status Unexpected(std::string_view expected) const {
    // Inside "${...}" the end of the input is the sequence's "}".
    const std::string found = in_template_ && Is(TokenKind::kEof) ? "\"}\"" : Describe(tok_);
    return Error(tok_.pos, "expected " + std::string(expected) + ", found " + found);
  }
  bool Is(TokenKind kind) const { return tok_.kind == kind; }
  Status SkipNewlines() {
    while (Is(TokenKind::kNewline)) RETURN_IF_ERROR(Advance());
    return Status::Ok();
  }
  Status Enter(Pos pos) {
    if (++depth_ > kMaxDepth) {
      return Error(pos, "nesting is deeper than " + std::to_string(kMaxDepth) + " levels");
    }
    return Status::Ok();
  }
  Status Missing(std::string_view closer, std::string_view what, Pos open) const {
    return Error(tok_.pos, "missing \"" + std::string(closer) + "\" to close the " +
                               std::string(what) + " opened at " + FormatPos(filename_, open));
  }

  // An attribute or a block ends its line.
  Status EndOfLine(std::string_view after) {
    if (Is(TokenKind::kEof)) return Status::Ok();
    if (!Is(TokenKind::kNewline)) return Unexpected("a newline after " + std::string(after));
    return Advance();
  }

  // Items until "}" (left for the caller) or, for the file (open == nullptr),
  // the end of the input.
  Status ParseBody(Block* block, const Pos* open) {
    std::map<std::string, Pos, std::less<>> seen;  // attribute name -> position
    for (;;) {
      RETURN_IF_ERROR(SkipNewlines());
      if (Is(TokenKind::kEof)) {
        if (open == nullptr) return Status::Ok();
        return Missing("}", "block", *open);
      }
      if (Is(TokenKind::kRBrace)) {
        if (open != nullptr) return Status::Ok();
        return Error(tok_.pos, "unexpected \"}\": no block is open");
      }
      if (!Is(TokenKind::kIdent)) return Unexpected("an attribute or block name");
      Token name = std::move(tok_);
      RETURN_IF_ERROR(Advance());
      if (Is(TokenKind::kEquals)) {
        RETURN_IF_ERROR(ParseAttribute(name, &seen, block));
        RETURN_IF_ERROR(EndOfLine("the attribute value"));
      } else if (Is(TokenKind::kString) || Is(TokenKind::kIdent) || Is(TokenKind::kLBrace)) {
        RETURN_IF_ERROR(ParseBlock(name, block));
      } else {
        return Unexpected("\"=\" or a block after " + QuoteForMessage(name.text));
      }
    }
  }

  // At "=" after `name`.
  Status ParseAttribute(const Token& name, std::map<std::string, Pos, std::less<>>* seen,
                        Block* block) {
    auto [it, inserted] = seen->try_emplace(std::string(name.text), name.pos);
    if (!inserted) {
      return Error(name.pos, "attribute " + QuoteForMessage(name.text) +
                                 " is already set at " + FormatPos(filename_, it->second));
    }
    RETURN_IF_ERROR(Advance());
    if (expressions_) {
      ASSIGN_OR_RETURN(ExprPtr expr, ParseExpr());
      json::value value = expr->kind == Expr::Kind::kLiteral ? expr->value : json::value();
      block->attributes.push_back(
          Attribute{std::string(name.text), std::move(value), name.pos, std::move(expr)});
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(json::value value, ParseValue());
    block->attributes.push_back(Attribute{std::string(name.text), std::move(value), name.pos});
    return Status::Ok();
  }

  // After the type name, at the first label or "{".
  Status ParseBlock(const Token& type, Block* parent) {
    Block block;
    block.type = std::string(type.text);
    block.pos = type.pos;
    while (Is(TokenKind::kString) || Is(TokenKind::kIdent)) {
      if (tok_.has_template) {
        return Error(tok_.pos, "template sequences are not allowed in block labels");
      }
      block.labels.push_back(Is(TokenKind::kString) ? std::move(tok_.value)
                                                    : std::string(tok_.text));
      RETURN_IF_ERROR(Advance());
    }
    if (!Is(TokenKind::kLBrace)) {
      return Unexpected("\"{\" to open block " + QuoteForMessage(block.type));
    }
    const Pos open = tok_.pos;
    RETURN_IF_ERROR(Enter(open));
    RETURN_IF_ERROR(Advance());
    if (Is(TokenKind::kNewline)) {
      RETURN_IF_ERROR(ParseBody(&block, &open));
    } else if (!Is(TokenKind::kRBrace)) {
      // A single-line block: one attribute at most.
      if (!Is(TokenKind::kIdent)) return Unexpected("an attribute, a newline or \"}\"");
      Token name = std::move(tok_);
      RETURN_IF_ERROR(Advance());
      if (Is(TokenKind::kString) || Is(TokenKind::kIdent) || Is(TokenKind::kLBrace)) {
        return Error(name.pos, "a single-line block can hold one attribute but no block; "
                               "put block " + QuoteForMessage(name.text) + " on its own line");
      }
      if (!Is(TokenKind::kEquals)) {
        return Unexpected("\"=\" after " + QuoteForMessage(name.text));
      }
      std::map<std::string, Pos, std::less<>> seen;
      RETURN_IF_ERROR(ParseAttribute(name, &seen, &block));
      if (!Is(TokenKind::kRBrace)) {
        return Unexpected("\"}\" after the attribute of a single-line block "
                          "(it can hold only one)");
      }
    }
    --depth_;
    RETURN_IF_ERROR(Advance());  // past "}"
    parent->blocks.push_back(std::move(block));
    return EndOfLine("the block's closing \"}\"");
  }

  Result<json::value> ParseValue() {
    json::value value;
    const Pos pos = tok_.pos;
    switch (tok_.kind) {
      case TokenKind::kString:
      case TokenKind::kHeredoc:
        value = json::string(tok_.value);
        RETURN_IF_ERROR(Advance());
        break;
      case TokenKind::kNumber: {
        ASSIGN_OR_RETURN(value, NumberValue(tok_.text, false, pos));
        RETURN_IF_ERROR(Advance());
        break;
      }
      case TokenKind::kMinus: {
        RETURN_IF_ERROR(Advance());
        if (!Is(TokenKind::kNumber)) {
          return Error(pos, "operators are not supported yet: found \"-\"");
        }
        ASSIGN_OR_RETURN(value, NumberValue(tok_.text, true, pos));
        RETURN_IF_ERROR(Advance());
        break;
      }
      case TokenKind::kIdent: {
        if (tok_.text == "true" || tok_.text == "false") {
          value = tok_.text == "true";
        } else if (tok_.text != "null") {
          if (tok_.text == "for") return Error(pos, "for expressions are not supported yet");
          const std::string name = QuoteForMessage(tok_.text);
          RETURN_IF_ERROR(Advance());
          if (Is(TokenKind::kLParen)) {
            return Error(pos, "function calls are not supported yet: " + name);
          }
          return Error(pos, "variables are not supported yet: " + name +
                                " (to give a string, quote it)");
        }
        RETURN_IF_ERROR(Advance());
        break;
      }
      case TokenKind::kLBrack: {
        ASSIGN_OR_RETURN(value, ParseList());
        break;
      }
      case TokenKind::kLBrace: {
        ASSIGN_OR_RETURN(value, ParseObject());
        break;
      }
      case TokenKind::kLParen:
        return Error(pos, "parenthesized expressions are not supported yet");
      case TokenKind::kOperator:
        return Error(pos, "operators are not supported yet: found " + Describe(tok_));
      default:
        return Unexpected("a value");
    }
    // Nothing may continue the expression.
    if (Is(TokenKind::kOperator) || Is(TokenKind::kMinus)) {
      return Error(tok_.pos, "operators are not supported yet: found " + Describe(tok_));
    }
    if (Is(TokenKind::kLBrack)) return Error(tok_.pos, "index expressions are not supported yet");
    return value;
  }

  // Integral literals within int64 become int64, others double; a literal
  // beyond double's range is refused.
  Result<json::value> NumberValue(std::string_view text, bool negative, Pos pos) const {
    std::string literal = (negative ? "-" : "") + std::string(text);
    const char* first = literal.data();
    const char* last = first + literal.size();
    if (text.find_first_of(".eE") == std::string_view::npos) {
      std::int64_t i = 0;
      auto [ptr, ec] = std::from_chars(first, last, i);
      if (ec == std::errc() && ptr == last) return json::value(i);
    }
    double d = 0;
    auto [ptr, ec] = std::from_chars(first, last, d);
    if (ec != std::errc() || ptr != last || !std::isfinite(d)) {
      return Error(pos, "number out of range: " + QuoteForMessage(literal));
    }
    if (d == std::trunc(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
      return json::value(static_cast<std::int64_t>(d));
    }
    return json::value(d);
  }

  Result<json::value> ParseList() {
    const Pos open = tok_.pos;
    RETURN_IF_ERROR(Enter(open));
    RETURN_IF_ERROR(Advance());
    json::array list;
    for (;;) {
      RETURN_IF_ERROR(SkipNewlines());
      if (Is(TokenKind::kRBrack)) break;
      if (Is(TokenKind::kEof)) return Missing("]", "list", open);
      ASSIGN_OR_RETURN(json::value element, ParseValue());
      list.push_back(std::move(element));
      RETURN_IF_ERROR(SkipNewlines());
      if (Is(TokenKind::kComma)) {
        RETURN_IF_ERROR(Advance());
      } else if (Is(TokenKind::kEof)) {
        return Missing("]", "list", open);
      } else if (!Is(TokenKind::kRBrack)) {
        return Unexpected("\",\" or \"]\" after a list element");
      }
    }
    --depth_;
    RETURN_IF_ERROR(Advance());  // past "]"
    return json::value(std::move(list));
  }

  Result<json::value> ParseObject() {
    const Pos open = tok_.pos;
    RETURN_IF_ERROR(Enter(open));
    RETURN_IF_ERROR(Advance());
    json::object object;
    std::vector<Pos> key_pos;  // parallel to `object`, which keeps source order
    for (;;) {
      RETURN_IF_ERROR(SkipNewlines());
      if (Is(TokenKind::kRBrace)) break;
      if (Is(TokenKind::kEof)) return Missing("}", "object", open);
      std::string key;
      if (Is(TokenKind::kIdent)) {
        key = std::string(tok_.text);
      } else if (Is(TokenKind::kString)) {
        key = std::move(tok_.value);
      } else if (Is(TokenKind::kLParen)) {
        return Error(tok_.pos, "computed object keys are not supported yet");
      } else {
        return Unexpected("an object key (a name or a quoted string)");
      }
      const Pos pos = tok_.pos;
      if (auto it = object.find(key); it != object.end()) {
        return Error(pos, "object key " + QuoteForMessage(key) + " is already set at " +
                              FormatPos(filename_, key_pos[it - object.begin()]));
      }
      RETURN_IF_ERROR(Advance());
      if (!Is(TokenKind::kEquals) && !Is(TokenKind::kColon)) {
        return Unexpected("\"=\" or \":\" after the object key");
      }
      RETURN_IF_ERROR(Advance());
      ASSIGN_OR_RETURN(json::value value, ParseValue());
      object.emplace(key, std::move(value));
      key_pos.push_back(pos);
      if (Is(TokenKind::kComma)) {
        RETURN_IF_ERROR(Advance());
      } else if (Is(TokenKind::kEof)) {
        return Missing("}", "object", open);
      } else if (!Is(TokenKind::kNewline) && !Is(TokenKind::kRBrace)) {
        return Unexpected("\",\", a newline or \"}\" after an object item");
      }
    }
    --depth_;
    RETURN_IF_ERROR(Advance());  // past "}"
    return json::value(std::move(object));
  }

  // ---- Expressions (ParseConfig) ----------------------------------------

  static ExprPtr Literal(json::value v, Pos pos) {
    auto e = std::make_shared<Expr>();
    e->kind = Expr::Kind::kLiteral;
    e->value = std::move(v);
    e->pos = pos;
    return e;
  }
  static std::shared_ptr<Expr> Node(Expr::Kind kind, Pos pos, std::string name = {}) {
    auto e = std::make_shared<Expr>();
    e->kind = kind;
    e->pos = pos;
    e->name = std::move(name);
    return e;
  }
  bool IsOp(std::string_view op) const {
    return (Is(TokenKind::kOperator) || Is(TokenKind::kMinus)) && tok_.text == op;
  }
  std::size_t Offset(const Token& t) const { return t.text.data() - src_.data(); }

  // Expr = Binary ("?" Expr ":" Expr)?
  Result<ExprPtr> ParseExpr() {
    RETURN_IF_ERROR(Enter(tok_.pos));
    ASSIGN_OR_RETURN(ExprPtr cond, ParseBinary(0));
    if (IsOp("?")) {
      auto e = Node(Expr::Kind::kConditional, tok_.pos);
      RETURN_IF_ERROR(Advance());
      ASSIGN_OR_RETURN(ExprPtr yes, ParseExpr());
      if (!Is(TokenKind::kColon)) return Unexpected("\":\" in a conditional expression");
      RETURN_IF_ERROR(Advance());
      ASSIGN_OR_RETURN(ExprPtr no, ParseExpr());
      e->args = {std::move(cond), std::move(yes), std::move(no)};
      cond = std::move(e);
    }
    --depth_;
    return cond;
  }

  // Binary operators by precedence, lowest first; all left-associative.
  Result<ExprPtr> ParseBinary(int level) {
    static constexpr std::string_view kLevels[][4] = {
        {"||"}, {"&&"}, {"==", "!="}, {"<", ">", "<=", ">="}, {"+", "-"}, {"*", "/", "%"}};
    constexpr int kCount = sizeof(kLevels) / sizeof(kLevels[0]);
    if (level == kCount) return ParseUnary();
    ASSIGN_OR_RETURN(ExprPtr left, ParseBinary(level + 1));
    for (;;) {
      std::string_view op;
      for (std::string_view candidate : kLevels[level]) {
        if (!candidate.empty() && IsOp(candidate)) op = candidate;
      }
      if (op.empty()) return left;
      auto e = Node(Expr::Kind::kBinary, tok_.pos, std::string(op));
      RETURN_IF_ERROR(Advance());
      ASSIGN_OR_RETURN(ExprPtr right, ParseBinary(level + 1));
      e->args = {std::move(left), std::move(right)};
      left = std::move(e);
    }
  }

  Result<ExprPtr> ParseUnary() {
    if (IsOp("-") || IsOp("!")) {
      const Pos pos = tok_.pos;
      auto e = Node(Expr::Kind::kUnary, pos, std::string(tok_.text));
      RETURN_IF_ERROR(Enter(pos));
      RETURN_IF_ERROR(Advance());
      if (e->name == "-" && Is(TokenKind::kNumber)) {  // a negative literal
        ASSIGN_OR_RETURN(json::value n, NumberValue(tok_.text, true, pos));
        RETURN_IF_ERROR(Advance());
        --depth_;
        return ParsePostfix(Literal(std::move(n), pos));
      }
      ASSIGN_OR_RETURN(ExprPtr operand, ParseUnary());
      e->args = {std::move(operand)};
      --depth_;
      return ExprPtr(std::move(e));
    }
    ASSIGN_OR_RETURN(ExprPtr primary, ParsePrimary());
    return ParsePostfix(std::move(primary));
  }

  // `.name`, `.0`, `[expr]` after a value. On a traversal they extend it
  // (and its source text, kept for runtime references).
  Result<ExprPtr> ParsePostfix(ExprPtr base) {
    for (;;) {
      const Pos pos = tok_.pos;
      ExprPtr key;
      std::size_t end = 0;
      if (IsOp(".")) {
        RETURN_IF_ERROR(Advance());
        if (Is(TokenKind::kIdent)) {
          key = Literal(json::string(tok_.text), tok_.pos);
        } else if (Is(TokenKind::kNumber) && tok_.text.find_first_of(".eE") == std::string::npos) {
          ASSIGN_OR_RETURN(json::value n, NumberValue(tok_.text, false, tok_.pos));
          key = Literal(std::move(n), tok_.pos);
        } else if (IsOp("*")) {
          return Error(pos, "splat expressions are not supported");
        } else {
          return Unexpected("an attribute name after \".\"");
        }
        end = Offset(tok_) + tok_.text.size();
        RETURN_IF_ERROR(Advance());
      } else if (Is(TokenKind::kLBrack)) {
        ++nl_ignore_;
        RETURN_IF_ERROR(Advance());
        if (IsOp("*")) return Error(pos, "splat expressions are not supported");
        ASSIGN_OR_RETURN(key, ParseExpr());
        if (!Is(TokenKind::kRBrack)) return Unexpected("\"]\" to close the index");
        end = Offset(tok_) + 1;
        --nl_ignore_;
        RETURN_IF_ERROR(Advance());
      } else {
        return base;
      }
      if (base->kind == Expr::Kind::kTraversal) {
        auto t = std::make_shared<Expr>(*base);
        t->args.push_back(std::move(key));
        t->text = std::string(src_.substr(t->offset, end - t->offset));
        base = std::move(t);
      } else {
        auto e = Node(Expr::Kind::kIndex, pos);
        e->args = {std::move(base), std::move(key)};
        base = std::move(e);
      }
    }
  }

  Result<ExprPtr> ParsePrimary() {
    const Pos pos = tok_.pos;
    switch (tok_.kind) {
      case TokenKind::kString:
      case TokenKind::kHeredoc: {
        Token t = std::move(tok_);
        RETURN_IF_ERROR(Advance());
        return TemplateExpr(t);
      }
      case TokenKind::kNumber: {
        ASSIGN_OR_RETURN(json::value n, NumberValue(tok_.text, false, pos));
        RETURN_IF_ERROR(Advance());
        return Literal(std::move(n), pos);
      }
      case TokenKind::kIdent: {
        const Token name = tok_;
        RETURN_IF_ERROR(Advance());
        if (name.text == "true" || name.text == "false") return Literal(name.text == "true", pos);
        if (name.text == "null") return Literal(nullptr, pos);
        if (Is(TokenKind::kLParen)) return ParseCall(name);
        if (name.text == "for") return Error(pos, "for expressions are not supported");
        auto e = Node(Expr::Kind::kTraversal, pos, std::string(name.text));
        e->text = std::string(name.text);
        e->offset = Offset(name);
        return ExprPtr(std::move(e));
      }
      case TokenKind::kLParen: {
        ++nl_ignore_;
        RETURN_IF_ERROR(Advance());
        ASSIGN_OR_RETURN(ExprPtr inner, ParseExpr());
        if (!Is(TokenKind::kRParen)) return Unexpected("\")\"");
        --nl_ignore_;
        RETURN_IF_ERROR(Advance());
        return inner;
      }
      case TokenKind::kLBrack: return ParseListExpr();
      case TokenKind::kLBrace: return ParseObjectExpr();
      default: return Unexpected("an expression");
    }
  }

  // Comma-separated expressions up to `close` (",", then the closer, is
  // allowed), after the opener at `open`. With `expansion`, the last item
  // may end in "..." (a function call's argument list).
  Status ParseItems(TokenKind close, std::string_view closer, std::string_view what, Pos open,
                    Expr* e, bool expansion) {
    ++nl_ignore_;
    RETURN_IF_ERROR(Advance());
    if (close == TokenKind::kRBrack && Is(TokenKind::kIdent) && tok_.text == "for") {
      return Error(tok_.pos, "for expressions are not supported");
    }
    const std::string after = "\",\" or \"" + std::string(closer) + "\" after " +
                              (expansion ? "a function argument" : "a list element");
    while (!Is(close)) {
      if (Is(TokenKind::kEof)) return Missing(closer, what, open);
      if (e->expand_final) return Unexpected("\"" + std::string(closer) + "\" after \"...\"");
      ASSIGN_OR_RETURN(ExprPtr item, ParseExpr());
      e->args.push_back(std::move(item));
      if (expansion && IsOp("...")) {
        e->expand_final = true;
        RETURN_IF_ERROR(Advance());
      }
      if (Is(TokenKind::kComma)) {
        RETURN_IF_ERROR(Advance());
      } else if (Is(TokenKind::kEof)) {
        return Missing(closer, what, open);
      } else if (!Is(close)) {
        return Unexpected(after);
      }
    }
    --nl_ignore_;
    return Advance();  // past the closer
  }

  // At "(" after a function name.
  Result<ExprPtr> ParseCall(const Token& name) {
    auto e = Node(Expr::Kind::kCall, name.pos, std::string(name.text));
    RETURN_IF_ERROR(ParseItems(TokenKind::kRParen, ")", "function call", tok_.pos, e.get(), true));
    return ExprPtr(std::move(e));
  }

  Result<ExprPtr> ParseListExpr() {
    auto e = Node(Expr::Kind::kList, tok_.pos);
    RETURN_IF_ERROR(ParseItems(TokenKind::kRBrack, "]", "list", tok_.pos, e.get(), false));
    return ExprPtr(std::move(e));
  }

  // Items are separated by "," or newlines, so newlines count again here.
  Result<ExprPtr> ParseObjectExpr() {
    auto e = Node(Expr::Kind::kObject, tok_.pos);
    const Pos open = tok_.pos;
    const int saved = nl_ignore_;
    nl_ignore_ = 0;
    RETURN_IF_ERROR(Advance());
    if (Is(TokenKind::kIdent) && tok_.text == "for") {
      return Error(tok_.pos, "for expressions are not supported");
    }
    for (;;) {
      RETURN_IF_ERROR(SkipNewlines());
      if (Is(TokenKind::kRBrace)) break;
      if (Is(TokenKind::kEof)) return Missing("}", "object", open);
      ExprPtr key;
      if (Is(TokenKind::kIdent)) {
        key = Literal(json::string(tok_.text), tok_.pos);
        RETURN_IF_ERROR(Advance());
      } else {
        ++nl_ignore_;  // a key expression ends at "=" or ":", never at a newline
        ASSIGN_OR_RETURN(key, ParseExpr());
        --nl_ignore_;
      }
      if (!Is(TokenKind::kEquals) && !Is(TokenKind::kColon)) {
        return Unexpected("\"=\" or \":\" after the object key");
      }
      RETURN_IF_ERROR(Advance());
      ASSIGN_OR_RETURN(ExprPtr value, ParseExpr());
      e->args.push_back(std::move(key));
      e->args.push_back(std::move(value));
      if (Is(TokenKind::kComma)) {
        RETURN_IF_ERROR(Advance());
      } else if (Is(TokenKind::kEof)) {
        return Missing("}", "object", open);
      } else if (!Is(TokenKind::kNewline) && !Is(TokenKind::kRBrace)) {
        return Unexpected("\",\", a newline or \"}\" after an object item");
      }
    }
    nl_ignore_ = saved;
    RETURN_IF_ERROR(Advance());  // past "}"
    return ExprPtr(std::move(e));
  }

  // A string or heredoc: a literal, or a template of literal parts and
  // "${...}" expressions parsed from their place in the source.
  Result<ExprPtr> TemplateExpr(const Token& t) {
    if (t.templates.empty()) return Literal(json::string(t.value), t.pos);
    auto e = Node(Expr::Kind::kTemplate, t.pos);
    std::size_t at = 0;
    for (const TemplateSeq& seq : t.templates) {
      const Pos seq_pos{seq.line, static_cast<int>(seq.src_begin - seq.line_start) + 1};
      if (seq.directive) {
        return Error(seq_pos, "template directives (%{...}) are not supported; "
                              "write %%{ for a literal %{");
      }
      if (seq.out_begin > at) {
        e->args.push_back(Literal(json::string(t.value.substr(at, seq.out_begin - at)), t.pos));
      }
      Lexer sub(src_.substr(0, seq.src_close), filename_, seq.src_begin + 2, seq.line,
                seq.line_start);
      Parser parser(std::move(sub), src_, filename_, depth_);
      RETURN_IF_ERROR(parser.Advance());
      if (parser.Is(TokenKind::kEof)) return Error(seq_pos, "empty template sequence \"${}\"");
      ASSIGN_OR_RETURN(ExprPtr inner, parser.ParseExpr());
      if (!parser.Is(TokenKind::kEof)) {
        return parser.Unexpected("\"}\" to end the template sequence");
      }
      e->args.push_back(std::move(inner));
      at = seq.out_end;
    }
    if (at < t.value.size()) {
      e->args.push_back(Literal(json::string(t.value.substr(at)), t.pos));
    }
    return ExprPtr(std::move(e));
  }


  Lexer lexer_;
  std::string_view src_;
  std::string_view filename_;
  bool expressions_ = false;
  Token tok_;
  int depth_ = 0;
  int nl_ignore_ = 0;  // > 0 inside (), [] and ${}: newlines are spaces
  bool in_template_ = false;
};

}  // namespace

const Attribute* Block::Find(std::string_view name) const {
  for (const Attribute& a : attributes) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

Result<Block> Parse(std::string_view source, std::string_view filename) {
  RETURN_IF_ERROR(CheckEncoding(source, filename));
  return Parser(source, filename, false).ParseFile();
}

Result<Block> ParseConfig(std::string_view source, std::string_view filename) {
  RETURN_IF_ERROR(CheckEncoding(source, filename));
  return Parser(source, filename, true).ParseFile();
}

}  // namespace drover::hcl
