// libFuzzer target for the HCL parser. Besides the sanitizers, it checks the
// parser's promises: every error is InvalidArgument and names the file and a
// position, every parsed position is 1-based, and a parsed tree printed back
// as HCL parses to the same tree.
//
//   scripts/fuzz.sh 120 hcl_fuzz       (seeds: fuzz/corpus/hcl_fuzz/)
// fuzz/hcl.dict is a dictionary of HCL tokens for longer manual runs
// (add -dict=fuzz/hcl.dict).
#include <boost/json.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "hcl/hcl.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

// Prints a string as an HCL literal whose value is `s`.
void PrintString(std::string_view s, std::string* out) {
  *out += '"';
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const char next = i + 1 < s.size() ? s[i + 1] : '\0';
    if (c == '"' || c == '\\') {
      *out += '\\';
      *out += c;
    } else if (c == '\n') {
      *out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      *out += buf;
    } else if ((c == '$' || c == '%') && next == '{') {
      *out += c;
      *out += c;  // $${ reads back as ${
    } else {
      *out += c;
    }
  }
  *out += '"';
}

void PrintValue(const boost::json::value& v, std::string* out) {
  switch (v.kind()) {
    case boost::json::kind::string: PrintString(v.get_string(), out); return;
    case boost::json::kind::array: {
      *out += "[";
      for (const auto& e : v.get_array()) {
        PrintValue(e, out);
        *out += ",\n";
      }
      *out += "]";
      return;
    }
    case boost::json::kind::object: {
      *out += "{\n";
      for (const auto& kv : v.get_object()) {
        PrintString(kv.key(), out);
        *out += " = ";
        PrintValue(kv.value(), out);
        *out += "\n";
      }
      *out += "}";
      return;
    }
    default: *out += boost::json::serialize(v); return;  // numbers, bools, null
  }
}

void PrintBody(const drover::hcl::Block& b, std::string* out) {
  for (const auto& a : b.attributes) {
    Check(a.pos.line >= 1 && a.pos.column >= 1);
    *out += a.name + " = ";
    PrintValue(a.value, out);
    *out += "\n";
  }
  for (const auto& child : b.blocks) {
    Check(child.pos.line >= b.pos.line && child.pos.column >= 1);
    *out += child.type;
    for (const auto& l : child.labels) {
      *out += ' ';
      PrintString(l, out);
    }
    *out += " {\n";
    PrintBody(child, out);
    *out += "}\n";
  }
}

// The tree printed as HCL, or the error.
std::string ParseAndPrint(std::string_view source) {
  auto result = drover::hcl::Parse(source, "f.hcl");
  if (!result.ok()) {
    Check(result.status().code() == drover::StatusCode::kInvalidArgument);
    const std::string& m = result.status().message();
    Check(m.rfind("f.hcl:", 0) == 0 && m.find(": ", 6) != std::string::npos);
    return "error " + m;
  }
  std::string out;
  PrintBody(*result, &out);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view source(reinterpret_cast<const char*>(data), size);
  std::string printed = ParseAndPrint(source);
  if (printed.rfind("error ", 0) == 0) return 0;
  // The printed form nests one level less than any source could exceed and
  // is at most a few times larger, so it must parse, to the same tree.
  if (printed.size() > drover::hcl::kMaxSourceBytes) return 0;
  std::string reprinted = ParseAndPrint(printed);
  if (reprinted != printed) {
    std::fprintf(stderr, "round trip differs:\n--- printed\n%s\n--- reprinted\n%s\n",
                 printed.c_str(), reprinted.c_str());
    std::abort();
  }
  return 0;
}
