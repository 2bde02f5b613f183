// Evaluation of HCL expressions over Boost.JSON values (hcl/expr.h).
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>

#include "hcl/expr.h"
#include "hcl/lexer.h"

namespace drover::hcl {
namespace {

namespace json = boost::json;

// Integral doubles in int64's range become int64, as the parser's literals.
json::value Normalize(double d) {
  if (d == std::trunc(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
    return json::value(static_cast<std::int64_t>(d));
  }
  return json::value(d);
}

double AsDouble(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return v.get_double();
}

bool NumbersEqual(const json::value& a, const json::value& b) {
  if (a.is_int64() && b.is_int64()) return a.get_int64() == b.get_int64();
  return AsDouble(a) == AsDouble(b);
}

bool DeepEqual(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) return NumbersEqual(a, b);
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    const auto& x = a.get_array();
    const auto& y = b.get_array();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!DeepEqual(x[i], y[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    const auto& x = a.get_object();
    const auto& y = b.get_object();
    if (x.size() != y.size()) return false;
    for (const auto& kv : x) {
      const json::value* other = y.if_contains(kv.key());
      if (other == nullptr || !DeepEqual(kv.value(), *other)) return false;
    }
    return true;
  }
  return a == b;
}

// About the bytes a value holds, for the evaluation budget.
std::size_t ApproxSize(const json::value& v) {
  if (v.is_string()) return 16 + v.get_string().size();
  std::size_t n = 16;
  if (v.is_array()) {
    for (const json::value& e : v.get_array()) n += ApproxSize(e);
  } else if (v.is_object()) {
    for (const auto& kv : v.get_object()) n += kv.key().size() + ApproxSize(kv.value());
  }
  return n;
}

class Evaluator {
 public:
  explicit Evaluator(const EvalContext& ctx) : ctx_(ctx) {}

  Result<json::value> Eval(const Expr& e) {
    if (++depth_ > kMaxDepth * 4) return Error(e.pos, "expression nested too deeply");
    auto result = EvalInner(e);
    --depth_;
    return result;
  }

 private:
  Status Error(Pos pos, std::string_view message) const {
    return ErrorAt(ctx_.filename, pos, message);
  }

  // Charges a produced value against the budget.
  Result<json::value> Charge(Result<json::value> v, Pos pos) {
    if (!v.ok() || ctx_.budget == nullptr) return v;
    const std::size_t size = ApproxSize(*v);
    if (size > *ctx_.budget) {
      return Error(pos, "the expressions of this file produce too much data");
    }
    *ctx_.budget -= size;
    return v;
  }

  Result<json::value> EvalInner(const Expr& e) {
    switch (e.kind) {
      case Expr::Kind::kLiteral: return e.value;
      case Expr::Kind::kTemplate: return Charge(EvalTemplate(e), e.pos);
      case Expr::Kind::kTraversal: return Charge(EvalTraversal(e), e.pos);
      case Expr::Kind::kIndex: {
        ASSIGN_OR_RETURN(json::value base, Eval(*e.args[0]));
        ASSIGN_OR_RETURN(json::value key, Eval(*e.args[1]));
        return Index(base, key, e.args[1]->pos);
      }
      case Expr::Kind::kCall: {
        std::vector<json::value> args;
        for (std::size_t i = 0; i < e.args.size(); ++i) {
          ASSIGN_OR_RETURN(json::value v, Eval(*e.args[i]));
          if (e.expand_final && i + 1 == e.args.size()) {
            if (!v.is_array()) {
              return Error(e.args[i]->pos, "Invalid expanding argument value: the final "
                                           "argument before \"...\" must be a list");
            }
            for (json::value& item : v.get_array()) args.push_back(std::move(item));
          } else {
            args.push_back(std::move(v));
          }
        }
        return Charge(CallFunction(e.name, std::move(args), e.pos, ctx_), e.pos);
      }
      case Expr::Kind::kUnary: {
        ASSIGN_OR_RETURN(json::value v, Eval(*e.args[0]));
        if (e.name == "!") {
          auto b = ToBoolValue(v);
          if (!b.ok()) return Error(e.pos, "Invalid operand: " + b.status().message());
          return json::value(!*b);
        }
        auto n = ToNumberValue(v);
        if (!n.ok()) return Error(e.pos, "Invalid operand: " + n.status().message());
        if (n->is_int64() && n->get_int64() != std::numeric_limits<std::int64_t>::min()) {
          return json::value(-n->get_int64());
        }
        return Normalize(-AsDouble(*n));
      }
      case Expr::Kind::kBinary: return EvalBinary(e);
      case Expr::Kind::kConditional: {
        ASSIGN_OR_RETURN(json::value c, Eval(*e.args[0]));
        auto b = ToBoolValue(c);
        if (!b.ok()) {
          return Error(e.args[0]->pos, "Incorrect condition type: " + b.status().message());
        }
        return Eval(*e.args[*b ? 1 : 2]);
      }
      case Expr::Kind::kList: {
        json::array out;
        for (const ExprPtr& item : e.args) {
          ASSIGN_OR_RETURN(json::value v, Eval(*item));
          out.push_back(std::move(v));
        }
        return json::value(std::move(out));
      }
      case Expr::Kind::kObject: {
        json::object out;
        for (std::size_t i = 0; i + 1 < e.args.size(); i += 2) {
          ASSIGN_OR_RETURN(json::value k, Eval(*e.args[i]));
          auto key = ToStringValue(k);
          if (!key.ok()) {
            return Error(e.args[i]->pos, "Incorrect key type: " + key.status().message());
          }
          ASSIGN_OR_RETURN(json::value v, Eval(*e.args[i + 1]));
          out[*key] = std::move(v);
        }
        return json::value(std::move(out));
      }
    }
    return Error(e.pos, "unknown expression");
  }

  Result<json::value> EvalTemplate(const Expr& e) {
    // "${x}" alone yields x itself, whatever its type.
    if (e.args.size() == 1 && e.args[0]->kind != Expr::Kind::kLiteral) return Eval(*e.args[0]);
    std::string out;
    for (const ExprPtr& part : e.args) {
      ASSIGN_OR_RETURN(json::value v, Eval(*part));
      auto s = ToStringValue(v);
      if (!s.ok()) {
        return Error(part->pos, "Invalid template interpolation value: " + s.status().message());
      }
      if (out.size() + s->size() > kMaxValueBytes) {
        return Error(e.pos, "string longer than " + std::to_string(kMaxValueBytes) + " bytes");
      }
      out += *s;
    }
    return json::value(json::string(out));
  }

  Result<json::value> EvalTraversal(const Expr& e) {
    json::value v;
    std::size_t step = 0;
    if (e.name == "var" || e.name == "local") {
      if (e.args.empty()) {
        return Error(e.pos, "\"" + e.name + "\" must be followed by an attribute: " + e.name +
                                ".<name>");
      }
      ASSIGN_OR_RETURN(json::value key, Eval(*e.args[0]));
      if (!key.is_string()) return Error(e.args[0]->pos, "a variable name is required");
      const std::string name(key.get_string());
      if (e.name == "var") {
        const json::value* found = ctx_.variables ? ctx_.variables->if_contains(name) : nullptr;
        if (found == nullptr) {
          return Error(e.pos, "Unsupported attribute; This object does not have an attribute "
                              "named " + QuoteForMessage(name) +
                                  " (no variable block declares it)");
        }
        v = *found;
      } else {
        if (!ctx_.local) {
          return Error(e.pos, "Unsupported attribute: no local " + QuoteForMessage(name));
        }
        ASSIGN_OR_RETURN(v, ctx_.local(name, e.pos));
      }
      step = 1;
    } else {
      // A runtime reference: kept for the task as its own "${...}".
      return json::value(json::string("${" + e.text + "}"));
    }
    for (; step < e.args.size(); ++step) {
      ASSIGN_OR_RETURN(json::value key, Eval(*e.args[step]));
      ASSIGN_OR_RETURN(v, Index(v, key, e.args[step]->pos));
    }
    return v;
  }

  Result<json::value> Index(const json::value& base, const json::value& key, Pos pos) {
    if (base.is_array()) {
      auto n = ToNumberValue(key);
      if (!n.ok() || !n->is_int64()) return Error(pos, "Invalid index: a whole number is required");
      const std::int64_t i = n->get_int64();
      const auto& a = base.get_array();
      if (i < 0 || static_cast<std::uint64_t>(i) >= a.size()) {
        return Error(pos, "Invalid index: the given index is greater than or equal to the "
                          "length of the collection");
      }
      return a[static_cast<std::size_t>(i)];
    }
    if (base.is_object()) {
      auto k = ToStringValue(key);
      if (!k.ok()) return Error(pos, "Invalid index: a string key is required");
      const json::value* v = base.get_object().if_contains(*k);
      if (v == nullptr) {
        return Error(pos, "Invalid index: the given key " + QuoteForMessage(*k) +
                              " does not identify an element in this collection value");
      }
      return *v;
    }
    if (base.is_null()) return Error(pos, "Attempt to index null value");
    return Error(pos, "Invalid index: a " + TypeName(base) + " value cannot be indexed");
  }

  Result<json::value> EvalBinary(const Expr& e) {
    const std::string& op = e.name;
    ASSIGN_OR_RETURN(json::value a, Eval(*e.args[0]));
    if (op == "&&" || op == "||") {
      auto x = ToBoolValue(a);
      if (!x.ok()) return Error(e.args[0]->pos, "Invalid operand: " + x.status().message());
      ASSIGN_OR_RETURN(json::value b, Eval(*e.args[1]));
      auto y = ToBoolValue(b);
      if (!y.ok()) return Error(e.args[1]->pos, "Invalid operand: " + y.status().message());
      return json::value(op == "&&" ? (*x && *y) : (*x || *y));
    }
    ASSIGN_OR_RETURN(json::value b, Eval(*e.args[1]));
    if (op == "==") return json::value(DeepEqual(a, b));
    if (op == "!=") return json::value(!DeepEqual(a, b));
    auto x = ToNumberValue(a);
    if (!x.ok()) return Error(e.args[0]->pos, "Invalid operand: " + x.status().message());
    auto y = ToNumberValue(b);
    if (!y.ok()) return Error(e.args[1]->pos, "Invalid operand: " + y.status().message());
    const double dx = AsDouble(*x);
    const double dy = AsDouble(*y);
    if (op == "<") return json::value(dx < dy);
    if (op == ">") return json::value(dx > dy);
    if (op == "<=") return json::value(dx <= dy);
    if (op == ">=") return json::value(dx >= dy);
    const bool ints = x->is_int64() && y->is_int64();
    const std::int64_t ix = ints ? x->get_int64() : 0;
    const std::int64_t iy = ints ? y->get_int64() : 0;
    std::int64_t r = 0;
    if (op == "+") {
      if (ints && !__builtin_add_overflow(ix, iy, &r)) return json::value(r);
      return Finite(dx + dy, e.pos);
    }
    if (op == "-") {
      if (ints && !__builtin_sub_overflow(ix, iy, &r)) return json::value(r);
      return Finite(dx - dy, e.pos);
    }
    if (op == "*") {
      if (ints && !__builtin_mul_overflow(ix, iy, &r)) return json::value(r);
      return Finite(dx * dy, e.pos);
    }
    if (dy == 0) return Error(e.pos, "Division by zero");
    if (op == "/") {
      if (ints && iy != -1 && ix % iy == 0) return json::value(ix / iy);
      return Finite(dx / dy, e.pos);
    }
    if (ints && iy != -1) return json::value(ix % iy);
    return Finite(std::fmod(dx, dy), e.pos);
  }

  Result<json::value> Finite(double d, Pos pos) const {
    if (!std::isfinite(d)) return Error(pos, "arithmetic result out of range");
    return Normalize(d);
  }

  const EvalContext& ctx_;
  int depth_ = 0;
};

}  // namespace

Result<json::value> Evaluate(const Expr& expr, const EvalContext& ctx) {
  return Evaluator(ctx).Eval(expr);
}

std::string TypeName(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "bool";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return "number";
    case json::kind::string: return "string";
    case json::kind::array: return "list";
    case json::kind::object: return "object";
  }
  return "value";
}

Result<std::string> ToStringValue(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_bool()) return std::string(v.get_bool() ? "true" : "false");
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  if (v.is_double()) {
    char buf[64];
    auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v.get_double());
    if (ec != std::errc()) return InvalidArgument("number cannot be converted to a string");
    return std::string(buf, ptr);
  }
  if (v.is_null()) return InvalidArgument("a string is required, but the value is null");
  return InvalidArgument("a string is required, but the value is a " + TypeName(v));
}

Result<json::value> ToNumberValue(const json::value& v) {
  if (v.is_int64() || v.is_double()) return v;
  if (v.is_uint64()) return Normalize(static_cast<double>(v.get_uint64()));
  if (v.is_string()) {
    std::string_view s = v.get_string();
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    if (!s.empty()) {
      std::int64_t i = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
      if (ec == std::errc() && p == s.data() + s.size()) return json::value(i);
      double d = 0;
      auto [q, ec2] = std::from_chars(s.data(), s.data() + s.size(), d);
      if (ec2 == std::errc() && q == s.data() + s.size() && std::isfinite(d)) return Normalize(d);
    }
    return InvalidArgument("a number is required, but " + QuoteForMessage(v.get_string()) +
                           " is not one");
  }
  return InvalidArgument("a number is required, but the value is " +
                         std::string(v.is_null() ? "null" : "a " + TypeName(v)));
}

Result<bool> ToBoolValue(const json::value& v) {
  if (v.is_bool()) return v.get_bool();
  if (v.is_string() && (v.get_string() == "true" || v.get_string() == "false")) {
    return v.get_string() == "true";
  }
  return InvalidArgument("a bool is required, but the value is " +
                         std::string(v.is_null() ? "null" : "a " + TypeName(v)));
}

}  // namespace drover::hcl
