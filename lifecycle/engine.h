// The lifecycle engine: runs every allocation placed on this node.
//
// It owns one event loop thread (Boost.Asio) on which all AllocRunners and
// TaskRunners live, reaps task processes (SIGCHLD), watches processes
// adopted from an earlier agent, and runs timers. Other threads talk to it
// only through the thread-safe methods below, which post to the loop.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "lifecycle/driver.h"
#include "lifecycle/task_env.h"
#include "storage/state_store.h"

namespace drover {

struct EngineOptions {
  std::string data_dir;
  NodeInfo node;
};

class Engine {
 public:
  Engine(StateStore& store, DriverPtr driver, EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Restores every allocation from the store (reattaching to running
  // tasks), then starts the loop. Returns once the restore is done.
  Status Start();

  // Stops the loop. With `kill_tasks`, every task is killed first (bounded
  // by the tasks' kill timeouts); otherwise tasks keep running, to be
  // adopted by the next agent.
  void Stop(bool kill_tasks);

  // The scheduler committed changes to these allocations (new, stopped,
  // purged). Thread-safe; returns at once.
  void AllocsUpdated(std::vector<std::string> alloc_ids);

  // The number of allocations with a runner (for agent stats).
  std::size_t RunningAllocs() const;

 private:
  class Loop;
  std::unique_ptr<Loop> loop_;
};

}  // namespace drover
