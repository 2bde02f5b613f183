// Task events as Nomad builds them: the Type, the typed fields, the
// `Details` map (snake_case keys, string values) and the human
// `DisplayMessage`, word for word as Nomad's structs.TaskEvent produces them.
#pragma once

#include <cstdint>
#include <string>

#include "common/gotime.h"
#include "storage/model.h"

namespace drover {

// Event types (Nomad's structs.Task* constants).
inline constexpr const char* kEventSetupFailure = "Setup Failure";
inline constexpr const char* kEventDriverFailure = "Driver Failure";
inline constexpr const char* kEventDriverMessage = "Driver";
inline constexpr const char* kEventReceived = "Received";
inline constexpr const char* kEventFailedValidation = "Failed Validation";
inline constexpr const char* kEventStarted = "Started";
inline constexpr const char* kEventTerminated = "Terminated";
inline constexpr const char* kEventKilling = "Killing";
inline constexpr const char* kEventKilled = "Killed";
inline constexpr const char* kEventRestarting = "Restarting";
inline constexpr const char* kEventNotRestarting = "Not Restarting";
inline constexpr const char* kEventRestartSignal = "Restart Signaled";
inline constexpr const char* kEventSignaling = "Signaling";
inline constexpr const char* kEventSiblingFailed = "Sibling Task Failed";
inline constexpr const char* kEventLeaderDead = "Leader Task Dead";
inline constexpr const char* kEventMainDead = "Main Tasks Dead";
inline constexpr const char* kEventTaskSetup = "Task Setup";
inline constexpr const char* kEventBuildingTaskDir = "Building Task Directory";
inline constexpr const char* kEventHookFailed = "Task hook failed";
// The exit message of a task the kernel OOM-killed (Nomad's docker driver).
inline constexpr const char* kExitMessageOOMKilled = "OOM Killed";

// Sets DisplayMessage from the event's type and fields (Nomad's
// TaskEvent.PopulateEventDisplayMessage).
void PopulateDisplayMessage(TaskEvent& e);

// Builders. Each returns a complete event stamped `now`, with Details and
// DisplayMessage filled as Nomad fills them.
TaskEvent EventReceived(Nanos now);
TaskEvent EventTaskSetup(Nanos now, const std::string& message);
TaskEvent EventStarted(Nanos now);
// Nomad always records Details["oom_killed"] on a Terminated event.
TaskEvent EventTerminated(Nanos now, std::int64_t exit_code, std::int64_t signal,
                          const std::string& message, bool oom_killed = false);
TaskEvent EventKilling(Nanos now, Nanos kill_timeout, const std::string& reason);
TaskEvent EventKilled(Nanos now, const std::string& kill_error);
TaskEvent EventRestarting(Nanos now, Nanos delay, const std::string& reason);
TaskEvent EventNotRestarting(Nanos now, const std::string& reason);
TaskEvent EventRestartSignal(Nanos now, const std::string& reason);
TaskEvent EventSignaling(Nanos now, const std::string& signal, const std::string& reason);
TaskEvent EventSiblingFailed(Nanos now, const std::string& sibling);
TaskEvent EventLeaderDead(Nanos now);
TaskEvent EventSetupFailure(Nanos now, const std::string& error, bool fails_task);
TaskEvent EventDriverFailure(Nanos now, const std::string& error);
TaskEvent EventFailedValidation(Nanos now, const std::string& error);
// Nomad's emitHookError: "<hook name>: <error>" as the Message.
TaskEvent EventHookFailed(Nanos now, const std::string& message);

// Appends `e` to `state.Events`, keeping only the latest kTaskEventLimit.
void AppendTaskEvent(TaskState& state, TaskEvent e);

// An allocation's ClientStatus and ClientDescription from its task states,
// as Nomad's allocrunner derives them ("failed"/"Failed tasks", "running"/
// "Tasks are running", "pending"/"No tasks have started", "complete"/
// "All tasks have completed"); {"", ""} for no tasks.
struct ClientStatusPair {
  std::string status;
  std::string description;
};
ClientStatusPair DeriveClientStatus(const std::map<std::string, TaskState>& states);

}  // namespace drover
