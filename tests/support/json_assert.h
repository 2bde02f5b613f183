// Shared helpers of the end-to-end tests: Status assertions and reading
// values out of JSON responses by JSON pointer.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

#define ASSERT_OK(expr)                                       \
  do {                                                        \
    const ::drover::Status _st = (expr);                      \
    ASSERT_TRUE(_st.ok()) << #expr << ": " << _st.ToString(); \
  } while (0)

#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL(DROVER_CONCAT(_res_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr)                    \
  auto tmp = (expr);                                                 \
  ASSERT_TRUE(tmp.ok()) << #expr << ": " << tmp.status().ToString(); \
  lhs = std::move(tmp).value()

namespace drover::testing {

// The value at JSON pointer `ptr` ("/TaskStates/t/State"), or null.
inline const boost::json::value& At(const boost::json::value& v, std::string_view ptr) {
  static const boost::json::value kNull;
  boost::system::error_code ec;
  const boost::json::value* found = v.find_pointer(ptr, ec);
  return found != nullptr ? *found : kNull;
}

// The string at `ptr`, or its JSON text in <> when it is not a string.
inline std::string Str(const boost::json::value& v, std::string_view ptr) {
  const boost::json::value& x = At(v, ptr);
  return x.is_string() ? std::string(x.get_string()) : "<" + boost::json::serialize(x) + ">";
}

// The integer at `ptr`, or -1.
inline std::int64_t Int(const boost::json::value& v, std::string_view ptr) {
  const boost::json::value& x = At(v, ptr);
  if (x.is_int64()) return x.get_int64();
  if (x.is_uint64()) return static_cast<std::int64_t>(x.get_uint64());
  return -1;
}

}  // namespace drover::testing
