// Fuzzes what an exec session reads from outside: client WebSocket frames
// (api/websocket.h) and helper channel frames (common/exec_channel.h).
// The input is fed in two pieces split at its first byte's position; the
// messages must be the same as when fed whole, and no message may exceed
// the parser's limit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "api/websocket.h"
#include "common/exec_channel.h"

namespace {

constexpr std::size_t kLimit = 4096;

bool Parse(std::string_view a, std::string_view b, std::vector<drover::api::WsMessage>& out,
           int& code) {
  drover::api::WsFrameParser parser(kLimit);
  bool ok = parser.Feed(a, out) && parser.Feed(b, out);
  code = parser.error_code();
  return ok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::size_t cut = size == 0 ? 0 : data[0] % (size + 1);

  std::vector<drover::api::WsMessage> whole, split;
  int code_whole = 0, code_split = 0;
  const bool ok_whole = Parse(text, {}, whole, code_whole);
  const bool ok_split = Parse(text.substr(0, cut), text.substr(cut), split, code_split);
  if (ok_whole != ok_split || code_whole != code_split || whole.size() != split.size()) std::abort();
  for (std::size_t i = 0; i < whole.size(); ++i) {
    if (whole[i].kind != split[i].kind || whole[i].payload != split[i].payload) std::abort();
    if (whole[i].payload.size() > kLimit) std::abort();
  }

  drover::ExecFrameReader reader;
  reader.Append(text.data(), text.size());
  std::size_t seen = 0;
  while (auto f = reader.Next()) {
    seen += drover::kExecFrameHeader + f->payload.size();
    if (f->payload.size() > drover::kMaxExecPayload) std::abort();
    if (f->type == drover::ExecFrameType::kResize && !drover::DecodeResize(f->payload)) std::abort();
  }
  if (reader.error().empty() && seen + reader.buffered() != size) std::abort();
  return 0;
}
