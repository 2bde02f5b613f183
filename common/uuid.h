#pragma once

#include <string>

namespace drover {

// A random version-4 UUID in its canonical 36-character form, the shape of
// every Nomad ID (allocations, evaluations, nodes).
// Not for secrets: the generator is fast, not unpredictable.
std::string NewUUID();

// A UUID from the kernel's cryptographic generator (getrandom), for
// secrets such as ACL token SecretIDs.
std::string NewSecretUUID();

// True if `s` has the canonical 8-4-4-4-12 lower-case hex shape.
bool IsUUID(const std::string& s);

}  // namespace drover
