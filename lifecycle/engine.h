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
#include "lifecycle/alloc_backend.h"
#include "lifecycle/containment.h"
#include "lifecycle/driver.h"
#include "lifecycle/exec_spawn.h"
#include "lifecycle/task_env.h"
#include "storage/state_store.h"

namespace drover {

// What the engine tells the layer above (the scheduler) about allocations.
class EngineListener {
 public:
  virtual ~EngineListener() = default;
  // Every task of the allocation is dead; its ClientStatus is final.
  virtual void AllocTerminal(const std::string& alloc_id, const std::string& client_status) = 0;
};

struct EngineOptions {
  std::string data_dir;
  NodeInfo node;
  EngineListener* listener = nullptr;  // may be null
  ContainmentOptions containment;      // task user policy (the driver holds the cgroups)
};

class Engine {
 public:
  // Allocations from `source`, task states to `sink` (both must outlive
  // the engine).
  Engine(AllocationSource& source, UpdateSink& sink, DriverPtr driver, EngineOptions options);
  // Both over the local store (StoreAllocBackend).
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

  // The allocation source changed these allocations (new, stopped,
  // purged). Thread-safe; returns at once.
  void AllocsUpdated(std::vector<std::string> alloc_ids);

  // The alloc restart API: one task (must be running), or with `all_tasks`
  // every task including those that already ran, or else the running ones.
  // Errors carry Nomad's texts; an unknown allocation is NotFound.
  Status RestartAlloc(const std::string& alloc_id, const std::string& task, bool all_tasks);
  // Sends a signal to one task, or to every running task when `task` is "".
  Status SignalAlloc(const std::string& alloc_id, const std::string& task,
                     const std::string& signal);

  // alloc exec: where a command for `task` of the allocation runs. Errors
  // in Nomad's words: NotFound "Unknown allocation", Internal "task not
  // found" (the allocation has no such task), NotFound "task \"x\" not
  // started yet." and "task \"x\" is not running.".
  Result<ExecTarget> FindExecTarget(const std::string& alloc_id, const std::string& task);

  // The number of allocations with a runner (for agent stats).
  std::size_t RunningAllocs() const;

 private:
  class Loop;
  std::unique_ptr<StoreAllocBackend> own_backend_;
  std::unique_ptr<Loop> loop_;
};

}  // namespace drover
