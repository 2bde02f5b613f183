#include "lifecycle/task_events.h"

#include <optional>
#include <string_view>
#include <utility>

#include "common/text.h"
#include "lifecycle/restart_tracker.h"

namespace drover {
namespace {

// Event types Drover never emits but may display (Nomad's structs constants).
constexpr std::string_view kEventDownloadingArtifacts = "Downloading Artifacts";
constexpr std::string_view kEventArtifactDownloadFailed = "Failed Artifact Download";
constexpr std::string_view kEventClientReconnected = "Reconnected";

// ---- Display messages -------------------------------------------------------

std::string Or(const std::string& value, std::string fallback) {
  return value.empty() ? std::move(fallback) : value;
}

std::string KillingMessage(const TaskEvent& e) {
  if (!e.KillReason.empty()) return e.KillReason;
  if (e.KillTimeout != 0) {
    return "Sent interrupt. Waiting " + FormatGoDuration(e.KillTimeout) + " before force killing";
  }
  return "Sent interrupt";
}

std::string TerminatedMessage(const TaskEvent& e) {
  std::string out = "Exit Code: " + std::to_string(e.ExitCode);
  if (e.Signal != 0) out += ", Signal: " + std::to_string(e.Signal);
  if (!e.Message.empty()) out += ", Exit Message: " + GoQuote(e.Message);
  return out;
}

std::string RestartingMessage(const TaskEvent& e) {
  std::string in = "Task restarting in " + FormatGoDuration(e.StartDelay);
  if (e.RestartReason.empty() || e.RestartReason == kReasonWithinPolicy) return in;
  return e.RestartReason + " - " + in;
}

std::string SiblingFailedMessage(const TaskEvent& e) {
  if (e.FailedSibling.empty()) return "Task's sibling failed";
  return "Task's sibling " + GoQuote(e.FailedSibling) + " failed";
}

std::string SignalingMessage(const TaskEvent& e) {
  const std::string& sig = e.TaskSignal;
  const std::string& reason = e.TaskSignalReason;
  if (sig.empty() && reason.empty()) return "Task being sent a signal";
  if (sig.empty()) return reason;
  if (reason.empty()) return "Task being sent signal " + sig;
  return "Task being sent signal " + sig + ": " + reason;
}

std::string DisplayMessageFor(const TaskEvent& e) {
  const std::string_view type = e.Type;
  if (type == kEventTaskSetup) return e.Message;
  if (type == kEventStarted) return "Task started by client";
  if (type == kEventReceived) return "Task received by client";
  if (type == kEventFailedValidation) return Or(e.ValidationError, "Validation of task failed");
  if (type == kEventSetupFailure) return Or(e.SetupError, "Task setup failed");
  if (type == kEventDriverFailure) return Or(e.DriverError, "Failed to start task");
  if (type == kEventDownloadingArtifacts) return "Client is downloading artifacts";
  if (type == kEventArtifactDownloadFailed) {
    return Or(e.DownloadError, "Failed to download artifacts");
  }
  if (type == kEventKilling) return KillingMessage(e);
  if (type == kEventKilled) return Or(e.KillError, "Task successfully killed");
  if (type == kEventTerminated) return TerminatedMessage(e);
  if (type == kEventRestarting) return RestartingMessage(e);
  if (type == kEventNotRestarting) return Or(e.RestartReason, "Task exceeded restart policy");
  if (type == kEventSiblingFailed) return SiblingFailedMessage(e);
  if (type == kEventSignaling) return SignalingMessage(e);
  if (type == kEventRestartSignal) return Or(e.RestartReason, "Task signaled to restart");
  if (type == kEventDriverMessage) return e.DriverMessage;
  if (type == kEventLeaderDead) return "Leader Task in Group dead";
  if (type == kEventMainDead) return "Main tasks in the group died";
  if (type == kEventClientReconnected) return "Client reconnected";
  return e.Message;
}

// ---- Nomad's TaskEvent setters ----------------------------------------------
// Each writes the typed field and its Details key. Setters that take an
// error in Nomad do nothing for "no error" (an empty string here).

TaskEvent NewEvent(const char* type, Nanos now) {
  TaskEvent e;
  e.Type = type;
  e.Time = now;
  return e;
}

TaskEvent Finished(TaskEvent e) {
  PopulateDisplayMessage(e);
  return e;
}

void SetMessage(TaskEvent& e, const std::string& message) {
  e.Message = message;
  e.Details["message"] = message;
}

void SetExitCode(TaskEvent& e, std::int64_t code) {
  e.ExitCode = code;
  e.Details["exit_code"] = std::to_string(code);
}

void SetSignal(TaskEvent& e, std::int64_t signal) {
  e.Signal = signal;
  e.Details["signal"] = std::to_string(signal);
}

void SetOOMKilled(TaskEvent& e, bool oom_killed) {
  e.Details["oom_killed"] = oom_killed ? "true" : "false";
}

void SetExitMessage(TaskEvent& e, const std::string& message) {
  if (message.empty()) return;
  e.Message = message;
  e.Details["exit_message"] = message;
}

void SetKillTimeout(TaskEvent& e, Nanos timeout) {
  e.KillTimeout = timeout;
  e.Details["kill_timeout"] = FormatGoDuration(timeout);
}

void SetKillReason(TaskEvent& e, const std::string& reason) {
  e.KillReason = reason;
  e.Details["kill_reason"] = reason;
}

void SetKillError(TaskEvent& e, const std::string& error) {
  if (error.empty()) return;
  e.KillError = error;
  e.Details["kill_error"] = error;
}

void SetRestartDelay(TaskEvent& e, Nanos delay) {
  e.StartDelay = delay;
  e.Details["start_delay"] = std::to_string(delay);
}

void SetRestartReason(TaskEvent& e, const std::string& reason) {
  e.RestartReason = reason;
  e.Details["restart_reason"] = reason;
}

void SetFailsTask(TaskEvent& e) {
  e.FailsTask = true;
  e.Details["fails_task"] = "true";
}

void SetTaskSignal(TaskEvent& e, const std::string& signal) {
  e.TaskSignal = signal;
  e.Details["task_signal"] = signal;
}

void SetTaskSignalReason(TaskEvent& e, const std::string& reason) {
  e.TaskSignalReason = reason;
  e.Details["task_signal_reason"] = reason;
}

void SetFailedSibling(TaskEvent& e, const std::string& sibling) {
  e.FailedSibling = sibling;
  e.Details["failed_sibling"] = sibling;
}

void SetSetupError(TaskEvent& e, const std::string& error) {
  if (error.empty()) return;
  e.SetupError = error;
  e.Details["setup_error"] = error;
}

void SetDriverError(TaskEvent& e, const std::string& error) {
  if (error.empty()) return;
  e.DriverError = error;
  e.Details["driver_error"] = error;
}

void SetValidationError(TaskEvent& e, const std::string& error) {
  if (error.empty()) return;
  e.ValidationError = error;
  e.Details["validation_error"] = error;
}

}  // namespace

void PopulateDisplayMessage(TaskEvent& e) {
  if (!e.DisplayMessage.empty()) return;
  e.DisplayMessage = DisplayMessageFor(e);
}

TaskEvent EventReceived(Nanos now) { return Finished(NewEvent(kEventReceived, now)); }

TaskEvent EventTaskSetup(Nanos now, const std::string& message) {
  TaskEvent e = NewEvent(kEventTaskSetup, now);
  SetMessage(e, message);
  return Finished(std::move(e));
}

TaskEvent EventStarted(Nanos now) { return Finished(NewEvent(kEventStarted, now)); }

TaskEvent EventTerminated(Nanos now, std::int64_t exit_code, std::int64_t signal,
                          const std::string& message, bool oom_killed) {
  TaskEvent e = NewEvent(kEventTerminated, now);
  SetExitCode(e, exit_code);
  SetSignal(e, signal);
  SetOOMKilled(e, oom_killed);
  SetExitMessage(e, message);
  return Finished(std::move(e));
}

TaskEvent EventKilling(Nanos now, Nanos kill_timeout, const std::string& reason) {
  TaskEvent e = NewEvent(kEventKilling, now);
  SetKillTimeout(e, kill_timeout);
  if (!reason.empty()) SetKillReason(e, reason);
  return Finished(std::move(e));
}

TaskEvent EventKilled(Nanos now, const std::string& kill_error) {
  TaskEvent e = NewEvent(kEventKilled, now);
  SetKillError(e, kill_error);
  return Finished(std::move(e));
}

TaskEvent EventRestarting(Nanos now, Nanos delay, const std::string& reason) {
  TaskEvent e = NewEvent(kEventRestarting, now);
  SetRestartDelay(e, delay);
  SetRestartReason(e, reason);
  return Finished(std::move(e));
}

TaskEvent EventNotRestarting(Nanos now, const std::string& reason) {
  TaskEvent e = NewEvent(kEventNotRestarting, now);
  SetRestartReason(e, reason);
  SetFailsTask(e);
  return Finished(std::move(e));
}

TaskEvent EventRestartSignal(Nanos now, const std::string& reason) {
  TaskEvent e = NewEvent(kEventRestartSignal, now);
  SetRestartReason(e, reason);
  return Finished(std::move(e));
}

TaskEvent EventSignaling(Nanos now, const std::string& signal, const std::string& reason) {
  TaskEvent e = NewEvent(kEventSignaling, now);
  SetTaskSignal(e, signal);
  if (!reason.empty()) SetTaskSignalReason(e, reason);
  return Finished(std::move(e));
}

TaskEvent EventSiblingFailed(Nanos now, const std::string& sibling) {
  TaskEvent e = NewEvent(kEventSiblingFailed, now);
  SetFailedSibling(e, sibling);
  return Finished(std::move(e));
}

TaskEvent EventLeaderDead(Nanos now) { return Finished(NewEvent(kEventLeaderDead, now)); }

TaskEvent EventSetupFailure(Nanos now, const std::string& error, bool fails_task) {
  TaskEvent e = NewEvent(kEventSetupFailure, now);
  SetSetupError(e, error);
  if (fails_task) SetFailsTask(e);
  return Finished(std::move(e));
}

TaskEvent EventDriverFailure(Nanos now, const std::string& error) {
  TaskEvent e = NewEvent(kEventDriverFailure, now);
  SetDriverError(e, error);
  return Finished(std::move(e));
}

TaskEvent EventFailedValidation(Nanos now, const std::string& error) {
  TaskEvent e = NewEvent(kEventFailedValidation, now);
  SetValidationError(e, error);
  return Finished(std::move(e));
}

TaskEvent EventHookFailed(Nanos now, const std::string& message) {
  TaskEvent e = NewEvent(kEventHookFailed, now);
  SetMessage(e, message);
  return Finished(std::move(e));
}

void AppendTaskEvent(TaskState& state, TaskEvent e) {
  PopulateDisplayMessage(e);
  while (state.Events.size() >= kTaskEventLimit) state.Events.erase(state.Events.begin());
  state.Events.push_back(std::move(e));
}

ClientStatusPair DeriveClientStatus(const std::map<std::string, TaskState>& states) {
  bool pending = false, running = false, dead = false, failed = false;
  for (const auto& [name, state] : states) {
    if (state.State == kTaskStateRunning) {
      running = true;
    } else if (state.State == kTaskStatePending) {
      pending = true;
    } else if (state.State == kTaskStateDead) {
      (state.Failed ? failed : dead) = true;
    }
  }
  if (failed) return {kAllocClientFailed, "Failed tasks"};
  if (running) return {kAllocClientRunning, "Tasks are running"};
  if (pending) return {kAllocClientPending, "No tasks have started"};
  if (dead) return {kAllocClientComplete, "All tasks have completed"};
  return {"", ""};
}

}  // namespace drover
