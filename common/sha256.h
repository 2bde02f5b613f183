// SHA-256 (FIPS 180-4), for storing secrets as digests, and a comparison
// whose time does not depend on where two strings differ.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace drover {

std::array<std::uint8_t, 32> Sha256(std::string_view data);

// The digest as 64 lower-case hex characters.
std::string Sha256Hex(std::string_view data);

// True if `a` and `b` are equal; for equal lengths the time taken does not
// depend on the contents.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace drover
