#include "lifecycle/task_events.h"

#include <gtest/gtest.h>

#include <string>

#include "lifecycle/restart_tracker.h"

namespace drover {
namespace {

constexpr Nanos kNow = 1'700'000'000 * kSecond;

// ---- Builders ---------------------------------------------------------------

struct BuilderCase {
  const char* name;
  TaskEvent event;
  const char* type;
  StringMap details;
  const char* display;
};

TEST(TaskEventBuildersTest, SetTypeDetailsAndDisplayMessageAsNomad) {
  const BuilderCase cases[] = {
      {"received", EventReceived(kNow), kEventReceived, {}, "Task received by client"},
      {"task setup",
       EventTaskSetup(kNow, kEventBuildingTaskDir),
       kEventTaskSetup,
       {{"message", "Building Task Directory"}},
       "Building Task Directory"},
      {"started", EventStarted(kNow), kEventStarted, {}, "Task started by client"},
      {"terminated by signal",
       EventTerminated(kNow, 0, 9, ""),
       kEventTerminated,
       {{"exit_code", "0"}, {"signal", "9"}, {"oom_killed", "false"}},
       "Exit Code: 0, Signal: 9"},
      {"terminated with message",
       EventTerminated(kNow, 2, 0, "bad \"thing\"\n", /*oom_killed=*/true),
       kEventTerminated,
       {{"exit_code", "2"},
        {"signal", "0"},
        {"oom_killed", "true"},
        {"exit_message", "bad \"thing\"\n"}},
       R"(Exit Code: 2, Exit Message: "bad \"thing\"\n")"},
      {"killing",
       EventKilling(kNow, 5 * kSecond, ""),
       kEventKilling,
       {{"kill_timeout", "5s"}},
       "Sent interrupt. Waiting 5s before force killing"},
      {"killing without timeout",
       EventKilling(kNow, 0, ""),
       kEventKilling,
       {{"kill_timeout", "0s"}},
       "Sent interrupt"},
      {"killing with reason",
       EventKilling(kNow, 90 * kSecond, "alloc stopped"),
       kEventKilling,
       {{"kill_timeout", "1m30s"}, {"kill_reason", "alloc stopped"}},
       "alloc stopped"},
      {"killed", EventKilled(kNow, ""), kEventKilled, {}, "Task successfully killed"},
      {"kill failed",
       EventKilled(kNow, "no such process"),
       kEventKilled,
       {{"kill_error", "no such process"}},
       "no such process"},
      {"restarting within policy",
       EventRestarting(kNow, 15'200 * kMillisecond, kReasonWithinPolicy),
       kEventRestarting,
       {{"start_delay", "15200000000"}, {"restart_reason", "Restart within policy"}},
       "Task restarting in 15.2s"},
      {"restarting after delay",
       EventRestarting(kNow, 6 * kMinute, kReasonDelay),
       kEventRestarting,
       {{"start_delay", "360000000000"}, {"restart_reason", kReasonDelay}},
       "Exceeded allowed attempts, applying a delay - Task restarting in 6m0s"},
      {"restarting without reason",
       EventRestarting(kNow, 0, ""),
       kEventRestarting,
       {{"start_delay", "0"}, {"restart_reason", ""}},
       "Task restarting in 0s"},
      {"not restarting",
       EventNotRestarting(kNow, kReasonUnrecoverableError),
       kEventNotRestarting,
       {{"restart_reason", "Error was unrecoverable"}, {"fails_task", "true"}},
       "Error was unrecoverable"},
      {"not restarting without reason",
       EventNotRestarting(kNow, ""),
       kEventNotRestarting,
       {{"restart_reason", ""}, {"fails_task", "true"}},
       "Task exceeded restart policy"},
      {"restart signal",
       EventRestartSignal(kNow, "User requested task to restart"),
       kEventRestartSignal,
       {{"restart_reason", "User requested task to restart"}},
       "User requested task to restart"},
      {"restart signal without reason",
       EventRestartSignal(kNow, ""),
       kEventRestartSignal,
       {{"restart_reason", ""}},
       "Task signaled to restart"},
      {"signaling",
       EventSignaling(kNow, "SIGUSR1", ""),
       kEventSignaling,
       {{"task_signal", "SIGUSR1"}},
       "Task being sent signal SIGUSR1"},
      {"signaling with reason",
       EventSignaling(kNow, "SIGHUP", "Template re-rendered"),
       kEventSignaling,
       {{"task_signal", "SIGHUP"}, {"task_signal_reason", "Template re-rendered"}},
       "Task being sent signal SIGHUP: Template re-rendered"},
      {"signaling without signal",
       EventSignaling(kNow, "", ""),
       kEventSignaling,
       {{"task_signal", ""}},
       "Task being sent a signal"},
      {"sibling failed",
       EventSiblingFailed(kNow, "x"),
       kEventSiblingFailed,
       {{"failed_sibling", "x"}},
       R"(Task's sibling "x" failed)"},
      {"leader dead", EventLeaderDead(kNow), kEventLeaderDead, {}, "Leader Task in Group dead"},
      {"setup failure",
       EventSetupFailure(kNow, "mkdir failed", /*fails_task=*/true),
       kEventSetupFailure,
       {{"setup_error", "mkdir failed"}, {"fails_task", "true"}},
       "mkdir failed"},
      {"setup failure that does not fail the task",
       EventSetupFailure(kNow, "", /*fails_task=*/false),
       kEventSetupFailure,
       {},
       "Task setup failed"},
      {"driver failure",
       EventDriverFailure(kNow, "exec: not found"),
       kEventDriverFailure,
       {{"driver_error", "exec: not found"}},
       "exec: not found"},
      {"driver failure without error",
       EventDriverFailure(kNow, ""),
       kEventDriverFailure,
       {},
       "Failed to start task"},
      {"failed validation",
       EventFailedValidation(kNow, "missing command"),
       kEventFailedValidation,
       {{"validation_error", "missing command"}},
       "missing command"},
      {"failed validation without error",
       EventFailedValidation(kNow, ""),
       kEventFailedValidation,
       {},
       "Validation of task failed"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(c.event.Type, c.type);
    EXPECT_EQ(c.event.Time, kNow);
    EXPECT_EQ(c.event.Details, c.details);
    EXPECT_EQ(c.event.DisplayMessage, c.display);
  }
}

TEST(TaskEventBuildersTest, FillTheTypedFields) {
  const TaskEvent terminated = EventTerminated(kNow, 3, 15, "boom");
  EXPECT_EQ(terminated.ExitCode, 3);
  EXPECT_EQ(terminated.Signal, 15);
  EXPECT_EQ(terminated.Message, "boom");

  const TaskEvent killing = EventKilling(kNow, 5 * kSecond, "stop");
  EXPECT_EQ(killing.KillTimeout, 5 * kSecond);
  EXPECT_EQ(killing.KillReason, "stop");

  const TaskEvent restarting = EventRestarting(kNow, kSecond, kReasonDelay);
  EXPECT_EQ(restarting.StartDelay, kSecond);
  EXPECT_EQ(restarting.RestartReason, kReasonDelay);

  EXPECT_TRUE(EventNotRestarting(kNow, "x").FailsTask);
  EXPECT_TRUE(EventSetupFailure(kNow, "x", true).FailsTask);
  EXPECT_FALSE(EventSetupFailure(kNow, "x", false).FailsTask);
  EXPECT_EQ(EventSetupFailure(kNow, "x", true).SetupError, "x");
  EXPECT_EQ(EventDriverFailure(kNow, "d").DriverError, "d");
  EXPECT_EQ(EventFailedValidation(kNow, "v").ValidationError, "v");
  EXPECT_EQ(EventKilled(kNow, "k").KillError, "k");
  EXPECT_EQ(EventSiblingFailed(kNow, "web").FailedSibling, "web");
  EXPECT_EQ(EventTaskSetup(kNow, "m").Message, "m");

  const TaskEvent signaling = EventSignaling(kNow, "SIGINT", "why");
  EXPECT_EQ(signaling.TaskSignal, "SIGINT");
  EXPECT_EQ(signaling.TaskSignalReason, "why");
}

// ---- PopulateDisplayMessage ---------------------------------------------------

struct DisplayCase {
  TaskEvent event;
  const char* display;
};

TaskEvent Typed(std::string type) {
  TaskEvent e;
  e.Type = std::move(type);
  return e;
}

TEST(PopulateDisplayMessageTest, DescribesEveryNomadEventType) {
  TaskEvent driver = Typed(kEventDriverMessage);
  driver.DriverMessage = "Downloading image";
  TaskEvent download_failed = Typed("Failed Artifact Download");
  download_failed.DownloadError = "404";
  TaskEvent unknown = Typed("Task hook failed");
  unknown.Message = "hook said no";
  TaskEvent reason_only = Typed(kEventSignaling);
  reason_only.TaskSignalReason = "because";

  const DisplayCase cases[] = {
      {driver, "Downloading image"},
      {Typed(kEventMainDead), "Main tasks in the group died"},
      {Typed(kEventSiblingFailed), "Task's sibling failed"},
      {Typed("Downloading Artifacts"), "Client is downloading artifacts"},
      {Typed("Failed Artifact Download"), "Failed to download artifacts"},
      {download_failed, "404"},
      {Typed("Reconnected"), "Client reconnected"},
      {unknown, "hook said no"},
      {reason_only, "because"},
  };
  for (auto c : cases) {
    PopulateDisplayMessage(c.event);
    EXPECT_EQ(c.event.DisplayMessage, c.display) << c.event.Type;
  }
}

TEST(PopulateDisplayMessageTest, KeepsAnExistingDisplayMessage) {
  TaskEvent e = Typed(kEventKilling);
  e.DisplayMessage = "Template failed: boom";
  PopulateDisplayMessage(e);
  EXPECT_EQ(e.DisplayMessage, "Template failed: boom");
}

TEST(PopulateDisplayMessageTest, QuotesLikeGo) {
  const struct {
    const char* message;
    const char* quoted;
  } cases[] = {
      {"tab\there", R"("tab\there")"},
      {"back\\slash", R"("back\\slash")"},
      {"bell\a nul\x01 del\x7f", R"("bell\a nul\x01 del\x7f")"},
      {"caf\xC3\xA9", "\"caf\xC3\xA9\""},
      {"invalid \xff byte", R"("invalid \xff byte")"},
      {"overlong \xC0\x80 nul", R"("overlong \xc0\x80 nul")"},
      {"surrogate \xED\xA0\x80 half", R"("surrogate \xed\xa0\x80 half")"},
      {"cut \xE2\x82", R"("cut \xe2\x82")"},
      {"c1 \xC2\x85 control", R"("c1 \u0085 control")"},
  };
  for (const auto& c : cases) {
    const TaskEvent e = EventSiblingFailed(kNow, c.message);
    EXPECT_EQ(e.DisplayMessage, std::string("Task's sibling ") + c.quoted + " failed");
  }
}

// ---- AppendTaskEvent ----------------------------------------------------------

TEST(AppendTaskEventTest, KeepsTheLatestEvents) {
  TaskState state;
  for (Nanos i = 0; i < 25; ++i) AppendTaskEvent(state, EventStarted(i));
  ASSERT_EQ(state.Events.size(), kTaskEventLimit);
  for (std::size_t i = 0; i < kTaskEventLimit; ++i) {
    EXPECT_EQ(state.Events[i].Time, static_cast<Nanos>(15 + i));
  }
}

TEST(AppendTaskEventTest, KeepsEverythingBelowTheLimit) {
  TaskState state;
  AppendTaskEvent(state, EventReceived(1));
  AppendTaskEvent(state, EventStarted(2));
  ASSERT_EQ(state.Events.size(), 2u);
  EXPECT_EQ(state.Events[0].Type, kEventReceived);
  EXPECT_EQ(state.Events[1].Type, kEventStarted);
}

TEST(AppendTaskEventTest, FillsMissingDisplayMessage) {
  TaskState state;
  AppendTaskEvent(state, Typed(kEventLeaderDead));
  EXPECT_EQ(state.Events.back().DisplayMessage, "Leader Task in Group dead");
}

// ---- DeriveClientStatus -------------------------------------------------------

TaskState InState(const char* state, bool failed = false) {
  TaskState s;
  s.State = state;
  s.Failed = failed;
  return s;
}

struct ClientStatusCase {
  const char* name;
  std::map<std::string, TaskState> states;
  const char* status;
  const char* description;
};

TEST(DeriveClientStatusTest, FollowsNomadPrecedence) {
  const ClientStatusCase cases[] = {
      {"no tasks", {}, "", ""},
      {"pending", {{"a", InState(kTaskStatePending)}}, "pending", "No tasks have started"},
      {"running", {{"a", InState(kTaskStateRunning)}}, "running", "Tasks are running"},
      {"complete", {{"a", InState(kTaskStateDead)}}, "complete", "All tasks have completed"},
      {"failed", {{"a", InState(kTaskStateDead, true)}}, "failed", "Failed tasks"},
      {"running beats pending",
       {{"a", InState(kTaskStatePending)}, {"b", InState(kTaskStateRunning)}},
       "running",
       "Tasks are running"},
      {"running beats complete",
       {{"a", InState(kTaskStateDead)}, {"b", InState(kTaskStateRunning)}},
       "running",
       "Tasks are running"},
      {"pending beats complete",
       {{"a", InState(kTaskStateDead)}, {"b", InState(kTaskStatePending)}},
       "pending",
       "No tasks have started"},
      {"failed beats running",
       {{"a", InState(kTaskStateRunning)}, {"b", InState(kTaskStateDead, true)}},
       "failed",
       "Failed tasks"},
      {"failed flag counts only when dead",
       {{"a", InState(kTaskStateRunning, true)}},
       "running",
       "Tasks are running"},
      {"unknown state is ignored", {{"a", InState("")}}, "", ""},
  };
  for (const auto& c : cases) {
    const ClientStatusPair got = DeriveClientStatus(c.states);
    EXPECT_EQ(got.status, c.status) << c.name;
    EXPECT_EQ(got.description, c.description) << c.name;
  }
}

}  // namespace
}  // namespace drover
