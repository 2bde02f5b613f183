// Scaling a job's task group (POST /v1/job/:id/scale) and the scaling
// events Nomad records for it.
//
// A scale request with a Count registers the job anew with that group's
// count through Agent::RegisterJob, as Nomad's Job.Scale registers it; with
// or without a Count (an autoscaler may report only a message or an error),
// the request is recorded as a ScalingEvent of the group. Each job keeps
// the latest 20 events per group (Nomad's JobTrackedScalingEvents), newest
// first, in the `scaling_events` table (storage/state_store.h): one JSON
// document per job, deleted with the job when it is purged. Scaling events
// are not journaled: Nomad's event stream has no topic for them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/fwd.hpp>

#include "common/status.h"
#include "storage/model.h"

namespace drover {

inline constexpr std::size_t kJobTrackedScalingEvents = 20;

// Nomad's ScalingEvent.
struct ScalingEvent {
  Nanos Time = 0;
  std::optional<std::int64_t> Count;  // the new count, when the request set one
  std::int64_t PreviousCount = 0;
  std::string Message;
  bool Error = false;
  RawJson Meta;  // map[string]any, kept as sent
  std::optional<std::string> EvalID;
  std::uint64_t CreateIndex = 0;
  friend bool operator==(const ScalingEvent&, const ScalingEvent&) = default;
};

// A job's events by task group, newest first.
using JobScalingEvents = std::map<std::string, std::vector<ScalingEvent>>;

// Nomad's JSON of one event (as GET /v1/job/:id/scale shows it).
boost::json::value ScalingEventJson(const ScalingEvent& event);
std::string EncodeScalingEvents(const JobScalingEvents& events);
Result<JobScalingEvents> DecodeScalingEvents(std::string_view json);

// Prepends `event` to its group's list, keeping the newest
// kJobTrackedScalingEvents.
void AddScalingEvent(JobScalingEvents& events, const std::string& group, ScalingEvent event);

// Nomad's ScalingRequest (api package) with the job it targets.
struct ScaleRequest {
  std::string ns;      // the request's namespace
  std::string job_id;  // from the URL
  std::map<std::string, std::string> Target;  // "Job", "Group", "Namespace"
  std::optional<std::int64_t> Count;
  std::string Message;
  bool Error = false;
  RawJson Meta;
  bool PolicyOverride = false;
  std::uint64_t JobModifyIndex = 0;  // enforce: 0 = any
};

// Nomad's checks of a scale request that need no state
// (JobScaleRequest.Validate and the HTTP handler's), with its texts and
// codes: a namespace or job in Target that differs from the request's, a
// missing group, a negative count, a count with Error set.
Status ValidateScaleRequest(const ScaleRequest& req);

}  // namespace drover
