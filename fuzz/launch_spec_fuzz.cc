// Fuzzes the executor's launch-spec and exit-record decoders
// (lifecycle/executor/protocol.h): besides memory and UB errors, a spec the
// strict decoder accepts encodes back to exactly the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "lifecycle/executor/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto spec = drover::executor::DecodeLaunchSpec(text);
  if (spec.ok()) {
    auto again = drover::executor::EncodeLaunchSpec(*spec);
    if (!again.ok() || *again != text) std::abort();
  }
  (void)drover::executor::DecodeExit(text);
  return 0;
}
