#include "lifecycle/alloc_runner.h"

#include "common/log.h"
#include "lifecycle/task_events.h"
#include "storage/codec.h"

namespace drover {
namespace {

constexpr Nanos kPersistRetryDelay = 5 * kSecond;

std::vector<Task> GroupTasks(const Allocation& alloc) {
  const TaskGroup* group = GroupOf(alloc);
  return group ? group->Tasks : std::vector<Task>{};
}

}  // namespace

bool AllocNeedsRunner(const Allocation& alloc) {
  if (ClientTerminal(alloc.ClientStatus)) return false;
  if (alloc.DesiredStatus == kAllocDesiredRun) return true;
  if (!alloc.TaskStates) return false;  // stopped before any task started
  for (const auto& [name, ts] : *alloc.TaskStates) {
    if (ts.State != kTaskStateDead) return true;
  }
  return false;
}

AllocRunner::AllocRunner(AllocRunnerDeps deps, Allocation alloc)
    : deps_(deps), alloc_(std::move(alloc)), coordinator_(GroupTasks(alloc_)) {
  const TaskGroup* group = GroupOf(alloc_);
  if (group == nullptr) return;
  TaskRunnerDeps task_deps{deps_.scheduler, deps_.monitor,   deps_.driver, *this,
                           deps_.node,      deps_.agent_env, deps_.data_dir,
                           deps_.containment};
  const std::string& job_type = alloc_.Job->Type;
  for (const Task& task : group->Tasks) {
    RestartPolicy policy = task.RestartPolicy    ? *task.RestartPolicy
                           : group->RestartPolicy ? *group->RestartPolicy
                                                  : RestartPolicy{};
    tasks_.push_back(std::make_unique<TaskRunner>(task_deps, alloc_, task, job_type, policy));
  }
}

AllocRunner::~AllocRunner() { *alive_ = false; }

TaskRunner* AllocRunner::FindTask(const std::string& name) {
  for (auto& t : tasks_) {
    if (t->name() == name) return t.get();
  }
  return nullptr;
}

TaskStates AllocRunner::States() const {
  TaskStates states;
  for (const auto& t : tasks_) states[t->name()] = t->state();
  return states;
}

bool AllocRunner::ShouldRun() const {
  return alloc_.DesiredStatus == kAllocDesiredRun && !AllTasksDead();
}

void AllocRunner::Run() {
  // Every task is "Received" before the coordinator leaves init.
  coordinator_.TaskStatesUpdated(States());
  for (auto& t : tasks_) t->Start();
  ScheduleReconcile();
}

Status AllocRunner::Restore() {
  // Position the coordinator first, from the states as they were saved, so
  // that restored tasks see the right gates.
  TaskStates saved = alloc_.TaskStates ? *alloc_.TaskStates : TaskStates{};
  for (auto& t : tasks_) {
    if (!saved.count(t->name())) saved[t->name()].State = kTaskStatePending;
  }
  coordinator_.Restore(saved);
  for (auto& t : tasks_) {
    const TaskState* state = nullptr;
    if (alloc_.TaskStates) {
      auto it = alloc_.TaskStates->find(t->name());
      if (it != alloc_.TaskStates->end()) state = &it->second;
    }
    if (state == nullptr) continue;
    ASSIGN_OR_RETURN(std::optional<std::string> local_json,
                     deps_.store.GetTaskLocal(alloc_.ID, t->name()));
    TaskLocalState local;
    if (local_json) {
      ASSIGN_OR_RETURN(local, DecodeTaskLocalState(*local_json));
    }
    t->Restore(*state, local);
  }
  for (auto& t : tasks_) {
    // Placed but never received before the agent stopped.
    if (!alloc_.TaskStates || !alloc_.TaskStates->count(t->name())) t->Start();
  }
  if (alloc_.DesiredStatus != kAllocDesiredRun) KillAll();
  ScheduleReconcile();
  return Status::Ok();
}

void AllocRunner::Update(const Allocation& alloc) {
  bool stopping = alloc_.DesiredStatus == kAllocDesiredRun && alloc.DesiredStatus != kAllocDesiredRun;
  alloc_.DesiredStatus = alloc.DesiredStatus;
  alloc_.DesiredDescription = alloc.DesiredDescription;
  alloc_.AllocModifyIndex = alloc.AllocModifyIndex;
  if (stopping) KillAll();
}

void AllocRunner::KillAll(bool include_poststop) {
  if (include_poststop) {
    for (auto& t : tasks_) t->Kill("");
    return;
  }
  if (kill_phase_ == KillPhase::kNone) kill_phase_ = KillPhase::kLeader;
  AdvanceKill();
}

// Nomad's killTasks: the leader first and alone, then the other tasks that
// are neither sidecars nor poststop, then the sidecars once those are dead.
void AllocRunner::AdvanceKill() {
  auto kill_where = [&](auto pred) {
    bool all_dead = true;
    for (auto& t : tasks_) {
      if (!pred(*t)) continue;
      t->Kill("");
      all_dead = all_dead && t->dead();
    }
    return all_dead;
  };
  for (;;) {
    switch (kill_phase_) {
      case KillPhase::kNone:
      case KillPhase::kDone:
        return;
      case KillPhase::kLeader:
        if (!kill_where([](TaskRunner& t) { return t.task().Leader; })) return;
        kill_phase_ = KillPhase::kMain;
        break;
      case KillPhase::kMain:
        if (!kill_where([](TaskRunner& t) {
              return !t.task().Leader && !IsSidecar(t.task()) && !IsPoststop(t.task());
            }))
          return;
        kill_phase_ = KillPhase::kSidecars;
        break;
      case KillPhase::kSidecars:
        if (!kill_where([](TaskRunner& t) {
              return IsSidecar(t.task()) && !IsPoststop(t.task());
            }))
          return;
        kill_phase_ = KillPhase::kDone;
        break;
    }
  }
}

Status AllocRunner::RestartTask(const std::string& task, TaskEvent event) {
  TaskRunner* t = FindTask(task);
  if (t == nullptr) return NotFound("Could not find task runner for task: " + task);
  return t->Restart(std::move(event), /*failure=*/false);
}

Status AllocRunner::RestartRunning(TaskEvent event) {
  if (!ShouldRun()) return FailedPrecondition("restart of an alloc that should not run");
  for (auto& t : tasks_) {
    Status st = t->Restart(event, /*failure=*/false);
    if (!st.ok() && st.message() != kErrTaskNotRunning) {
      return st.Annotate("failed to restart task " + t->name());
    }
  }
  return Status::Ok();
}

Status AllocRunner::RestartAll(TaskEvent event) {
  if (!ShouldRun()) return FailedPrecondition("restart of an alloc that should not run");
  // Back to init, so that tasks which already ran (a finished prestart
  // task) run again in lifecycle order.
  coordinator_.Restart();
  for (auto& t : tasks_) {
    Status st = t->ForceRestart(event, /*failure=*/false);
    if (!st.ok() && st.message() != kErrTaskNotRunning) {
      return st.Annotate("failed to restart task " + t->name());
    }
  }
  ScheduleReconcile();
  return Status::Ok();
}

Status AllocRunner::Signal(const std::string& task, int signal, const std::string& signal_name) {
  if (!task.empty()) {
    TaskRunner* t = FindTask(task);
    if (t == nullptr) return NotFound("Task not found");
    return t->Signal(signal, signal_name);
  }
  for (auto& t : tasks_) {
    if (!t->running()) continue;
    RETURN_IF_ERROR(t->Signal(signal, signal_name).Annotate("Failed to signal task: " + t->name()));
  }
  return Status::Ok();
}

bool AllocRunner::AllTasksDead() const {
  for (const auto& t : tasks_) {
    if (!t->dead()) return false;
  }
  return true;
}

bool AllocRunner::MayStart(const Task& task) { return coordinator_.MayStart(task); }

void AllocRunner::TaskStateChanged(const std::string& task_name) {
  Persist(task_name);
  ScheduleReconcile();
}

// Reconciling may kill tasks, which changes states again: it runs from the
// loop, once per burst of changes, never from inside a task runner.
void AllocRunner::ScheduleReconcile() {
  if (reconcile_scheduled_) return;
  reconcile_scheduled_ = true;
  std::weak_ptr<bool> alive = alive_;
  deps_.scheduler.After(0, [this, alive] {
    if (alive.expired() || !*alive.lock()) return;
    reconcile_scheduled_ = false;
    Reconcile();
  });
}

void AllocRunner::Reconcile() {
  KillForFailure();
  AdvanceKill();

  if (coordinator_.TaskStatesUpdated(States())) {
    log::Debug("alloc " + alloc_.ID + ": coordinator entered " +
               CoordinatorStateName(coordinator_.state()));
  }
  for (auto& t : tasks_) {
    if (coordinator_.MayStart(t->task())) t->GateOpened();
  }

  // Once every task is dead the allocation is done: no task may run again,
  // not even after an agent restart (Nomad's RunComplete).
  if (AllTasksDead()) {
    for (auto& t : tasks_) t->MarkRunComplete();
  }
}

// Nomad's handleTaskStateUpdates: a failed task kills its siblings ("Sibling
// Task Failed"), a dead leader kills the rest ("Leader Task Dead"), and
// sidecars left alone are killed ("Main Tasks Dead").
void AllocRunner::KillForFailure() {
  if (kill_phase_ != KillPhase::kNone) return;
  std::optional<TaskEvent> kill_event;
  std::vector<TaskRunner*> live;
  bool has_sidecars = false;
  Nanos now = deps_.scheduler.Now();
  for (auto& t : tasks_) {
    if (IsSidecar(t->task())) has_sidecars = true;
    if (IsPoststop(t->task())) continue;
    if (!t->dead()) {
      live.push_back(t.get());
      continue;
    }
    if (t->state().Failed) {
      if (!kill_event) kill_event = EventSiblingFailed(now, t->name());
    } else if (t->task().Leader) {
      kill_event = EventLeaderDead(now);
    }
  }
  if (live.empty()) return;
  bool only_sidecars = has_sidecars;
  for (TaskRunner* t : live) only_sidecars = only_sidecars && IsSidecar(t->task());
  if (!kill_event && only_sidecars) {
    TaskEvent e;
    e.Type = kEventMainDead;
    e.Time = now;
    PopulateDisplayMessage(e);
    kill_event = e;
  }
  if (!kill_event) return;
  log::Info("alloc " + alloc_.ID + ": " + kill_event->Type + ", killing the other tasks");
  for (TaskRunner* t : live) t->EmitEvent(*kill_event);
  kill_phase_ = KillPhase::kLeader;
}

// A write that failed (a full disk) is tried again until it succeeds, so
// that the store catches up with the tasks once space is freed, without
// waiting for the next change of the task.
void AllocRunner::RetryPersist(const std::string& task_name) {
  unpersisted_.insert(task_name);
  if (persist_retry_scheduled_) return;
  persist_retry_scheduled_ = true;
  std::weak_ptr<bool> alive = alive_;
  deps_.scheduler.After(kPersistRetryDelay, [this, alive] {
    if (alive.expired() || !*alive.lock()) return;
    persist_retry_scheduled_ = false;
    const std::set<std::string> names = unpersisted_;
    for (const std::string& name : names) Persist(name);
  });
}

void AllocRunner::Persist(const std::string& task_name) {
  TaskRunner* task = FindTask(task_name);
  if (task == nullptr) return;
  TaskStates states = States();
  ClientStatusPair status = DeriveClientStatus(states);
  Nanos now = deps_.scheduler.Now();

  auto result = deps_.store.Apply([&](WriteTxn& txn) -> Status {
    // Read inside the change so a concurrent scheduler update (e.g. a stop)
    // is kept, not overwritten.
    // The Job is neither read nor written: the record keeps its reference.
    ASSIGN_OR_RETURN(std::optional<StoredAlloc> stored, deps_.store.GetAllocWithoutJob(alloc_.ID));
    if (!stored) return NotFound("alloc purged");
    Allocation* current = &stored->alloc;
    current->TaskStates = states;
    current->ClientStatus = status.status;
    current->ClientDescription = status.description;
    current->ModifyIndex = txn.index();
    current->ModifyTime = now;
    txn.PutAllocWithoutJob(*stored);
    txn.PutTaskLocal(alloc_.ID, task_name, EncodeTaskLocalState(task->local_state()));

    txn.AddEvent(AllocationEvent("AllocationUpdated", *current));
    return Status::Ok();
  });
  if (!result.ok()) {
    if (result.status().code() != StatusCode::kNotFound) {
      log::Error("persist task state of alloc " + alloc_.ID + " task " + task_name + ": " +
                 result.status().ToString());
      RetryPersist(task_name);
    }
    return;
  }
  unpersisted_.erase(task_name);
  alloc_.ClientStatus = status.status;
  if (ClientTerminal(status.status) && AllTasksDead() && !terminal_reported_) {
    terminal_reported_ = true;
    deps_.listener.AllocTerminal(alloc_.ID, status.status);
  }
}

}  // namespace drover
