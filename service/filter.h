// Nomad's list-query `filter` expressions (HashiCorp go-bexpr), evaluated
// against the JSON encoding of an object.
//
// Grammar (go-bexpr's grammar/grammar.peg, without `any`/`all` collection
// expressions):
//
//   expr      := or
//   or        := and ("or" and)*
//   and       := unary ("and" unary)*
//   unary     := "not" unary | "(" or ")" | match
//   match     := selector ("==" | "!=") value
//              | selector ["not"] ("contains" | "matches") value
//              | selector "is" ["not"] ("empty" | "nil")
//              | value ["not"] "in" selector
//   selector  := ident ("." ident | "." digits | "[" string "]")*
//              | '"' ("/" segment)* '"'           (a JSON pointer)
//   ident     := [a-zA-Z][a-zA-Z0-9_/]*
//   value     := selector-text | number | string
//   number    := "-"? ("0" | [1-9][0-9]*) ("." [0-9]+)?
//   string    := '"' chars with Go escapes '"' | '`' raw chars '`'
//
// A bare selector in value position stands for its own text, so
// `Status == running` compares with "running".
//
// Evaluation follows go-bexpr: the literal is converted to the type of the
// selected value (string, bool via strconv.ParseBool, number), `contains`
// tests a substring, an array element or an object key, and a failed
// conversion or an operator that does not apply to the value's type is an
// evaluation error, which Nomad reports as 400 "failed to read result
// page: ...". A selector that names a missing key of an object (or a key of
// null) is "not present": `==`, `contains`, `matches`, `is not empty` and
// `is not nil` are false and their negations true. As in go-bexpr, that is
// forgiven only for the last path element below the top level: a missing
// top-level field or a missing intermediate key is an error.
//
// Deliberate differences from go-bexpr, all on inputs go-bexpr rejects or
// gets wrong: `\"` may appear inside a double-quoted string; a quoted value
// that looks like a JSON pointer ("/usr/bin") is the plain string (go-bexpr
// turns it into "usr/bin"); a missing key below the top level is always
// "not present" (JSON does not tell a Go struct from a map, and go-bexpr
// errors for structs); regular expressions are Perl syntax (Boost.Regex)
// with RE2's defaults for ".", "^" and "$", compiled at parse time, so an
// invalid one is a parse error. RE2's `(?P<name>...)` is not accepted, and a
// match Boost.Regex deems too costly is an evaluation error.
#pragma once

#include <boost/json/fwd.hpp>
#include <memory>
#include <string_view>
#include <utility>

#include "common/status.h"

namespace drover {

namespace filter_internal {
struct Expr;  // the syntax tree, defined in filter.cc
}  // namespace filter_internal

// The deepest nesting of parentheses and `not` that Parse accepts.
inline constexpr int kMaxFilterDepth = 256;

class Filter {
 public:
  // Parses a filter expression. Errors are InvalidArgument and start with
  // the position, go-bexpr's way: "line:column (offset): ...".
  static Result<Filter> Parse(std::string_view expression);

  // Whether `object` satisfies the expression; an evaluation error is an
  // InvalidArgument Status.
  Result<bool> Evaluate(const boost::json::value& object) const;

  // Evaluate, with an evaluation error counted as "no match".
  bool Matches(const boost::json::value& object) const;

 private:
  using Expr = filter_internal::Expr;
  explicit Filter(std::shared_ptr<const Expr> root) : root_(std::move(root)) {}

  std::shared_ptr<const Expr> root_;  // immutable, so copies may share it
};

}  // namespace drover
