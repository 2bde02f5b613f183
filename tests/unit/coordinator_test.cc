// Table tests of the lifecycle coordinator: every transition of NextState,
// the gates of every state, and the Coordinator's loop to a fixed point.
#include "lifecycle/coordinator.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

namespace drover {
namespace {

using S = CoordinatorState;
using L = LifecycleStage;

Task MakeTask(const std::string& name, const std::string& hook = "", bool sidecar = false) {
  Task t;
  t.Name = name;
  if (!hook.empty()) t.Lifecycle = TaskLifecycle{hook, sidecar};
  return t;
}

// One task per stage, named after it.
std::vector<Task> AllStages() {
  return {MakeTask("pre", "prestart"),       MakeTask("side", "prestart", true),
          MakeTask("main"),                  MakeTask("post", "poststart"),
          MakeTask("postside", "poststart", true), MakeTask("stop", "poststop")};
}

TaskState St(const char* state, bool failed = false) {
  TaskState s;
  s.State = state;
  s.Failed = failed;
  return s;
}

const char* P = kTaskStatePending;
const char* R = kTaskStateRunning;
const char* D = kTaskStateDead;

// pre, side, main, post, postside, stop
TaskStates States(const char* pre, const char* side, const char* main, const char* post,
                  const char* postside, const char* stop, bool pre_failed = false) {
  return {{"pre", St(pre, pre_failed)}, {"side", St(side)},         {"main", St(main)},
          {"post", St(post)},           {"postside", St(postside)}, {"stop", St(stop)}};
}

struct Transition {
  const char* name;
  S from;
  TaskStates states;
  S to;
};

// Names the row in test output instead of dumping its bytes.
void PrintTo(const Transition& t, std::ostream* os) { *os << t.name; }

class NextStateTest : public ::testing::TestWithParam<Transition> {};

TEST_P(NextStateTest, MovesAsNomadsCoordinator) {
  const Transition& t = GetParam();
  TasksByStage tasks = GroupTasksByStage(AllStages());
  EXPECT_EQ(NextState(t.from, tasks, t.states), t.to)
      << "from " << CoordinatorStateName(t.from) << " expected " << CoordinatorStateName(t.to);
}

INSTANTIATE_TEST_SUITE_P(
    Transitions, NextStateTest,
    ::testing::Values(
        Transition{"InitWaitsWhileATaskIsNotPending", S::kInit, States(R, P, P, P, P, P),
                   S::kInit},
        Transition{"InitToPrestartWhenAllPending", S::kInit, States(P, P, P, P, P, P),
                   S::kPrestart},
        Transition{"PrestartWaitsForEphemeralToSucceed", S::kPrestart,
                   States(R, R, P, P, P, P), S::kPrestart},
        Transition{"PrestartWaitsForSidecarToRun", S::kPrestart, States(D, P, P, P, P, P),
                   S::kPrestart},
        Transition{"PrestartFailedEphemeralDoesNotOpenMain", S::kPrestart,
                   States(D, R, P, P, P, P, /*pre_failed=*/true), S::kPrestart},
        Transition{"PrestartToMain", S::kPrestart, States(D, R, P, P, P, P), S::kMain},
        Transition{"MainWaitsWhileMainPending", S::kMain, States(D, R, P, P, P, P), S::kMain},
        Transition{"MainToPoststartOnceMainLeftPending", S::kMain, States(D, R, R, P, P, P),
                   S::kPoststart},
        Transition{"PoststartWaitsForEphemeralDead", S::kPoststart, States(D, R, R, R, R, P),
                   S::kPoststart},
        Transition{"PoststartToWaitAlloc", S::kPoststart, States(D, R, R, D, R, P),
                   S::kWaitAlloc},
        Transition{"WaitAllocWhileMainRuns", S::kWaitAlloc, States(D, R, R, D, R, P),
                   S::kWaitAlloc},
        Transition{"WaitAllocToPoststopWhenAllDead", S::kWaitAlloc, States(D, D, D, D, D, P),
                   S::kPoststop},
        Transition{"PoststopIsTerminal", S::kPoststop, States(P, P, P, P, P, P), S::kPoststop},
        Transition{"AllDeadFromInit", S::kInit, States(D, D, D, D, D, P), S::kPoststop},
        Transition{"AllDeadFromPrestartAfterFailedPrestart", S::kPrestart,
                   States(D, D, D, D, D, P, /*pre_failed=*/true), S::kPoststop},
        Transition{"AllDeadFromMain", S::kMain, States(D, D, D, D, D, R), S::kPoststop},
        Transition{"AllDeadFromPoststart", S::kPoststart, States(D, D, D, D, D, P),
                   S::kPoststop},
        Transition{"PoststopTaskStateDoesNotMatter", S::kWaitAlloc, States(D, D, D, D, D, D),
                   S::kPoststop}),
    [](const ::testing::TestParamInfo<Transition>& info) { return info.param.name; });

TEST(CoordinatorStateTest, GatesOfEveryState) {
  struct Row {
    S state;
    std::vector<L> allowed;
  };
  const Row rows[] = {
      {S::kInit, {}},
      {S::kPrestart, {L::kPrestartEphemeral, L::kPrestartSidecar}},
      {S::kMain, {L::kPrestartSidecar, L::kMain}},
      {S::kPoststart,
       {L::kPrestartSidecar, L::kMain, L::kPoststartEphemeral, L::kPoststartSidecar}},
      {S::kWaitAlloc, {L::kPrestartSidecar, L::kMain, L::kPoststartSidecar}},
      {S::kPoststop, {L::kPoststop}},
  };
  for (const Row& row : rows) {
    for (std::size_t i = 0; i < kLifecycleStageCount; ++i) {
      L stage = static_cast<L>(i);
      bool want = std::find(row.allowed.begin(), row.allowed.end(), stage) != row.allowed.end();
      EXPECT_EQ(StageAllowed(row.state, stage), want)
          << CoordinatorStateName(row.state) << " / " << LifecycleStageName(stage);
    }
  }
}

TEST(CoordinatorStateTest, NamesPrintCorrectly) {
  EXPECT_STREQ(CoordinatorStateName(S::kInit), "init");
  EXPECT_STREQ(CoordinatorStateName(S::kPrestart), "prestart");
  EXPECT_STREQ(CoordinatorStateName(S::kMain), "main");
  EXPECT_STREQ(CoordinatorStateName(S::kPoststart), "poststart");
  EXPECT_STREQ(CoordinatorStateName(S::kWaitAlloc), "wait_alloc");
  EXPECT_STREQ(CoordinatorStateName(S::kPoststop), "poststop");
}

TEST(CoordinatorTest, StageOfFollowsTheLifecycleBlock) {
  EXPECT_EQ(StageOf(MakeTask("a")), L::kMain);
  EXPECT_EQ(StageOf(MakeTask("a", "prestart")), L::kPrestartEphemeral);
  EXPECT_EQ(StageOf(MakeTask("a", "prestart", true)), L::kPrestartSidecar);
  EXPECT_EQ(StageOf(MakeTask("a", "poststart")), L::kPoststartEphemeral);
  EXPECT_EQ(StageOf(MakeTask("a", "poststart", true)), L::kPoststartSidecar);
  EXPECT_EQ(StageOf(MakeTask("a", "poststop")), L::kPoststop);
}

TEST(CoordinatorTest, WithoutPrestartTasksGoesStraightToMain) {
  Coordinator c({MakeTask("web")});
  EXPECT_TRUE(c.TaskStatesUpdated({{"web", St(P)}}));
  EXPECT_EQ(c.state(), S::kMain);
  EXPECT_TRUE(c.MayStart(MakeTask("web")));
}

TEST(CoordinatorTest, PrestartTaskBlocksMainUntilItSucceeds) {
  Task pre = MakeTask("pre", "prestart"), web = MakeTask("web");
  Coordinator c({pre, web});
  c.TaskStatesUpdated({{"pre", St(P)}, {"web", St(P)}});
  EXPECT_EQ(c.state(), S::kPrestart);
  EXPECT_TRUE(c.MayStart(pre));
  EXPECT_FALSE(c.MayStart(web));
  c.TaskStatesUpdated({{"pre", St(D)}, {"web", St(P)}});
  EXPECT_EQ(c.state(), S::kMain);
  EXPECT_TRUE(c.MayStart(web));
  EXPECT_FALSE(c.MayStart(pre)) << "a finished prestart task does not run again in main";
}

TEST(CoordinatorTest, RestartGoesBackToInitAndReplaysTheLifecycle) {
  Task pre = MakeTask("pre", "prestart"), web = MakeTask("web");
  Coordinator c({pre, web});
  c.TaskStatesUpdated({{"pre", St(P)}, {"web", St(P)}});
  c.TaskStatesUpdated({{"pre", St(D)}, {"web", St(R)}});
  ASSERT_EQ(c.state(), S::kWaitAlloc);
  c.Restart();
  EXPECT_EQ(c.state(), S::kInit);
  EXPECT_FALSE(c.MayStart(pre));
  c.TaskStatesUpdated({{"pre", St(P)}, {"web", St(R)}});
  EXPECT_EQ(c.state(), S::kInit) << "init waits until every task is pending again";
  c.TaskStatesUpdated({{"pre", St(P)}, {"web", St(P)}});
  EXPECT_EQ(c.state(), S::kPrestart);
  EXPECT_TRUE(c.MayStart(pre));
}

TEST(CoordinatorTest, RestoreSkipsInitForRunningTasks) {
  Task pre = MakeTask("pre", "prestart"), web = MakeTask("web"), stop = MakeTask("s", "poststop");
  Coordinator c({pre, web, stop});
  c.Restore({{"pre", St(D)}, {"web", St(R)}, {"s", St(P)}});
  EXPECT_EQ(c.state(), S::kWaitAlloc);
  EXPECT_TRUE(c.MayStart(web));
  EXPECT_FALSE(c.MayStart(stop));
}

}  // namespace
}  // namespace drover
