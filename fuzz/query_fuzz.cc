// Fuzzes the parsers of query-string values: Go durations and RFC 3339
// times (common/gotime.h), Go's url.QueryUnescape and Accept-Encoding
// values (api/http_util.h).
// Whatever parses must format and parse back to the same value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/http_util.h"
#include "common/gotime.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto d = drover::ParseGoDuration(text); d.ok()) {
    auto again = drover::ParseGoDuration(drover::FormatGoDuration(*d));
    if (!again.ok() || *again != *d) std::abort();
  }
  if (auto t = drover::ParseRFC3339(text); t.ok()) {
    (void)drover::FormatRFC3339Nano(*t);
  }
  if (auto u = drover::api::QueryUnescape(text); u.ok()) {
    if (u->size() > text.size()) std::abort();
  }
  (void)drover::api::AcceptsGzip(text);
  return 0;
}
