#include "lifecycle/task_runner.h"

#include <signal.h>

#include <algorithm>
#include <boost/json.hpp>
#include <limits>

#include "common/checked_math.h"
#include "common/log.h"
#include "lifecycle/task_events.h"

namespace drover {
namespace {

namespace json = boost::json;

constexpr Nanos kDefaultKillTimeout = 5 * kSecond;
// How long past the KillTimeout the agent waits for the executor's SIGKILL.
constexpr Nanos kKillGrace = 2 * kSecond;

}  // namespace

std::string EncodeTaskLocalState(const TaskLocalState& s) {
  json::object o;
  o["ExecutorPid"] = s.handle.pid;
  o["ExecutorStartTicks"] = s.handle.start_ticks;
  o["TaskPid"] = s.handle.task_pid;
  o["ExecutorDir"] = s.handle.state_dir;
  o["RunComplete"] = s.run_complete;
  o["RestartCount"] = s.tracker.count;
  o["RestartIntervalStart"] = s.tracker.interval_start;
  return json::serialize(o);
}

Result<TaskLocalState> DecodeTaskLocalState(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return Internal("corrupt task local state: " + text);
  const json::object& o = v.get_object();
  TaskLocalState s;
  try {
    s.handle.pid = static_cast<int>(o.at("ExecutorPid").to_number<std::int64_t>());
    s.handle.start_ticks = o.at("ExecutorStartTicks").to_number<std::uint64_t>();
    s.handle.task_pid = static_cast<int>(o.at("TaskPid").to_number<std::int64_t>());
    s.handle.state_dir = std::string(o.at("ExecutorDir").as_string());
    s.run_complete = o.at("RunComplete").as_bool();
    s.tracker.count = o.at("RestartCount").to_number<std::int64_t>();
    s.tracker.interval_start = o.at("RestartIntervalStart").to_number<std::int64_t>();
  } catch (const std::exception& e) {
    return Internal(std::string("corrupt task local state: ") + e.what());
  }
  return s;
}

TaskRunner::TaskRunner(TaskRunnerDeps deps, const Allocation& alloc, const Task& task,
                       const std::string& job_type, const RestartPolicy& policy)
    : deps_(deps),
      alloc_(alloc),
      task_(task),
      paths_(MakeTaskPaths(deps.data_dir, alloc.ID, task.Name)),
      tracker_(policy, job_type, task.Lifecycle, deps.scheduler.Now()),
      hooks_(DefaultPrestartHooks(deps.agent_env, deps.containment)) {
  state_.State = kTaskStatePending;
}

TaskRunner::~TaskRunner() {
  *alive_ = false;
  deps_.scheduler.Cancel(restart_timer_);
  deps_.scheduler.Cancel(kill_timer_);
}

void TaskRunner::Start() {
  Emit(EventReceived(deps_.scheduler.Now()));
  Changed();
  RunOnce();
}

void TaskRunner::Restore(TaskState state, TaskLocalState local) {
  state_ = std::move(state);
  local_ = local;
  tracker_.Restore(local.tracker);
  if (local_.run_complete) return;  // finished for good: never runs again
  if (dead()) return;               // may run again only on an AllTasks restart

  if (state_.State == kTaskStateRunning) {
    if (ProcessAlive(local_.handle)) {
      Watch(/*adopted=*/true);  // reattached: same process, no new events
      return;
    }
    // The task ended while no agent watched: its executor recorded how.
    OnExit(std::nullopt);
    return;
  }
  // Pending: either never started or waiting out a restart delay. Without
  // the timer of the earlier agent, run now (once the gate allows).
  RunOnce();
}

void TaskRunner::Kill(const std::string& reason) {
  if (killing_ || local_.run_complete) return;
  killing_ = true;
  Nanos now = deps_.scheduler.Now();
  if (starting_) {
    // Its executor is coming up: Started() stops it once it reports.
    Emit(EventKilling(now, KillTimeout(), reason));
    Changed();
    return;
  }
  if (!running()) {
    // Pending (waiting for its gate or a restart) or dead in a live
    // allocation: nothing to signal, but its run is over.
    deps_.scheduler.Cancel(restart_timer_);
    waiting_for_gate_ = false;
    tracker_.SetKilled();
    local_.run_complete = true;
    if (dead()) {
      Changed();
    } else {
      SetState(kTaskStateDead, EventKilled(now, ""));
    }
    return;
  }
  // The signal first, then the record: a stop of many tasks sends every
  // kill before one batch records them all.
  StopProcess();
  Emit(EventKilling(now, KillTimeout(), reason));
  Changed();
}

// The executor sends the KillSignal now and SIGKILL after the KillTimeout.
// Should it not manage (it hangs, or is gone), the agent sends SIGKILL
// itself a little later.
void TaskRunner::StopProcess() {
  Status st = deps_.driver.Kill(local_.handle);
  if (!st.ok()) log::Warn("kill task " + task_.Name + " of alloc " + alloc_.ID + ": " + st.message());
  std::weak_ptr<bool> alive = alive_;
  deps_.scheduler.Cancel(kill_timer_);
  kill_timer_ = deps_.scheduler.After(SaturatingAdd(KillTimeout(), kKillGrace), [this, alive] {
    if (alive.expired() || !*alive.lock()) return;
    if (running()) (void)deps_.driver.Signal(local_.handle, SIGKILL);
  });
}

Nanos TaskRunner::KillTimeout() const {
  Nanos timeout = task_.KillTimeout > 0 ? task_.KillTimeout : kDefaultKillTimeout;
  return std::min(timeout, deps_.node.max_kill_timeout);
}

void TaskRunner::GateOpened() {
  if (waiting_for_gate_) RunOnce();
}

Status TaskRunner::Restart(TaskEvent event, bool failure) {
  if (!running() || killing_) return FailedPrecondition(kErrTaskNotRunning);
  return RestartImpl(std::move(event), failure);
}

Status TaskRunner::ForceRestart(TaskEvent event, bool failure) {
  if (killing_ || local_.run_complete) return FailedPrecondition(kErrTaskNotRunning);
  if (state_.State == kTaskStatePending) return FailedPrecondition(kErrTaskNotRunning);
  return RestartImpl(std::move(event), failure);
}

Status TaskRunner::RestartImpl(TaskEvent event, bool failure) {
  Emit(std::move(event));
  tracker_.SetRestartTriggered(failure);
  if (running()) {
    Changed();
    StopProcess();  // the exit runs the restart policy, which restarts
    return Status::Ok();
  }
  // Dead but its run loop is alive: run again through the policy.
  ApplyRestartPolicy();
  return Status::Ok();
}

Status TaskRunner::Signal(int signal, const std::string& name) {
  if (!running()) return FailedPrecondition(kErrTaskNotRunning);
  // As Nomad's alloc runner: the signal goes into Details only.
  TaskEvent e = EventSignaling(deps_.scheduler.Now(), "", "");
  e.Details["signal"] = name;
  Emit(std::move(e));
  Changed();
  return deps_.driver.Signal(local_.handle, signal);
}

void TaskRunner::EmitEvent(TaskEvent event) {
  Emit(std::move(event));
  Changed();
}

void TaskRunner::MarkRunComplete() {
  if (local_.run_complete) return;
  deps_.scheduler.Cancel(restart_timer_);
  waiting_for_gate_ = false;
  local_.run_complete = true;
  Changed();
}

void TaskRunner::RunOnce() {
  restart_timer_ = 0;
  if (killing_ || local_.run_complete || starting_) return;
  if (!deps_.listener.MayStart(task_)) {
    waiting_for_gate_ = true;
    if (state_.State != kTaskStatePending) SetState(kTaskStatePending, std::nullopt);
    return;
  }
  waiting_for_gate_ = false;
  Nanos now = deps_.scheduler.Now();
  if (!paths_.ok()) {
    // Job validation refuses such names; one that got into the store
    // anyway never becomes a path.
    HandleStartFailure(EventSetupFailure(now, paths_.status().message(), true), false);
    return;
  }
  const TaskPaths& paths = *paths_;
  EnvMap env;
  TaskHookContext ctx{alloc_, task_, paths, deps_.node, env,
                      [this](TaskEvent e) { Emit(std::move(e)); }, now};
  for (auto& hook : hooks_) {
    Status st = hook->Prestart(ctx);
    if (!st.ok() && st.code() == StatusCode::kInvalidArgument) {
      // The task as given cannot run (e.g. a disallowed user): as Nomad,
      // "Task hook failed" and the error is not recoverable.
      HandleStartFailure(EventHookFailed(now, std::string(hook->Name()) + ": " + st.message()), false);
      return;
    }
    if (!st.ok()) {
      HandleStartFailure(EventSetupFailure(now, st.message(), false), true);
      return;
    }
  }

  // raw_exec's config: {"command": "...", "args": [...]}.
  TaskLaunch launch;
  boost::system::error_code ec;
  json::value config = json::parse(task_.Config.text, ec);
  if (!ec && config.is_object()) {
    if (auto* c = config.get_object().if_contains("command"); c && c->is_string())
      launch.command = Interpolate(std::string(c->get_string()), env);
    if (auto* a = config.get_object().if_contains("args"); a && a->is_array()) {
      for (const auto& arg : a->get_array()) {
        if (arg.is_string()) launch.args.push_back(Interpolate(std::string(arg.get_string()), env));
      }
    }
  }
  launch.env = std::move(env);
  launch.working_dir = paths.task_dir;
  launch.alloc_dir = paths.alloc_dir;
  launch.logs_dir = std::string(kLogsDirRel);
  launch.stdout_name = paths.stdout_name;
  launch.stderr_name = paths.stderr_name;
  if (task_.LogConfig) {
    // Validated at registration; clamped again for jobs stored before that.
    launch.max_files = static_cast<int>(std::clamp<std::int64_t>(
        task_.LogConfig->MaxFiles, 1, std::numeric_limits<int>::max()));
    launch.max_file_bytes = static_cast<std::uint64_t>(std::clamp<std::int64_t>(
                                task_.LogConfig->MaxFileSizeMB, 1,
                                std::numeric_limits<std::int64_t>::max() >> 20))
                            << 20;
  }
  int kill_signal = task_.KillSignal.empty() ? SIGINT : SignalFromName(task_.KillSignal);
  launch.kill_signal = kill_signal < 0 ? SIGINT : kill_signal;
  launch.kill_timeout = KillTimeout();
  launch.state_dir = paths.executor_dir;
  launch.user = task_.User;
  // As Nomad's task dir for exec: the user owns what the task writes to.
  launch.user_dirs = {"local", "secrets", "tmp"};
  launch.alloc_id = alloc_.ID;
  launch.task_name = task_.Name;
  if (task_.Resources) {
    launch.memory_mb = task_.Resources->MemoryMB;
    launch.memory_max_mb = task_.Resources->MemoryMaxMB;
    launch.cpu_mhz = task_.Resources->CPU;
  }

  starting_ = true;
  std::weak_ptr<bool> alive = alive_;
  deps_.driver.Start(launch, deps_.scheduler, deps_.monitor,
                     [this, alive, now](Result<ProcessHandle> handle) {
                       if (alive.expired() || !*alive.lock()) {
                         // The runner is gone (the agent stops): the task
                         // runs on unwatched; a killed one stops here.
                         return;
                       }
                       Started(std::move(handle), now);
                     });
}

void TaskRunner::Started(Result<ProcessHandle> handle, Nanos attempt_time) {
  starting_ = false;
  if (!handle.ok()) {
    bool recoverable = handle.status().code() != StatusCode::kInvalidArgument;
    if (killing_) {
      // Killed while it came up and it never did: dead now.
      tracker_.SetKilled();
      local_.run_complete = true;
      SetState(kTaskStateDead, EventKilled(deps_.scheduler.Now(), ""));
      return;
    }
    HandleStartFailure(EventDriverFailure(attempt_time, handle.status().message()), recoverable);
    return;
  }
  local_.handle = *handle;
  Watch(/*adopted=*/false);
  if (killing_) {
    // Killed while it came up: stop it at once; its exit records the kill.
    StopProcess();
    Changed();
    return;
  }
  SetState(kTaskStateRunning, EventStarted(deps_.scheduler.Now()));
}

void TaskRunner::Watch(bool adopted) {
  std::weak_ptr<bool> alive = alive_;
  // Either way the executor is gone once this fires: its exit file says
  // how the task ended.
  auto on_exit = [this, alive] {
    if (alive.expired() || !*alive.lock()) return;
    OnExit(std::nullopt);
  };
  if (adopted) {
    deps_.monitor.WatchAdopted(local_.handle, on_exit);
  } else {
    deps_.monitor.WatchChild(local_.handle.pid, on_exit);
  }
}

void TaskRunner::OnExit(std::optional<ExitResult> result) {
  if (!result) result = deps_.driver.ExitStatus(local_.handle);
  if (!result) {
    // The executor was killed before it recorded an exit: its task may live
    // on, orphaned. As Nomad destroys a task it cannot recover, kill the
    // task's group (the driver signals it directly when no executor
    // answers), or a restart would run the task twice.
    Status st = deps_.driver.Signal(local_.handle, SIGKILL);
    if (!st.ok()) log::Warn("kill orphaned task " + task_.Name + " of alloc " + alloc_.ID + ": " + st.message());
  }
  deps_.driver.Cleanup(local_.handle);
  local_.handle = {};
  deps_.scheduler.Cancel(kill_timer_);
  Nanos now = deps_.scheduler.Now();
  if (result) {
    // As Nomad reports a task the kernel OOM-killed: Details.oom_killed and
    // the exit message "OOM Killed".
    Emit(EventTerminated(now, result->ExitCode, result->Signal,
                         result->OOMKilled ? kExitMessageOOMKilled : "", result->OOMKilled));
    tracker_.SetExitResult(*result);
  } else {
    // The executor itself was killed before it could record the exit.
    Emit(EventTerminated(now, 0, 0, "executor exited without recording the task's exit status"));
    tracker_.SetStartError(/*recoverable=*/true);  // counts as a failure
  }
  if (killing_) {
    tracker_.SetKilled();
    (void)tracker_.GetState(now);
    local_.run_complete = true;  // a killed task's run loop ends
    SetState(kTaskStateDead, EventKilled(now, ""));
    return;
  }
  ApplyRestartPolicy();
}

void TaskRunner::HandleStartFailure(TaskEvent event, bool recoverable) {
  if (!recoverable) event.FailsTask = true;
  Emit(std::move(event));
  tracker_.SetStartError(recoverable);
  ApplyRestartPolicy();
}

void TaskRunner::ApplyRestartPolicy() {
  Nanos now = deps_.scheduler.Now();
  RestartDecision d = tracker_.GetState(now);
  local_.tracker = tracker_.state();
  switch (d.verdict) {
    case RestartVerdict::kRestarting: {
      TaskEvent e = EventRestarting(now, d.delay, d.reason);
      state_.Restarts++;
      state_.LastRestart = GoTime::FromUnixNanos(now);
      SetState(kTaskStatePending, std::move(e));
      std::weak_ptr<bool> alive = alive_;
      restart_timer_ = deps_.scheduler.After(d.delay, [this, alive] {
        if (alive.expired() || !*alive.lock()) return;
        RunOnce();
      });
      return;
    }
    case RestartVerdict::kNotRestarting: {
      TaskEvent e = EventNotRestarting(now, d.reason);
      e.FailsTask = true;
      state_.Failed = true;
      SetState(kTaskStateDead, std::move(e));
      return;
    }
    case RestartVerdict::kKilled:
    case RestartVerdict::kTerminated:
    case RestartVerdict::kNone:
      // Dead, but the run loop lives on: an AllTasks restart may run the
      // task again until the allocation is done (MarkRunComplete).
      SetState(kTaskStateDead, std::nullopt);
      return;
  }
}

void TaskRunner::SetState(const char* state, std::optional<TaskEvent> event) {
  Nanos now = deps_.scheduler.Now();
  if (event) Emit(std::move(*event));
  if (std::string(state) == kTaskStateRunning && state_.State != kTaskStateRunning) {
    state_.StartedAt = GoTime::FromUnixNanos(now);
  }
  if (std::string(state) == kTaskStateDead && !state_.FinishedAt) {
    state_.FinishedAt = GoTime::FromUnixNanos(now);
  }
  state_.State = state;
  Changed();
}

void TaskRunner::Emit(TaskEvent event) {
  if (event.FailsTask) state_.Failed = true;
  AppendTaskEvent(state_, std::move(event));
}

void TaskRunner::Changed() {
  local_.tracker = tracker_.state();
  deps_.listener.TaskStateChanged(task_.Name);
}

}  // namespace drover
