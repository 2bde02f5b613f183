// Fuzzes the HTTP edge framer (api/http_edge.h): any bytes, split at
// fuzzer-chosen points, must frame into requests whose pieces add up to the
// input, in the same way whatever the split.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_edge.h"

namespace {

using drover::api::EdgeLimits;
using drover::api::EdgeVerdict;
using drover::api::HttpRequestFramer;

struct Outcome {
  std::vector<std::size_t> request_sizes;
  int reject_code = 0;
  std::size_t accepted = 0;  // bytes of complete requests
};

Outcome Frame(std::string_view wire, std::size_t step, const EdgeLimits& limits) {
  HttpRequestFramer framer(limits);
  Outcome out;
  std::size_t current = 0;
  for (std::size_t off = 0; off < wire.size() && out.reject_code == 0; off += step) {
    std::string_view piece = wire.substr(off, step);
    while (!piece.empty()) {
      EdgeVerdict v = framer.Feed(piece);
      if (v.action == EdgeVerdict::Action::kReject) {
        if (v.code < 400 || v.code > 599 || v.text.empty()) std::abort();
        out.reject_code = v.code;
        break;
      }
      if (v.action == EdgeVerdict::Action::kNeedMore) {
        if (v.consumed != piece.size()) std::abort();
        current += piece.size();
        break;
      }
      if (v.consumed == 0 || v.consumed > piece.size()) std::abort();
      current += v.consumed;
      out.request_sizes.push_back(current);
      out.accepted += current;
      current = 0;
      piece.remove_prefix(v.consumed);
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  // First byte: read size; second: small limits or the defaults.
  const std::size_t step = 1 + data[0] % 64;
  EdgeLimits limits;
  if (data[1] & 1) {
    limits.max_head_bytes = 64 + data[1];
    limits.max_body_bytes = 16 + data[1] / 2;
  }
  std::string_view wire(reinterpret_cast<const char*>(data) + 2, size - 2);

  const Outcome whole = Frame(wire, wire.size() + 1, limits);
  const Outcome split = Frame(wire, step, limits);
  if (whole.request_sizes != split.request_sizes) std::abort();
  if (whole.reject_code != split.reject_code) std::abort();
  if (whole.accepted > wire.size()) std::abort();
  for (std::size_t s : whole.request_sizes) {
    if (s > 2 * limits.max_head_bytes + limits.max_body_bytes + limits.max_head_bytes) std::abort();
  }
  return 0;
}
