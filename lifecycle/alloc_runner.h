// AllocRunner: runs the tasks of one allocation and persists their states.
//
// It owns the allocation as the scheduler placed it (job, group, desired
// status) and one TaskRunner per task. Whenever a task's state changes it
// writes, in one store change, the allocation with every task's state and
// the derived ClientStatus, the task's local state, and an
// "AllocationUpdated" journal event.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lifecycle/task_runner.h"
#include "storage/state_store.h"

namespace drover {

struct AllocRunnerDeps {
  StateStore& store;
  Scheduler& scheduler;
  ProcessMonitor& monitor;
  Driver& driver;
  const NodeInfo& node;
  const EnvMap& agent_env;
  std::string data_dir;
};

class AllocRunner : public TaskRunnerListener {
 public:
  AllocRunner(AllocRunnerDeps deps, Allocation alloc);
  ~AllocRunner() override;

  // A new allocation: every task starts.
  void Run();
  // An allocation of an earlier agent: each task continues from its
  // persisted TaskState and local state.
  Status Restore();
  // The scheduler changed the allocation (e.g. DesiredStatus "stop").
  void Update(const Allocation& alloc);
  // Kills every task that is not dead.
  void KillAll(const std::string& reason);

  const Allocation& alloc() const { return alloc_; }
  bool AllTasksDead() const;

 private:
  void TaskStateChanged(const std::string& task) override;
  TaskRunner* FindTask(const std::string& name);
  const TaskGroup* Group() const;

  AllocRunnerDeps deps_;
  Allocation alloc_;
  std::vector<std::unique_ptr<TaskRunner>> tasks_;
};

// True if an allocation needs a runner: the scheduler wants it running, or
// it still has tasks that are not dead.
bool AllocNeedsRunner(const Allocation& alloc);

}  // namespace drover
