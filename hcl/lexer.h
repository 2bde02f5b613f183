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
#include <vector>

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

// Where a template sequence sits: in the token's decoded value and in the
// source (for parsing its expression with positions).
struct TemplateSeq {
  std::size_t out_begin = 0;  // in Token::value, the sequence's "$" or "%"
  std::size_t out_end = 0;    // past its "}"
  std::size_t src_begin = 0;  // in the source, the "$" or "%"
  std::size_t src_close = 0;  // in the source, the closing "}"
  int line = 0;               // the line of src_begin
  std::size_t line_start = 0;  // the source offset where that line starts
  bool directive = false;     // "%{" rather than "${"
};

struct Token {
  TokenKind kind = TokenKind::kEof;
  Pos pos;
  std::string_view text;      // the token's source text
  std::string value;          // kString, kHeredoc: the decoded value
  bool has_template = false;  // kString: contains ${...} or %{...}
  std::vector<TemplateSeq> templates;  // kString, kHeredoc: in source order
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
  // Lexes source[begin, source.size()) of a larger file whose line `line`
  // starts at `line_start`: a template sequence's expression.
  Lexer(std::string_view source, std::string_view filename, std::size_t begin, int line,
        std::size_t line_start)
      : src_(source), filename_(filename), off_(begin), line_(line), line_start_(line_start) {}

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
  // At "${" or "%{": appends the sequence up to its matching "}" verbatim
  // and records it in token->templates.
  Status CopyTemplateSequence(Token* token, std::string* out);

  std::string_view src_;
  std::string_view filename_;
  std::size_t off_ = 0;
  int line_ = 1;
  std::size_t line_start_ = 0;  // offset of the current line's first byte
};

}  // namespace drover::hcl
