// The restart tracker: decides, after a task exits or fails to start,
// whether it runs again and after what delay. It follows Nomad's
// client/allocrunner/taskrunner/restarts exactly: attempts counted per
// interval, jittered delay within policy, mode "fail" or "delay" once the
// attempts are used up, and no restart after a successful exit of a batch,
// sysbatch, ephemeral prestart/poststart or poststop task.
//
// The tracker is a plain value driven by an injected clock (`now`) and a
// seeded random source, so the algorithm is table-tested without sleeping.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>

#include "common/gotime.h"
#include "storage/model.h"

namespace drover {

// Reasons, word for word as Nomad writes them into RestartReason.
inline constexpr const char* kReasonNoRestartsAllowed = "Policy allows no restarts";
inline constexpr const char* kReasonUnrecoverableError = "Error was unrecoverable";
inline constexpr const char* kReasonWithinPolicy = "Restart within policy";
inline constexpr const char* kReasonDelay = "Exceeded allowed attempts, applying a delay";
inline constexpr const char* kReasonSuccessfulExit =
    "Restart unnecessary as task terminated successfully";

struct ExitResult {
  std::int64_t ExitCode = 0;
  std::int64_t Signal = 0;
  bool OOMKilled = false;
  bool Successful() const { return ExitCode == 0 && Signal == 0; }
};

enum class RestartVerdict {
  kNone,           // no failure recorded: nothing to decide ("" in Nomad)
  kKilled,         // the task was killed on purpose: never restart
  kRestarting,     // run again after `delay`
  kNotRestarting,  // policy exhausted or unrecoverable: the task fails
  kTerminated,     // exited and needs no restart: the task is done, not failed
};

const char* RestartVerdictName(RestartVerdict v);

struct RestartDecision {
  RestartVerdict verdict = RestartVerdict::kNone;
  Nanos delay = 0;
  std::string reason;  // Nomad's RestartReason text; "" when none
};

// What survives an agent restart, so the policy continues where it was.
struct RestartTrackerState {
  std::int64_t count = 0;
  Nanos interval_start = 0;
  friend bool operator==(const RestartTrackerState&, const RestartTrackerState&) = default;
};

class RestartTracker {
 public:
  // `job_type` and `lifecycle` decide whether a successful exit restarts, as
  // Nomad's NewRestartTracker does.
  RestartTracker(const RestartPolicy& policy, const std::string& job_type,
                 const std::optional<TaskLifecycle>& lifecycle, Nanos now,
                 std::uint64_t seed = std::random_device{}());

  void SetExitResult(const ExitResult& result);
  // A start failure; unrecoverable errors are never retried.
  void SetStartError(bool recoverable);
  void SetKilled();
  // A user asked for a restart; `failure` counts it against the policy.
  void SetRestartTriggered(bool failure);

  // Consumes what was set since the last call and decides (Nomad's GetState).
  RestartDecision GetState(Nanos now);

  RestartTrackerState state() const { return {count_, interval_start_}; }
  void Restore(const RestartTrackerState& s) {
    count_ = s.count;
    interval_start_ = s.interval_start;
  }
  bool restarts_on_success() const { return on_success_; }

 private:
  Nanos Jitter();

  RestartPolicy policy_;
  bool on_success_ = true;
  std::int64_t count_ = 0;
  Nanos interval_start_ = 0;
  std::mt19937_64 rng_;

  std::optional<ExitResult> exit_result_;
  std::optional<bool> start_error_recoverable_;
  bool killed_ = false;
  bool restart_triggered_ = false;
  bool failure_ = false;
};

}  // namespace drover
