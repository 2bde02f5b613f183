// HCL2 expressions: the tree ParseConfig builds for each attribute, and its
// evaluation against variables, locals and the function library.
//
// What evaluates (hclsyntax/spec.md, with Nomad's jobspec2 conventions):
//   literals, lists, objects (keys: names, strings, or "(expr)"), templates
//   "${expr}" in strings and heredocs, `var.name` and `local.name` with
//   `.attr`, `[index]` and legacy `.0` steps, function calls with a final
//   `...` expansion, unary `-` `!`, `* / % + - < <= > >= == != && ||` and
//   `cond ? a : b`.
//   Any other root name (`attr.kernel.name`, `node.unique.name`, `meta.x`,
//   `env["HOME"]`, `NOMAD_ALLOC_DIR`) is a runtime reference for the task:
//   it evaluates to its own source text in "${...}", as Nomad keeps it.
// Refused with their position: `for` expressions, splats, template
// directives `%{...}`.
//
// Values are Boost.JSON values: a number is int64 when integral and in
// range, else double; strings, bools, null, arrays (HCL lists and tuples),
// objects (maps and objects). Every string and list that evaluation builds is
// bounded (kMaxValueBytes, kMaxListItems), and so is what a whole evaluation
// produces (EvalContext::budget): hostile input cannot grow memory without
// limit through functions or locals.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "hcl/hcl.h"

namespace drover::hcl {

inline constexpr std::size_t kMaxValueBytes = 4 << 20;  // any one string
inline constexpr std::size_t kMaxListItems = 1 << 16;   // any one list built by a function

struct Expr;
using ExprPtr = std::shared_ptr<const Expr>;

struct Expr {
  enum class Kind {
    kLiteral,      // value
    kTemplate,     // args: the parts, each a literal string or an expression
    kTraversal,    // name: the root; args: the steps' keys; text: the source
    kIndex,        // args[0][args[1]], and `.name` on a non-traversal
    kCall,         // name(args...); expand_final: last argument ends in "..."
    kUnary,        // name ("-" or "!") args[0]
    kBinary,       // args[0] name args[1]
    kConditional,  // args[0] ? args[1] : args[2]
    kList,         // [args...]
    kObject,       // {args[0] = args[1], args[2] = args[3], ...}
  };
  Kind kind = Kind::kLiteral;
  Pos pos;
  boost::json::value value;
  std::string name;
  std::string text;
  std::size_t offset = 0;  // kTraversal: where `text` starts in the source
  std::vector<ExprPtr> args;
  bool expand_final = false;
};

// What an expression may refer to.
struct EvalContext {
  std::string_view filename;
  // The `var` object: each declared variable's value. Null: none declared.
  const boost::json::object* variables = nullptr;
  // Looks up `local.<name>`, evaluating it on first use; null: no locals.
  std::function<Result<boost::json::value>(const std::string& name, Pos pos)> local;
  // Bytes that variable and local references, function results and templates
  // may still produce, counted down; null: unbounded. Repeated references to
  // one large value cannot multiply it past this.
  std::size_t* budget = nullptr;
};

Result<boost::json::value> Evaluate(const Expr& expr, const EvalContext& ctx);

// A function of the library by name; InvalidArgument if it is unknown.
Result<boost::json::value> CallFunction(const std::string& name,
                                        std::vector<boost::json::value> args, Pos pos,
                                        const EvalContext& ctx);

// The value as a string the way HCL converts it: numbers in their shortest
// form, bools "true"/"false"; null, lists and objects are errors.
Result<std::string> ToStringValue(const boost::json::value& v);
// A number, or a string holding one (HCL's automatic conversion).
Result<boost::json::value> ToNumberValue(const boost::json::value& v);
// A bool, or the strings "true"/"false".
Result<bool> ToBoolValue(const boost::json::value& v);
// The HCL type name of a value for messages: string, number, bool, ...
std::string TypeName(const boost::json::value& v);

}  // namespace drover::hcl
