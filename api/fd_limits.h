// File descriptors for the HTTP server: how many the process may open and
// how many of them connections may take.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/status.h"

namespace drover::api {

// Raises the soft RLIMIT_NOFILE to the hard limit (systemd and shells
// often start services at a soft 1,024 while the hard limit is far higher).
// Returns the soft limit in effect afterwards.
Result<std::uint64_t> RaiseFdLimit();

// How many HTTP connections to admit under a soft fd limit of `fd_limit`:
// a quarter (at least 64) stays for RocksDB, executors, log files and
// Pistache's own descriptors.
std::size_t ConnectionBudget(std::uint64_t fd_limit);

// The soft RLIMIT_NOFILE now.
std::uint64_t CurrentFdLimit();

}  // namespace drover::api
