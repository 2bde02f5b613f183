#include "api/fd_limits.h"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace drover::api {

Result<std::uint64_t> RaiseFdLimit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0)
    return Internal(std::string("getrlimit(RLIMIT_NOFILE): ") + std::strerror(errno));
  if (lim.rlim_cur != lim.rlim_max) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) != 0)
      return Internal(std::string("setrlimit(RLIMIT_NOFILE): ") + std::strerror(errno));
    lim = raised;
  }
  return static_cast<std::uint64_t>(lim.rlim_cur);
}

std::uint64_t CurrentFdLimit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY) return 1 << 20;
  return static_cast<std::uint64_t>(lim.rlim_cur);
}

std::size_t ConnectionBudget(std::uint64_t fd_limit) {
  const std::uint64_t reserve = std::max<std::uint64_t>(64, fd_limit / 4);
  const std::uint64_t budget = fd_limit > reserve + 16 ? fd_limit - reserve : 16;
  return static_cast<std::size_t>(std::min<std::uint64_t>(budget, 1 << 20));
}

}  // namespace drover::api
