// Reading what a command is handed by name: a file, or "-" for stdin.
#pragma once

#include <cstddef>
#include <string>

#include "common/status.h"

namespace drover::cli {

// The bytes of `path` ("-" reads stdin), at most `max_bytes` of them; a
// larger input is an error rather than a truncation. The error's text
// names the path and the reason (errno's text for a file).
Result<std::string> ReadInput(const std::string& path, std::size_t max_bytes);

}  // namespace drover::cli
