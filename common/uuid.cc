#include "common/uuid.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <random>

#include "common/log.h"

namespace drover {
namespace {

std::string FormatUUID(std::uint64_t hi, std::uint64_t lo) {
  hi = (hi & ~0xF000ULL) | 0x4000ULL;                    // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // variant
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  auto put = [&](std::uint64_t v, int nibbles) {
    for (int i = nibbles - 1; i >= 0; --i) out.push_back(kHex[(v >> (4 * i)) & 0xF]);
  };
  put(hi >> 32, 8);
  out.push_back('-');
  put(hi >> 16, 4);
  out.push_back('-');
  put(hi, 4);
  out.push_back('-');
  put(lo >> 48, 4);
  out.push_back('-');
  put(lo, 12);
  return out;
}

}  // namespace

std::string NewUUID() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return FormatUUID(rng(), rng());
}

std::string NewSecretUUID() {
  std::uint64_t words[2];
  auto* p = reinterpret_cast<char*>(words);
  std::size_t got = 0;
  while (got < sizeof(words)) {
    ssize_t n = getrandom(p + got, sizeof(words) - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // Without the kernel's generator no secret can be made safely.
      log::Error("getrandom failed: cannot generate a secret");
      std::abort();
    }
    got += static_cast<std::size_t>(n);
  }
  return FormatUUID(words[0], words[1]);
}

bool IsUUID(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    char c = s[i];
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace drover
