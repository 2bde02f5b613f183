// Fuzzes the job decoder (storage/codec.h) the way PUT /v1/jobs uses it:
// JSON text -> Job, wrapped in {"Job": ...} or bare. A decoded job must
// encode, and the encoding must decode again.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "storage/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = drover::ParseJson(text);
  if (!parsed.ok()) return 0;
  const boost::json::value* job_value = &*parsed;
  if (parsed->is_object()) {
    if (const boost::json::value* inner = parsed->get_object().if_contains("Job")) job_value = inner;
  }
  // As PUT /v1/jobs: numbers a double cannot hold exactly are refused.
  if (!drover::RequireExactNumbers(*job_value, "Job").ok()) return 0;
  auto job = drover::FromJson<drover::Job>(*job_value, "Job");
  if (!job.ok()) return 0;
  const std::string encoded = drover::EncodeJson(*job);
  auto again = drover::DecodeJson<drover::Job>(encoded, "Job");
  if (!again.ok()) std::abort();
  if (drover::EncodeJson(*again) != encoded) std::abort();
  return 0;
}
