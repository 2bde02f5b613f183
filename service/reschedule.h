// Nomad's rescheduling rules for failed allocations (structs.Allocation
// RescheduleEligible / NextDelay), as pure functions of the allocation, its
// group's ReschedulePolicy and the time.
#pragma once

#include <optional>

#include "storage/model.h"

namespace drover {

// Unlimited policies keep only this many past events (Nomad's
// maxPastRescheduleEvents).
inline constexpr std::size_t kMaxPastRescheduleEvents = 5;

// The group's policy for this allocation, from its job.
std::optional<ReschedulePolicy> ReschedulePolicyOf(const Allocation& alloc);

// Whether a failure at `fail_time` may be rescheduled: Unlimited, or fewer
// than Attempts reschedules within the last Interval.
bool RescheduleEligible(const Allocation& alloc, const ReschedulePolicy& policy, Nanos fail_time);

// The delay before the replacement: Delay, doubled per attempt
// (exponential) or the sum of the last two (fibonacci), capped at MaxDelay
// and reset to Delay once a capped delay has passed without a failure.
Nanos NextRescheduleDelay(const Allocation& alloc, const ReschedulePolicy& policy, Nanos now);

// The replacement's tracker: the previous events (the last few for an
// Unlimited policy) plus this reschedule.
RescheduleTracker NextRescheduleTracker(const Allocation& alloc, const ReschedulePolicy& policy,
                                        Nanos now, Nanos delay);

}  // namespace drover
