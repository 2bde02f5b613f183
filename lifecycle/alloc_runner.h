// AllocRunner: runs the tasks of one allocation and persists their states.
//
// It owns the allocation as the scheduler placed it (job, group, desired
// status), one TaskRunner per task, and the lifecycle Coordinator that
// gates when each task may start. Whenever a task's state changes it
// stages, for the engine's group commit (UpdateBatcher), every task's
// state, the derived ClientStatus and the changed tasks' local states; the
// batch is written at the end of the loop turn. Then it reconciles: Nomad's rules for
// killing the other tasks (a failed task, a dead leader, only sidecars
// left), the coordinator's gates, and the end of the allocation.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "lifecycle/alloc_backend.h"
#include "lifecycle/coordinator.h"
#include "lifecycle/task_runner.h"
#include "lifecycle/update_batcher.h"

namespace drover {

class AllocListener {
 public:
  virtual ~AllocListener() = default;
  // The allocation's ClientStatus became terminal ("complete" or "failed");
  // called once, after the change is durable.
  virtual void AllocTerminal(const std::string& alloc_id, const std::string& client_status) = 0;
};

struct AllocRunnerDeps {
  AllocationSource& source;
  UpdateBatcher& batcher;
  Scheduler& scheduler;
  ProcessMonitor& monitor;
  Driver& driver;
  AllocListener& listener;
  const NodeInfo& node;
  const EnvMap& agent_env;
  std::string data_dir;
  const ContainmentOptions& containment;
};

class AllocRunner : public TaskRunnerListener, public UpdateBatcher::Client {
 public:
  AllocRunner(AllocRunnerDeps deps, Allocation alloc);
  ~AllocRunner() override;

  // A new allocation: every task is received and starts when its gate opens.
  void Run();
  // An allocation of an earlier agent: each task continues from its
  // persisted TaskState and local state.
  Status Restore();
  // The scheduler changed the allocation (e.g. DesiredStatus "stop").
  void Update(const Allocation& alloc);
  // Kills the tasks as Nomad does: the leader first, then the other main
  // tasks, then sidecars. Poststop tasks run afterwards unless
  // `include_poststop` (the agent itself is going away).
  void KillAll(bool include_poststop = false);

  // The alloc restart API (Nomad's RestartTask / RestartRunning / RestartAll).
  Status RestartTask(const std::string& task, TaskEvent event);
  Status RestartRunning(TaskEvent event);
  Status RestartAll(TaskEvent event);
  // Signals one task, or every running task when `task` is empty.
  Status Signal(const std::string& task, int signal, const std::string& signal_name);

  const Allocation& alloc() const { return alloc_; }
  // The runner of task `name`, or null.
  const TaskRunner* FindTaskRunner(const std::string& name) const;
  bool AllTasksDead() const;
  CoordinatorState coordinator_state() const { return coordinator_.state(); }

 private:
  // TaskRunnerListener
  void TaskStateChanged(const std::string& task) override;
  bool MayStart(const Task& task) override;

  // UpdateBatcher::Client
  AllocUpdate TakeUpdate() override;
  void Committed(const AllocUpdate& update, const Status& status) override;

  enum class KillPhase { kNone, kLeader, kMain, kSidecars, kDone };

  void Persist(const std::string& task_name);
  void RetryPersist(const std::vector<std::string>& task_names);
  void ScheduleReconcile();
  void Reconcile();
  void KillForFailure();
  void AdvanceKill();
  bool ShouldRun() const;
  TaskStates States() const;
  TaskRunner* FindTask(const std::string& name);

  AllocRunnerDeps deps_;
  Allocation alloc_;
  std::vector<std::unique_ptr<TaskRunner>> tasks_;
  Coordinator coordinator_;
  KillPhase kill_phase_ = KillPhase::kNone;
  bool reconcile_scheduled_ = false;
  bool terminal_reported_ = false;
  std::set<std::string> dirty_;        // tasks changed since the last TakeUpdate
  std::set<std::string> unpersisted_;  // tasks whose last change failed to persist
  bool persist_retry_scheduled_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// True if an allocation needs a runner: the scheduler wants it running, or
// it still has tasks that are not dead.
bool AllocNeedsRunner(const Allocation& alloc);

}  // namespace drover
