// The lifecycle coordinator: decides which tasks of an allocation may start,
// following Nomad's tasklifecycle.Coordinator.
//
//                +--------------------------------------------------+
//                |   all non-poststop tasks dead (from any state)   v
//   init -> prestart -> main -> poststart -> wait_alloc -> poststop
//
//   init        every task is pending; nothing may start
//   prestart    prestart tasks may start
//   main        prestart ephemeral tasks succeeded and prestart sidecars
//               run: main tasks (and the sidecars) may start
//   poststart   every main task left "pending": poststart tasks may start
//   wait_alloc  poststart ephemeral tasks are dead: wait for the main tasks
//   poststop    every non-poststop task is dead: only poststop tasks may start
//
// The next-state rule is a pure function; entering a state only changes
// which lifecycle stages are allowed to start.
#pragma once

#include <array>
#include <map>
#include <string>
#include <vector>

#include "storage/model.h"

namespace drover {

enum class CoordinatorState { kInit, kPrestart, kMain, kPoststart, kWaitAlloc, kPoststop };
const char* CoordinatorStateName(CoordinatorState s);

enum class LifecycleStage {
  kPrestartEphemeral,
  kPrestartSidecar,
  kMain,
  kPoststartEphemeral,
  kPoststartSidecar,
  kPoststop,
};
inline constexpr std::size_t kLifecycleStageCount = 6;
const char* LifecycleStageName(LifecycleStage s);

LifecycleStage StageOf(const Task& task);
bool IsSidecar(const Task& task);
bool IsPoststop(const Task& task);

// Task names grouped by stage.
using TasksByStage = std::array<std::vector<std::string>, kLifecycleStageCount>;
TasksByStage GroupTasksByStage(const std::vector<Task>& tasks);

using TaskStates = std::map<std::string, TaskState>;

// The state the coordinator moves to from `current`, one step at a time.
CoordinatorState NextState(CoordinatorState current, const TasksByStage& tasks,
                           const TaskStates& states);

// Whether tasks of `stage` may start while the coordinator is in `state`.
bool StageAllowed(CoordinatorState state, LifecycleStage stage);

class Coordinator {
 public:
  explicit Coordinator(const std::vector<Task>& tasks);

  // Moves through states until they no longer change (an allocation without
  // prestart tasks goes straight from init to main). Returns true if the
  // state changed.
  bool TaskStatesUpdated(const TaskStates& states);

  // Back to init, so that tasks which already ran may run again (an
  // AllTasks restart).
  void Restart() { state_ = CoordinatorState::kInit; }

  // For an allocation restored from the store: its tasks may already run,
  // so init (which waits for every task to be pending) is skipped.
  void Restore(const TaskStates& states) {
    state_ = CoordinatorState::kPrestart;
    TaskStatesUpdated(states);
  }

  bool MayStart(const Task& task) const { return StageAllowed(state_, StageOf(task)); }
  CoordinatorState state() const { return state_; }

 private:
  TasksByStage tasks_;
  CoordinatorState state_ = CoordinatorState::kInit;
};

}  // namespace drover
