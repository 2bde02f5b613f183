// 64-bit arithmetic on numbers a request controls (resources, counts,
// durations): sums and products either report overflow or saturate at the
// int64 limits, never wrap.
#pragma once

#include <cstdint>
#include <limits>

namespace drover {

// a + b into *out; false (and *out unspecified) when it overflows.
inline bool CheckedAdd(std::int64_t a, std::int64_t b, std::int64_t* out) {
  return !__builtin_add_overflow(a, b, out);
}

// a * b into *out; false (and *out unspecified) when it overflows.
inline bool CheckedMul(std::int64_t a, std::int64_t b, std::int64_t* out) {
  return !__builtin_mul_overflow(a, b, out);
}

// a + b, clamped to [INT64_MIN, INT64_MAX].
inline std::int64_t SaturatingAdd(std::int64_t a, std::int64_t b) {
  std::int64_t out;
  if (CheckedAdd(a, b, &out)) return out;
  return b > 0 ? std::numeric_limits<std::int64_t>::max()
               : std::numeric_limits<std::int64_t>::min();
}

// a * b, clamped to [INT64_MIN, INT64_MAX].
inline std::int64_t SaturatingMul(std::int64_t a, std::int64_t b) {
  std::int64_t out;
  if (CheckedMul(a, b, &out)) return out;
  return (a < 0) != (b < 0) ? std::numeric_limits<std::int64_t>::min()
                            : std::numeric_limits<std::int64_t>::max();
}

}  // namespace drover
