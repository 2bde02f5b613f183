// A parser for HCL2's native syntax (and the HCL1 forms Nomad ACL policies
// use), producing a plain tree: blocks, attributes, and attribute values as
// Boost.JSON values. No agent dependency: only common/ and Boost.JSON.
//
// What is parsed (docs/design.md, "HCL" has the full list):
//   - bodies: `name = expr` attributes, one per line; blocks
//     `type "label" label2 { ... }`, one-line blocks `agent { policy = "read" }`
//   - comments `#`, `//`, `/* */`
//   - literal expressions: strings with escapes, heredocs (`<<EOF`, `<<-EOF`),
//     numbers, true/false/null, lists and objects of those.
// Parse keeps template sequences `${...}` and `%{...}` inside strings verbatim
// (`$${` and `%%{` become the literal `${` and `%{`) and refuses variables,
// function calls, operators and `for` expressions with a positional error.
// ParseConfig parses expressions instead (hcl/expr.h).
//
// Hostile input is expected: the source is limited to kMaxSourceBytes, nesting
// to kMaxDepth, must be valid UTF-8 without NUL bytes, and parsing is linear.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace drover::hcl {

inline constexpr std::size_t kMaxSourceBytes = 4 << 20;  // 4 MiB
inline constexpr int kMaxDepth = 128;  // blocks, lists, objects, templates

struct Pos {  // 1-based; column counts bytes
  int line = 0;
  int column = 0;
};

struct Expr;

struct Attribute {
  std::string name;
  boost::json::value value;  // Parse: the value. ParseConfig: the value of a literal, else null
  Pos pos;                   // of the name
  std::shared_ptr<const Expr> expr;  // ParseConfig only (hcl/expr.h)
};

struct Block {
  std::string type;
  std::vector<std::string> labels;
  std::vector<Attribute> attributes;  // the block's body, in source order
  std::vector<Block> blocks;          // in source order
  Pos pos;                            // of the type name

  // The attribute called `name`, or nullptr. Names are unique in a body.
  const Attribute* Find(std::string_view name) const;
};

// "<filename>:<line>:<column>", as used at the start of every error.
std::string FormatPos(std::string_view filename, Pos pos);

// Parses a whole file. A file's top-level body is a Block with an empty type,
// no labels and pos 1:1. Errors are InvalidArgument with the text
// "<filename>:<line>:<col>: <message>", pointing at the first problem.
Result<Block> Parse(std::string_view source, std::string_view filename);

// Parses a file whose attributes are full expressions (hcl/expr.h), as
// Nomad's jobspecs are: each Attribute carries its expression tree, to be
// evaluated with Evaluate once variables and locals are known. Syntax errors
// come out as Parse's do.
Result<Block> ParseConfig(std::string_view source, std::string_view filename);

}  // namespace drover::hcl
