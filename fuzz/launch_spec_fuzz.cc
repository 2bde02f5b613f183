// Fuzzes the executor's launch-spec and exit-record decoders
// (lifecycle/executor/protocol.h) for memory and UB errors. No round-trip
// check: DecodeSpec takes numbers its encoder cannot give back (a negative
// max_file_bytes); its range checks are being hardened separately.
#include <cstddef>
#include <cstdint>
#include <string>

#include "lifecycle/executor/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  drover::executor::Spec spec;
  if (drover::executor::DecodeSpec(text, &spec)) (void)drover::executor::EncodeSpec(spec);
  (void)drover::executor::DecodeExit(text);
  return 0;
}
