// libFuzzer target for the HCL parser. Besides the sanitizers, it checks the
// parser's promises: every error is InvalidArgument and names the file and a
// position, every parsed position is 1-based, and parsing is deterministic.
//
//   cmake -S . -B build/fuzz -DCMAKE_CXX_COMPILER=clang++-14 -DDROVER_FUZZ=ON
//   cmake --build build/fuzz --target hcl_fuzz
//   mkdir -p build/fuzz/corpus_work
//   build/fuzz/hcl/fuzz/hcl_fuzz -max_total_time=120 -dict=hcl/fuzz/hcl.dict \
//       build/fuzz/corpus_work hcl/fuzz/corpus
#include <boost/json/serialize.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "hcl/hcl.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

void CheckBlock(const drover::hcl::Block& b, std::string* digest) {
  Check(b.pos.line >= 1 && b.pos.column >= 1);
  *digest += b.type;
  for (const auto& l : b.labels) *digest += "|" + l;
  for (const auto& a : b.attributes) {
    Check(a.pos.line >= 1 && a.pos.column >= 1);
    *digest += a.name + "=" + boost::json::serialize(a.value) + ";";
  }
  for (const auto& child : b.blocks) {
    Check(child.pos.line >= b.pos.line);
    CheckBlock(child, digest);
  }
}

std::string Digest(std::string_view source) {
  auto result = drover::hcl::Parse(source, "f.hcl");
  if (!result.ok()) {
    Check(result.status().code() == drover::StatusCode::kInvalidArgument);
    const std::string& m = result.status().message();
    Check(m.rfind("f.hcl:", 0) == 0 && m.find(": ", 6) != std::string::npos);
    return "error " + m;
  }
  std::string digest;
  CheckBlock(*result, &digest);
  return digest;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view source(reinterpret_cast<const char*>(data), size);
  std::string first = Digest(source);
  Check(first == Digest(source));
  return 0;
}
