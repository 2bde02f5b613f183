// The HCL lexer: turns source text into tokens, one at a time. Strings and
// heredocs come out whole, with escapes decoded and template sequences kept
// verbatim. Internal to drover_hcl.
//
// Token grammar (HCL2 native syntax, hclsyntax/spec.md):
//   Newline   = "\n" | "\r\n" | line comment ("#" or "//" to end of line)
//   Ident     = [A-Za-z_] [A-Za-z0-9_-]*          (ASCII only)
//   Number    = digit+ ("." digit+)? ([eE] [+-]? digit+)?
//   String    = '"' (char | escape | template)* '"'    (one line)
//   Heredoc   = "<<" "-"? Ident Newline line* [ \t]* Ident [ \t]* (Newline | EOF)
//   template  = ("${" | "%{") ... matching "}"    (kept verbatim)
// Spaces, tabs and /* */ comments separate tokens.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "hcl/hcl.h"

namespace drover::hcl {

enum class TokenKind {
  kEof,
  kNewline,
  kIdent,
  kNumber,   // text is the literal, without sign
  kString,   // value is decoded
  kHeredoc,  // value is the content
  kLBrace,
  kRBrace,
  kLBrack,
  kRBrack,
  kLParen,
  kRParen,
  kEquals,
  kColon,
  kComma,
  kMinus,
  kOperator,  // any other operator; the parser only reports these
};

struct Token {
  TokenKind kind = TokenKind::kEof;
  Pos pos;
  std::string_view text;      // the token's source text
  std::string value;          // kString, kHeredoc: the decoded value
  bool has_template = false;  // kString: contains ${...} or %{...}
};

// `s` in double quotes for an error message: control characters escaped,
// cut after 64 bytes.
std::string QuoteForMessage(std::string_view s);

// A short description for error messages: `"{"`, `newline`, `name "foo"`.
std::string Describe(const Token& token);

// "<filename>:<line>:<col>: <message>" as an InvalidArgument status.
Status ErrorAt(std::string_view filename, Pos pos, std::string_view message);

class Lexer {
 public:
  // `source` must outlive the lexer and be valid UTF-8 without NUL bytes.
  Lexer(std::string_view source, std::string_view filename)
      : src_(source), filename_(filename) {}

  // The next token; kEof at the end, repeatedly.
  Result<Token> Next();

 private:
  Pos PosAt(std::size_t offset) const;
  bool At(std::size_t offset, std::string_view s) const {
    return src_.substr(offset, s.size()) == s;
  }
  // Moves to `offset`, counting the newlines passed.
  void AdvanceTo(std::size_t offset);
  Status SkipSpaceAndBlockComments();
  Status LexNumber(Token* token);
  Status LexString(Token* token);
  Status LexHeredoc(Token* token);
  // At "${" or "%{": appends the sequence up to its matching "}" verbatim.
  Status CopyTemplateSequence(std::string* out);

  std::string_view src_;
  std::string_view filename_;
  std::size_t off_ = 0;
  int line_ = 1;
  std::size_t line_start_ = 0;  // offset of the current line's first byte
};

}  // namespace drover::hcl
