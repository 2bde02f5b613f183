#include "cli/template.h"

#include <boost/json.hpp>
#include <algorithm>
#include <cctype>
#include <memory>
#include <vector>

namespace drover::cli {

namespace json = boost::json;

namespace {

// One operand: a field path from dot or from the root, or a literal.
struct Term {
  enum Kind { kPath, kString, kNumber } kind = kPath;
  bool from_root = false;
  std::vector<std::string> fields;
  std::string text;
  std::int64_t number = 0;
};

// A command: a function ("index", "len") applied to terms, or one term.
struct Expr {
  std::string func;
  std::vector<Term> args;
};

struct Node {
  enum Kind { kText, kPrint, kIf, kRange, kWith } kind = kText;
  std::string text;
  Expr expr;
  std::vector<Node> body, otherwise;
};

Status Error(const std::string& what) { return InvalidArgument("template: " + what); }

// The template cut into text and actions, trim markers applied.
struct Piece {
  bool action;
  std::string text;
};

Result<std::vector<Piece>> Lex(const std::string& in) {
  std::vector<Piece> out;
  std::size_t pos = 0;
  bool trim_next = false;
  while (pos <= in.size()) {
    const auto open = in.find("{{", pos);
    std::string text = in.substr(pos, open == std::string::npos ? std::string::npos : open - pos);
    if (trim_next) text.erase(0, text.find_first_not_of(" \t\r\n") == std::string::npos
                                     ? text.size() : text.find_first_not_of(" \t\r\n"));
    if (open == std::string::npos) {
      if (!text.empty()) out.push_back({false, text});
      break;
    }
    const auto close = in.find("}}", open + 2);
    if (close == std::string::npos) return Error("unclosed action");
    std::string action = in.substr(open + 2, close - open - 2);
    if (!action.empty() && action[0] == '-' && (action.size() == 1 || std::isspace(static_cast<unsigned char>(action[1])))) {
      action.erase(0, 1);
      while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
    }
    trim_next = false;
    if (!action.empty() && action.back() == '-' && action.size() >= 2 &&
        std::isspace(static_cast<unsigned char>(action[action.size() - 2]))) {
      action.pop_back();
      trim_next = true;
    }
    if (!text.empty()) out.push_back({false, text});
    out.push_back({true, action});
    pos = close + 2;
  }
  return out;
}

Result<std::vector<std::string>> Words(const std::string& action) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < action.size()) {
    if (std::isspace(static_cast<unsigned char>(action[i]))) {
      ++i;
      continue;
    }
    if (action[i] == '"') {
      std::string word = "\"";
      ++i;
      bool closed = false;
      while (i < action.size()) {
        char c = action[i++];
        if (c == '\\' && i < action.size()) {
          char e = action[i++];
          word += e == 'n' ? '\n' : e == 't' ? '\t' : e;
        } else if (c == '"') {
          closed = true;
          break;
        } else {
          word += c;
        }
      }
      if (!closed) return Error("unterminated quoted string");
      words.push_back(word);
      continue;
    }
    std::size_t j = i;
    while (j < action.size() && !std::isspace(static_cast<unsigned char>(action[j]))) ++j;
    words.push_back(action.substr(i, j - i));
    i = j;
  }
  return words;
}

Result<Term> ParseTerm(const std::string& word) {
  Term t;
  if (word[0] == '"') {
    t.kind = Term::kString;
    t.text = word.substr(1);
    return t;
  }
  if (std::isdigit(static_cast<unsigned char>(word[0])) || word[0] == '-') {
    t.kind = Term::kNumber;
    try {
      t.number = std::stoll(word);
    } catch (...) {
      return Error("bad number " + word);
    }
    return t;
  }
  std::string path = word;
  if (path[0] == '$') {
    t.from_root = true;
    path.erase(0, 1);
    if (!path.empty() && path[0] != '.') return Error("variables are not supported: $" + path);
  }
  if (path.empty() || path == ".") return t;
  if (path[0] != '.') return Error("function \"" + word + "\" not defined");
  std::size_t start = 1;
  while (start <= path.size()) {
    const auto dot = path.find('.', start);
    std::string field = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (field.empty()) return Error("bad field path " + word);
    t.fields.push_back(field);
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return t;
}

Result<Expr> ParseExpr(const std::vector<std::string>& words, std::size_t from) {
  Expr e;
  if (from >= words.size()) return Error("missing value");
  std::size_t i = from;
  if (words[i] == "index" || words[i] == "len") {
    e.func = words[i++];
  } else if (words[i] == "|" || words[i].find(":=") != std::string::npos) {
    return Error("pipes and variables are not supported");
  }
  for (; i < words.size(); ++i) {
    if (words[i] == "|" || words[i] == ":=") return Error("pipes and variables are not supported");
    ASSIGN_OR_RETURN(Term t, ParseTerm(words[i]));
    e.args.push_back(std::move(t));
  }
  if (e.func.empty() && e.args.size() != 1) return Error("too many operands in \"" + words[from] + " ...\"");
  if (e.func == "len" && e.args.size() != 1) return Error("len takes one argument");
  if (e.func == "index" && e.args.empty()) return Error("index takes a value and keys");
  return e;
}

// Parses pieces into nodes up to an "else" or "end" (returned in `stop`).
Status ParseNodes(const std::vector<Piece>& pieces, std::size_t& pos, std::vector<Node>& out,
                  std::string& stop) {
  while (pos < pieces.size()) {
    const Piece& p = pieces[pos++];
    if (!p.action) {
      Node n;
      n.text = p.text;
      out.push_back(std::move(n));
      continue;
    }
    ASSIGN_OR_RETURN(std::vector<std::string> words, Words(p.text));
    if (words.empty()) return Error("missing value for command");
    const std::string& head = words[0];
    if (head == "end" || head == "else") {
      stop = head;
      return Status::Ok();
    }
    if (head.rfind("/*", 0) == 0) continue;  // a comment
    Node n;
    if (head == "if" || head == "range" || head == "with") {
      n.kind = head == "if" ? Node::kIf : head == "range" ? Node::kRange : Node::kWith;
      ASSIGN_OR_RETURN(n.expr, ParseExpr(words, 1));
      std::string inner_stop;
      RETURN_IF_ERROR(ParseNodes(pieces, pos, n.body, inner_stop));
      if (inner_stop == "else") {
        RETURN_IF_ERROR(ParseNodes(pieces, pos, n.otherwise, inner_stop));
      }
      if (inner_stop != "end") return Error("unexpected EOF: missing {{end}}");
    } else if (head == "define" || head == "template" || head == "block") {
      return Error("\"" + head + "\" is not supported");
    } else {
      n.kind = Node::kPrint;
      ASSIGN_OR_RETURN(n.expr, ParseExpr(words, 0));
    }
    out.push_back(std::move(n));
  }
  stop.clear();
  return Status::Ok();
}


struct Scope {
  const json::value& root;
  const json::value& dot;
};

json::value Eval(const Term& t, const Scope& s) {
  if (t.kind == Term::kString) return json::string(t.text);
  if (t.kind == Term::kNumber) return t.number;
  const json::value* v = t.from_root ? &s.root : &s.dot;
  for (const std::string& f : t.fields) {
    const json::object* o = v->if_object();
    const json::value* next = o ? o->if_contains(f) : nullptr;
    if (next == nullptr) return json::value(nullptr);
    v = next;
  }
  return *v;
}

Result<json::value> EvalExpr(const Expr& e, const Scope& s) {
  if (e.func.empty()) return Eval(e.args[0], s);
  json::value v = Eval(e.args[0], s);
  if (e.func == "len") {
    if (v.is_array()) return json::value(static_cast<std::int64_t>(v.get_array().size()));
    if (v.is_object()) return json::value(static_cast<std::int64_t>(v.get_object().size()));
    if (v.is_string()) return json::value(static_cast<std::int64_t>(v.get_string().size()));
    return Error("len of " + json::serialize(v));
  }
  for (std::size_t i = 1; i < e.args.size(); ++i) {  // index
    json::value key = Eval(e.args[i], s);
    if (v.is_null()) {
      return json::value(nullptr);  // Go: index of a nil map is the zero value
    } else if (v.is_object() && key.is_string()) {
      const json::value* x = v.get_object().if_contains(key.get_string());
      v = x ? *x : json::value(nullptr);
    } else if (v.is_array() && key.is_int64()) {
      const std::int64_t k = key.get_int64();
      if (k < 0 || static_cast<std::size_t>(k) >= v.get_array().size())
        return Error("index out of range: " + std::to_string(k));
      json::value x = v.get_array()[static_cast<std::size_t>(k)];
      v = std::move(x);
    } else {
      return Error("cannot index " + json::serialize(v) + " with " + json::serialize(key));
    }
  }
  return v;
}

bool Truth(const json::value& v) {
  if (v.is_null()) return false;
  if (v.is_bool()) return v.get_bool();
  if (v.is_int64()) return v.get_int64() != 0;
  if (v.is_uint64()) return v.get_uint64() != 0;
  if (v.is_double()) return v.get_double() != 0;
  if (v.is_string()) return !v.get_string().empty();
  if (v.is_array()) return !v.get_array().empty();
  return !v.get_object().empty();
}

void Print(const json::value& v, std::string& out) {
  if (v.is_null()) {
    out += "<no value>";
  } else if (v.is_string()) {
    out += v.get_string();
  } else if (v.is_double()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", v.get_double());
    out += buf;
  } else {
    out += json::serialize(v);
  }
}

Status Render(const std::vector<Node>& nodes, const Scope& s, std::string& out) {
  for (const Node& n : nodes) {
    switch (n.kind) {
      case Node::kText:
        out += n.text;
        break;
      case Node::kPrint: {
        ASSIGN_OR_RETURN(json::value v, EvalExpr(n.expr, s));
        Print(v, out);
        break;
      }
      case Node::kIf:
      case Node::kWith: {
        ASSIGN_OR_RETURN(json::value v, EvalExpr(n.expr, s));
        if (Truth(v)) {
          RETURN_IF_ERROR(Render(n.body, n.kind == Node::kWith ? Scope{s.root, v} : s, out));
        } else {
          RETURN_IF_ERROR(Render(n.otherwise, s, out));
        }
        break;
      }
      case Node::kRange: {
        ASSIGN_OR_RETURN(json::value v, EvalExpr(n.expr, s));
        if (!Truth(v)) {
          RETURN_IF_ERROR(Render(n.otherwise, s, out));
        } else if (v.is_array()) {
          for (const json::value& x : v.get_array()) RETURN_IF_ERROR(Render(n.body, Scope{s.root, x}, out));
        } else if (v.is_object()) {
          // Go ranges over a map in key order.
          std::vector<std::string> keys;
          for (const auto& kv : v.get_object()) keys.emplace_back(kv.key());
          std::sort(keys.begin(), keys.end());
          for (const std::string& k : keys) {
            RETURN_IF_ERROR(Render(n.body, Scope{s.root, v.get_object().at(k)}, out));
          }
        } else {
          return Error("range can't iterate over " + json::serialize(v));
        }
        break;
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> RenderTemplate(const std::string& text, const json::value& data) {
  ASSIGN_OR_RETURN(std::vector<Piece> pieces, Lex(text));
  std::vector<Node> nodes;
  std::size_t pos = 0;
  std::string stop;
  RETURN_IF_ERROR(ParseNodes(pieces, pos, nodes, stop));
  if (!stop.empty()) return Error("unexpected {{" + stop + "}}");
  std::string out;
  RETURN_IF_ERROR(Render(nodes, Scope{data, data}, out));
  return out;
}

}  // namespace drover::cli
