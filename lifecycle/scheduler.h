// What a task runner needs of the event loop and of process supervision.
// The engine implements both on one Boost.Asio loop; tests use fakes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "common/gotime.h"
#include "lifecycle/driver.h"

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
  virtual void WatchChild(int pid, std::function<void()> on_exit) = 0;
  // For an executor started by an earlier agent (not our child): `on_exit`
  // runs on the loop once it is gone.
  virtual void WatchAdopted(const ProcessHandle& handle, std::function<void()> on_exit) = 0;
  // `on_ready` runs once on the loop when `fd` is readable (data, end of
  // file or error). The monitor waits on a duplicate of `fd`, so the
  // caller may close its own at any time.
  virtual void WhenReadable(int fd, std::function<void()> on_ready) = 0;
};

}  // namespace drover
