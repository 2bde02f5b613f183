// TaskRunner: runs one task of an allocation through its life: prestart
// hooks, driver start, wait, restart policy, kill. It lives on the engine's
// loop thread and is never touched from another thread.
//
// Every change of the task's state (TaskState and the local state needed
// to survive an agent restart) is reported to the listener, which persists
// it in one store write.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lifecycle/driver.h"
#include "lifecycle/restart_tracker.h"
#include "lifecycle/scheduler.h"
#include "lifecycle/task_hooks.h"
#include "storage/model.h"

namespace drover {

// What the agent keeps about a task beyond its public TaskState.
struct TaskLocalState {
  ProcessHandle handle;     // pid 0 when no process runs
  bool run_complete = false;  // the task will never run again (Nomad's RunComplete)
  RestartTrackerState tracker;
  friend bool operator==(const TaskLocalState&, const TaskLocalState&) = default;
};
std::string EncodeTaskLocalState(const TaskLocalState& s);
Result<TaskLocalState> DecodeTaskLocalState(const std::string& json);

class TaskRunnerListener {
 public:
  virtual ~TaskRunnerListener() = default;
  // The task's state or local state changed; persist both.
  virtual void TaskStateChanged(const std::string& task) = 0;
  // Whether the lifecycle coordinator lets the task start now. A task that
  // may not waits, pending, until TaskRunner::GateOpened().
  virtual bool MayStart(const Task& task) = 0;
};

// Nomad's taskrunner.ErrTaskNotRunning text.
inline constexpr const char* kErrTaskNotRunning = "Task not running";

struct TaskRunnerDeps {
  Scheduler& scheduler;
  ProcessMonitor& monitor;
  Driver& driver;
  TaskRunnerListener& listener;
  const NodeInfo& node;
  const EnvMap& agent_env;
  std::string data_dir;
  const ContainmentOptions& containment;
};

class TaskRunner {
 public:
  // `alloc` must outlive the runner (the AllocRunner owns it).
  TaskRunner(TaskRunnerDeps deps, const Allocation& alloc, const Task& task,
             const std::string& job_type, const RestartPolicy& policy);
  ~TaskRunner();
  TaskRunner(const TaskRunner&) = delete;
  TaskRunner& operator=(const TaskRunner&) = delete;

  // Starts a new task: "Received", then the first run.
  void Start();
  // Picks up a task from an earlier agent: reattaches to its process if it
  // still runs, applies the restart policy if it died meanwhile, resumes a
  // pending restart, and never runs a task whose run is complete.
  void Restore(TaskState state, TaskLocalState local);
  // Kills the task (KillSignal, then SIGKILL after KillTimeout); its run is
  // complete and it will not run again. `reason` goes into the Killing event.
  void Kill(const std::string& reason);

  // The coordinator now lets this task's stage start.
  void GateOpened();

  // Nomad's Restart: restarts the task if it is running (kill, then run
  // again at once). FailedPrecondition kErrTaskNotRunning otherwise.
  Status Restart(TaskEvent event, bool failure);
  // Nomad's ForceRestart: also runs a dead task again, unless its run is
  // complete. The caller restarts the coordinator first.
  Status ForceRestart(TaskEvent event, bool failure);
  // Sends `signal` to the running task, with a "Signaling" event.
  Status Signal(int signal, const std::string& name);
  // Adds an event that explains what happens next (e.g. "Sibling Task
  // Failed" before the task is killed).
  void EmitEvent(TaskEvent event);
  // The allocation is done: the task will never run again.
  void MarkRunComplete();

  const std::string& name() const { return task_.Name; }
  const TaskState& state() const { return state_; }
  const TaskLocalState& local_state() const { return local_; }
  bool dead() const { return state_.State == kTaskStateDead; }
  bool starting() const { return starting_; }
  bool running() const { return local_.handle.pid != 0; }
  bool run_complete() const { return local_.run_complete; }
  const Task& task() const { return task_; }

 private:
  void RunOnce();
  // The driver's answer to a start begun at `attempt_time`.
  void Started(Result<ProcessHandle> handle, Nanos attempt_time);
  // The executor is gone; `result`, when empty, is read from what it recorded.
  void OnExit(std::optional<ExitResult> result);
  void HandleStartFailure(TaskEvent event, bool recoverable);
  Status RestartImpl(TaskEvent event, bool failure);
  void StopProcess();
  void ApplyRestartPolicy();
  void SetState(const char* state, std::optional<TaskEvent> event);
  void Emit(TaskEvent event);
  void Changed();
  void Watch(bool adopted);
  Nanos KillTimeout() const;

  TaskRunnerDeps deps_;
  const Allocation& alloc_;
  const Task& task_;
  Result<TaskPaths> paths_;  // an error for a name that cannot be a directory
  RestartTracker tracker_;
  std::vector<TaskPrestartHookPtr> hooks_;

  TaskState state_;
  TaskLocalState local_;
  bool killing_ = false;
  bool starting_ = false;  // the driver is bringing the executor up
  bool waiting_for_gate_ = false;
  TimerId restart_timer_ = 0;
  TimerId kill_timer_ = 0;
  // Callbacks from the monitor and timers check this token: a runner that
  // is gone must not be called.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace drover
