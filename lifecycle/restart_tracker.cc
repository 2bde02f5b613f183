#include "lifecycle/restart_tracker.h"

#include <string>
#include <utility>

#include "common/checked_math.h"

namespace drover {
namespace {

// The share of the restart delay added as random jitter.
constexpr double kJitterFraction = 0.25;

// Batch and sysbatch tasks are done once they succeed; ephemeral prestart
// and poststart tasks and every poststop task run to completion once, while
// sidecars are kept running.
bool RestartsOnSuccess(const std::string& job_type, const std::optional<TaskLifecycle>& lifecycle) {
  if (lifecycle) {
    if (lifecycle->Hook == "prestart" || lifecycle->Hook == "poststart") return lifecycle->Sidecar;
    if (lifecycle->Hook == "poststop") return false;
  }
  return job_type != kJobTypeBatch && job_type != kJobTypeSysBatch;
}

RestartDecision Decide(RestartVerdict verdict, std::string reason, Nanos delay = 0) {
  return RestartDecision{verdict, delay, std::move(reason)};
}

std::string ExceededAttemptsReason(const RestartPolicy& policy) {
  return "Exceeded allowed attempts " + std::to_string(policy.Attempts) + " in interval " +
         FormatGoDuration(policy.Interval) + " and mode is \"fail\"";
}

}  // namespace

const char* RestartVerdictName(RestartVerdict v) {
  switch (v) {
    case RestartVerdict::kNone:
      return "";
    case RestartVerdict::kKilled:
      return "Killed";
    case RestartVerdict::kRestarting:
      return "Restarting";
    case RestartVerdict::kNotRestarting:
      return "Not Restarting";
    case RestartVerdict::kTerminated:
      return "Terminated";
  }
  return "";
}

RestartTracker::RestartTracker(const RestartPolicy& policy, const std::string& job_type,
                               const std::optional<TaskLifecycle>& lifecycle, Nanos now,
                               std::uint64_t seed)
    : policy_(policy),
      on_success_(RestartsOnSuccess(job_type, lifecycle)),
      interval_start_(now),
      rng_(seed) {}

void RestartTracker::SetExitResult(const ExitResult& result) {
  exit_result_ = result;
  failure_ = true;
}

void RestartTracker::SetStartError(bool recoverable) {
  start_error_recoverable_ = recoverable;
  failure_ = true;
}

void RestartTracker::SetKilled() { killed_ = true; }

void RestartTracker::SetRestartTriggered(bool failure) {
  if (failure) {
    failure_ = true;
  } else {
    restart_triggered_ = true;
  }
}

RestartDecision RestartTracker::GetState(Nanos now) {
  const auto exit_result = std::exchange(exit_result_, std::nullopt);
  const auto start_error_recoverable = std::exchange(start_error_recoverable_, std::nullopt);
  const bool killed = std::exchange(killed_, false);
  const bool restart_triggered = std::exchange(restart_triggered_, false);
  const bool failure = std::exchange(failure_, false);

  if (killed) return Decide(RestartVerdict::kKilled, "");
  if (restart_triggered) return Decide(RestartVerdict::kRestarting, "");

  const bool exited_successfully = exit_result && exit_result->Successful();
  if (policy_.Attempts == 0) {
    // Nomad keeps the "no restarts" reason even when the task simply finished.
    const auto verdict = (!on_success_ && exited_successfully) ? RestartVerdict::kTerminated
                                                               : RestartVerdict::kNotRestarting;
    return Decide(verdict, kReasonNoRestartsAllowed);
  }

  if (now > SaturatingAdd(interval_start_, policy_.Interval)) {
    count_ = 0;
    interval_start_ = now;
  }
  ++count_;

  if (!failure) return Decide(RestartVerdict::kNone, "");

  // A start error takes precedence over an exit result, as in Nomad.
  if (start_error_recoverable) {
    if (!*start_error_recoverable) {
      return Decide(RestartVerdict::kNotRestarting, kReasonUnrecoverableError);
    }
  } else if (exited_successfully && !on_success_) {
    return Decide(RestartVerdict::kTerminated, kReasonSuccessfulExit);
  }

  if (count_ > policy_.Attempts) {
    if (policy_.Mode == "fail") {
      return Decide(RestartVerdict::kNotRestarting, ExceededAttemptsReason(policy_));
    }
    return Decide(RestartVerdict::kRestarting, kReasonDelay,
                  SaturatingAdd(interval_start_, policy_.Interval) - now);
  }
  return Decide(RestartVerdict::kRestarting, kReasonWithinPolicy, Jitter());
}

Nanos RestartTracker::Jitter() {
  const Nanos delay = policy_.Delay == 0 ? 1 : policy_.Delay;
  std::uniform_int_distribution<Nanos> pick(0, delay - 1);
  return SaturatingAdd(delay, static_cast<Nanos>(static_cast<double>(pick(rng_)) * kJitterFraction));
}

}  // namespace drover
