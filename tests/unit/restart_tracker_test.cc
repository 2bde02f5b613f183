#include "lifecycle/restart_tracker.h"

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>

namespace drover {
namespace {

constexpr Nanos kStart = 1'700'000'000 * kSecond;
constexpr std::uint64_t kSeed = 42;

RestartPolicy Policy(std::int64_t attempts, Nanos interval, Nanos delay, std::string mode) {
  RestartPolicy p;
  p.Attempts = attempts;
  p.Interval = interval;
  p.Delay = delay;
  p.Mode = std::move(mode);
  return p;
}

// Nomad's default service policy: 2 attempts in 30m, 15s apart, mode fail.
RestartPolicy ServicePolicy() { return Policy(2, 30 * kMinute, 15 * kSecond, "fail"); }

RestartTracker ServiceTracker(const RestartPolicy& policy = ServicePolicy()) {
  return RestartTracker(policy, kJobTypeService, std::nullopt, kStart, kSeed);
}

ExitResult Failed() { return ExitResult{.ExitCode = 1}; }
ExitResult Succeeded() { return ExitResult{}; }

bool WithinJitter(Nanos delay, Nanos base) { return delay >= base && delay < base + base / 4 + 1; }

// ---- Restart on success -----------------------------------------------------

struct OnSuccessCase {
  const char* job_type;
  std::optional<TaskLifecycle> lifecycle;
  bool restarts_on_success;
};

TEST(RestartTrackerTest, RestartOnSuccessFollowsJobTypeAndLifecycle) {
  const OnSuccessCase cases[] = {
      {kJobTypeService, std::nullopt, true},
      {kJobTypeBatch, std::nullopt, false},
      {kJobTypeSysBatch, std::nullopt, false},
      {kJobTypeService, TaskLifecycle{"prestart", false}, false},
      {kJobTypeService, TaskLifecycle{"prestart", true}, true},
      {kJobTypeBatch, TaskLifecycle{"prestart", true}, true},
      {kJobTypeService, TaskLifecycle{"poststart", false}, false},
      {kJobTypeService, TaskLifecycle{"poststart", true}, true},
      {kJobTypeSysBatch, TaskLifecycle{"poststart", true}, true},
      {kJobTypeService, TaskLifecycle{"poststop", false}, false},
      {kJobTypeService, TaskLifecycle{"poststop", true}, false},
  };
  for (const auto& c : cases) {
    const RestartTracker tracker(ServicePolicy(), c.job_type, c.lifecycle, kStart, kSeed);
    EXPECT_EQ(tracker.restarts_on_success(), c.restarts_on_success)
        << c.job_type << " " << (c.lifecycle ? c.lifecycle->Hook : "main") << " sidecar="
        << (c.lifecycle && c.lifecycle->Sidecar);
  }
}

TEST(RestartTrackerTest, SuccessfulExitTerminatesTaskThatDoesNotRestartOnSuccess) {
  RestartTracker tracker(ServicePolicy(), kJobTypeBatch, std::nullopt, kStart, kSeed);
  tracker.SetExitResult(Succeeded());
  const RestartDecision d = tracker.GetState(kStart);
  EXPECT_EQ(d.verdict, RestartVerdict::kTerminated);
  EXPECT_EQ(d.reason, kReasonSuccessfulExit);
  EXPECT_EQ(d.delay, 0);
}

TEST(RestartTrackerTest, SuccessfulExitOfServiceTaskRestartsWithinPolicy) {
  RestartTracker tracker = ServiceTracker();
  tracker.SetExitResult(Succeeded());
  const RestartDecision d = tracker.GetState(kStart);
  EXPECT_EQ(d.verdict, RestartVerdict::kRestarting);
  EXPECT_EQ(d.reason, kReasonWithinPolicy);
  EXPECT_TRUE(WithinJitter(d.delay, 15 * kSecond)) << d.delay;
}

TEST(RestartTrackerTest, FailedExitOfBatchTaskRestartsWithinPolicy) {
  RestartTracker tracker(ServicePolicy(), kJobTypeBatch, std::nullopt, kStart, kSeed);
  tracker.SetExitResult(ExitResult{.Signal = 9});
  EXPECT_EQ(tracker.GetState(kStart).verdict, RestartVerdict::kRestarting);
}

// ---- Hot paths --------------------------------------------------------------

TEST(RestartTrackerTest, KilledTaskNeverRestartsAndIsNotCounted) {
  RestartTracker tracker = ServiceTracker();
  tracker.SetExitResult(Failed());
  tracker.SetKilled();
  const RestartDecision d = tracker.GetState(kStart);
  EXPECT_EQ(d.verdict, RestartVerdict::kKilled);
  EXPECT_EQ(d.reason, "");
  EXPECT_EQ(d.delay, 0);
  EXPECT_EQ(tracker.state().count, 0);
}

TEST(RestartTrackerTest, TriggeredRestartIsImmediateAndNotCounted) {
  RestartTracker tracker = ServiceTracker();
  tracker.SetRestartTriggered(/*failure=*/false);
  const RestartDecision d = tracker.GetState(kStart);
  EXPECT_EQ(d.verdict, RestartVerdict::kRestarting);
  EXPECT_EQ(d.reason, "");
  EXPECT_EQ(d.delay, 0);
  EXPECT_EQ(tracker.state().count, 0);
}

TEST(RestartTrackerTest, TriggeredRestartAsFailureCountsAgainstPolicy) {
  RestartTracker tracker = ServiceTracker();
  tracker.SetRestartTriggered(/*failure=*/true);
  const RestartDecision d = tracker.GetState(kStart);
  EXPECT_EQ(d.verdict, RestartVerdict::kRestarting);
  EXPECT_EQ(d.reason, kReasonWithinPolicy);
  EXPECT_EQ(tracker.state().count, 1);
}

TEST(RestartTrackerTest, KillWinsOverTriggeredRestart) {
  RestartTracker tracker = ServiceTracker();
  tracker.SetRestartTriggered(false);
  tracker.SetKilled();
  EXPECT_EQ(tracker.GetState(kStart).verdict, RestartVerdict::kKilled);
}

struct NoAttemptsCase {
  const char* job_type;
  ExitResult exit;
  RestartVerdict verdict;
};

TEST(RestartTrackerTest, ZeroAttemptsNeverRestarts) {
  const NoAttemptsCase cases[] = {
      {kJobTypeService, Failed(), RestartVerdict::kNotRestarting},
      {kJobTypeService, Succeeded(), RestartVerdict::kNotRestarting},
      {kJobTypeBatch, Failed(), RestartVerdict::kNotRestarting},
      {kJobTypeBatch, Succeeded(), RestartVerdict::kTerminated},
  };
  for (const auto& c : cases) {
    RestartTracker tracker(Policy(0, 30 * kMinute, 15 * kSecond, "fail"), c.job_type,
                           std::nullopt, kStart, kSeed);
    tracker.SetExitResult(c.exit);
    const RestartDecision d = tracker.GetState(kStart);
    EXPECT_EQ(d.verdict, c.verdict) << c.job_type << " exit " << c.exit.ExitCode;
    EXPECT_EQ(d.reason, kReasonNoRestartsAllowed);
    EXPECT_EQ(d.delay, 0);
    EXPECT_EQ(tracker.state().count, 0);
  }
}

// ---- Failures ---------------------------------------------------------------

TEST(RestartTrackerTest, NothingToDecideWithoutFailureButStillCounts) {
  RestartTracker tracker = ServiceTracker();
  const RestartDecision d = tracker.GetState(kStart);
  EXPECT_EQ(d.verdict, RestartVerdict::kNone);
  EXPECT_EQ(d.reason, "");
  EXPECT_EQ(d.delay, 0);
  EXPECT_EQ(tracker.state().count, 1);
}

TEST(RestartTrackerTest, UnrecoverableStartErrorFailsTask) {
  RestartTracker tracker = ServiceTracker();
  tracker.SetStartError(/*recoverable=*/false);
  const RestartDecision d = tracker.GetState(kStart);
  EXPECT_EQ(d.verdict, RestartVerdict::kNotRestarting);
  EXPECT_EQ(d.reason, kReasonUnrecoverableError);
  EXPECT_EQ(d.delay, 0);
}

TEST(RestartTrackerTest, RecoverableStartErrorRestartsWithinPolicy) {
  RestartTracker tracker = ServiceTracker();
  tracker.SetStartError(/*recoverable=*/true);
  const RestartDecision d = tracker.GetState(kStart);
  EXPECT_EQ(d.verdict, RestartVerdict::kRestarting);
  EXPECT_EQ(d.reason, kReasonWithinPolicy);
}

TEST(RestartTrackerTest, StartErrorTakesPrecedenceOverSuccessfulExit) {
  RestartTracker tracker(ServicePolicy(), kJobTypeBatch, std::nullopt, kStart, kSeed);
  tracker.SetExitResult(Succeeded());
  tracker.SetStartError(/*recoverable=*/true);
  EXPECT_EQ(tracker.GetState(kStart).verdict, RestartVerdict::kRestarting);
}

TEST(RestartTrackerTest, ExceedingAttemptsInFailModeFailsWithNomadReason) {
  RestartTracker tracker = ServiceTracker();
  for (int i = 0; i < 2; ++i) {
    tracker.SetExitResult(Failed());
    EXPECT_EQ(tracker.GetState(kStart + i * kMinute).verdict, RestartVerdict::kRestarting);
  }
  tracker.SetExitResult(Failed());
  const RestartDecision d = tracker.GetState(kStart + 2 * kMinute);
  EXPECT_EQ(d.verdict, RestartVerdict::kNotRestarting);
  EXPECT_EQ(d.reason, R"(Exceeded allowed attempts 2 in interval 30m0s and mode is "fail")");
  EXPECT_EQ(d.delay, 0);
}

TEST(RestartTrackerTest, ExceedingAttemptsInDelayModeWaitsForIntervalEnd) {
  RestartTracker tracker = ServiceTracker(Policy(1, 10 * kMinute, 15 * kSecond, "delay"));
  tracker.SetExitResult(Failed());
  EXPECT_EQ(tracker.GetState(kStart + kMinute).reason, kReasonWithinPolicy);
  tracker.SetExitResult(Failed());
  const RestartDecision d = tracker.GetState(kStart + 4 * kMinute);
  EXPECT_EQ(d.verdict, RestartVerdict::kRestarting);
  EXPECT_EQ(d.reason, kReasonDelay);
  EXPECT_EQ(d.delay, 6 * kMinute);
}

TEST(RestartTrackerTest, NewIntervalResetsAttempts) {
  RestartTracker tracker = ServiceTracker(Policy(1, 10 * kMinute, kSecond, "fail"));
  tracker.SetExitResult(Failed());
  EXPECT_EQ(tracker.GetState(kStart).verdict, RestartVerdict::kRestarting);

  const Nanos after_interval = kStart + 10 * kMinute + 1;
  tracker.SetExitResult(Failed());
  EXPECT_EQ(tracker.GetState(after_interval).verdict, RestartVerdict::kRestarting);
  EXPECT_EQ(tracker.state(), (RestartTrackerState{1, after_interval}));
}

TEST(RestartTrackerTest, IntervalEndItselfStillBelongsToTheInterval) {
  RestartTracker tracker = ServiceTracker(Policy(1, 10 * kMinute, kSecond, "fail"));
  tracker.SetExitResult(Failed());
  EXPECT_EQ(tracker.GetState(kStart).verdict, RestartVerdict::kRestarting);
  tracker.SetExitResult(Failed());
  EXPECT_EQ(tracker.GetState(kStart + 10 * kMinute).verdict, RestartVerdict::kNotRestarting);
  EXPECT_EQ(tracker.state(), (RestartTrackerState{2, kStart}));
}

TEST(RestartTrackerTest, ReportedFlagsAreClearedAfterEachDecision) {
  RestartTracker tracker = ServiceTracker();
  tracker.SetKilled();
  tracker.SetExitResult(Failed());
  EXPECT_EQ(tracker.GetState(kStart).verdict, RestartVerdict::kKilled);
  EXPECT_EQ(tracker.GetState(kStart).verdict, RestartVerdict::kNone);

  tracker.SetStartError(/*recoverable=*/false);
  EXPECT_EQ(tracker.GetState(kStart).verdict, RestartVerdict::kNotRestarting);
  tracker.SetRestartTriggered(/*failure=*/false);
  EXPECT_EQ(tracker.GetState(kStart).verdict, RestartVerdict::kRestarting);
  EXPECT_EQ(tracker.GetState(kStart).verdict, RestartVerdict::kNone);
}

// ---- Jitter -----------------------------------------------------------------

TEST(RestartTrackerTest, JitterAddsUpToAQuarterOfTheDelay) {
  const Nanos base = 15 * kSecond;
  std::set<Nanos> seen;
  for (std::uint64_t seed = 0; seed < 500; ++seed) {
    RestartTracker tracker(ServicePolicy(), kJobTypeService, std::nullopt, kStart, seed);
    tracker.SetExitResult(Failed());
    const Nanos delay = tracker.GetState(kStart).delay;
    EXPECT_TRUE(WithinJitter(delay, base)) << "seed " << seed << " delay " << delay;
    seen.insert(delay);
  }
  EXPECT_GT(seen.size(), 400u) << "jitter should vary with the seed";
  EXPECT_LT(*seen.begin(), base + base / 20);
  EXPECT_GT(*seen.rbegin(), base + base / 5);
}

TEST(RestartTrackerTest, SameSeedGivesSameDelays) {
  RestartTracker a = ServiceTracker();
  RestartTracker b = ServiceTracker();
  for (int i = 0; i < 2; ++i) {
    a.SetExitResult(Failed());
    b.SetExitResult(Failed());
    EXPECT_EQ(a.GetState(kStart).delay, b.GetState(kStart).delay);
  }
}

TEST(RestartTrackerTest, ZeroDelayIsTreatedAsOneNanosecond) {
  RestartTracker tracker = ServiceTracker(Policy(3, kMinute, 0, "fail"));
  tracker.SetExitResult(Failed());
  EXPECT_EQ(tracker.GetState(kStart).delay, 1);
}

// ---- Persistence ------------------------------------------------------------

TEST(RestartTrackerTest, RestoreContinuesTheSavedInterval) {
  RestartTracker original = ServiceTracker();
  original.SetExitResult(Failed());
  (void)original.GetState(kStart + kMinute);
  original.SetExitResult(Failed());
  (void)original.GetState(kStart + 2 * kMinute);
  const RestartTrackerState saved = original.state();
  EXPECT_EQ(saved, (RestartTrackerState{2, kStart}));

  RestartTracker restored(ServicePolicy(), kJobTypeService, std::nullopt, kStart + kHour, kSeed);
  restored.Restore(saved);
  EXPECT_EQ(restored.state(), saved);
  restored.SetExitResult(Failed());
  EXPECT_EQ(restored.GetState(kStart + 3 * kMinute).verdict, RestartVerdict::kNotRestarting);
}

// ---- Names ------------------------------------------------------------------

TEST(RestartVerdictNameTest, UsesNomadStateNames) {
  EXPECT_STREQ(RestartVerdictName(RestartVerdict::kNone), "");
  EXPECT_STREQ(RestartVerdictName(RestartVerdict::kKilled), "Killed");
  EXPECT_STREQ(RestartVerdictName(RestartVerdict::kRestarting), "Restarting");
  EXPECT_STREQ(RestartVerdictName(RestartVerdict::kNotRestarting), "Not Restarting");
  EXPECT_STREQ(RestartVerdictName(RestartVerdict::kTerminated), "Terminated");
}

}  // namespace
}  // namespace drover
