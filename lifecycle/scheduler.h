// What a task runner needs of the event loop and of process supervision.
// The engine implements both on one Boost.Asio loop; tests use fakes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "common/gotime.h"
#include "lifecycle/driver.h"
#include "lifecycle/restart_tracker.h"

namespace drover {

using TimerId = std::uint64_t;

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual Nanos Now() = 0;
  // Runs `fn` on the loop after `delay`. Returns an id for Cancel().
  virtual TimerId After(Nanos delay, std::function<void()> fn) = 0;
  // A no-op for a timer that fired or was cancelled.
  virtual void Cancel(TimerId id) = 0;
};

class ProcessMonitor {
 public:
  virtual ~ProcessMonitor() = default;
  // `on_exit` runs on the loop when `pid` (a child of this process) exits.
  virtual void WatchChild(int pid, std::function<void(ExitResult)> on_exit) = 0;
  // For a process started by an earlier agent: `on_exit` runs when it is
  // gone; its exit status cannot be known (nullopt).
  virtual void WatchAdopted(const ProcessHandle& handle,
                            std::function<void(std::optional<ExitResult>)> on_exit) = 0;
};

}  // namespace drover
