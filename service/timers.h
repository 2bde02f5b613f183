// Timers for the scheduler side of the agent (delayed reschedules), on a
// thread of their own so that they never wait behind task work.
#pragma once

#include <functional>
#include <memory>

#include "common/gotime.h"

namespace drover {

class Timers {
 public:
  Timers();
  ~Timers();  // Stop()s
  Timers(const Timers&) = delete;
  Timers& operator=(const Timers&) = delete;

  // Runs `fn` on the timer thread after `delay`.
  void After(Nanos delay, std::function<void()> fn);
  // Drops pending timers and joins the thread.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace drover
