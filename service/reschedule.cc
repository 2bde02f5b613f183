#include "service/reschedule.h"

#include "common/checked_math.h"

namespace drover {

std::optional<ReschedulePolicy> ReschedulePolicyOf(const Allocation& alloc) {
  const TaskGroup* group = GroupOf(alloc);
  return group ? group->ReschedulePolicy : std::nullopt;
}

bool RescheduleEligible(const Allocation& alloc, const ReschedulePolicy& policy, Nanos fail_time) {
  if (policy.Attempts <= 0 && !policy.Unlimited) return false;
  if (policy.Unlimited) return true;
  const auto* events = alloc.RescheduleTracker ? &alloc.RescheduleTracker->Events : nullptr;
  if (events == nullptr || events->empty()) return true;
  std::int64_t attempted = 0;
  for (const RescheduleEvent& e : *events) {
    if (SaturatingAdd(fail_time, -e.RescheduleTime) < policy.Interval) ++attempted;
  }
  return attempted < policy.Attempts;
}

Nanos NextRescheduleDelay(const Allocation& alloc, const ReschedulePolicy& policy, Nanos now) {
  Nanos delay = policy.Delay;
  if (!alloc.RescheduleTracker || alloc.RescheduleTracker->Events.empty()) return delay;
  const auto& events = alloc.RescheduleTracker->Events;
  if (policy.DelayFunction == "exponential") {
    delay = SaturatingMul(events.back().Delay, 2);
  } else if (policy.DelayFunction == "fibonacci") {
    if (events.size() >= 2) {
      Nanos n1 = events[events.size() - 1].Delay;
      Nanos n2 = events[events.size() - 2].Delay;
      // A capped series that was reset starts over.
      delay = (n2 == policy.MaxDelay && n1 == policy.Delay) ? n1 : SaturatingAdd(n1, n2);
    }
  } else {
    return delay;  // constant
  }
  if (policy.MaxDelay > 0 && delay > policy.MaxDelay) {
    delay = policy.MaxDelay;
    // Failing again only after a full capped delay starts the series over.
    if (SaturatingAdd(now, -events.back().RescheduleTime) > delay) delay = policy.Delay;
  }
  return delay;
}

RescheduleTracker NextRescheduleTracker(const Allocation& alloc, const ReschedulePolicy& policy,
                                        Nanos now, Nanos delay) {
  RescheduleTracker t;
  if (alloc.RescheduleTracker) {
    const auto& past = alloc.RescheduleTracker->Events;
    std::size_t keep = past.size();
    if (policy.Unlimited && keep > kMaxPastRescheduleEvents - 1) keep = kMaxPastRescheduleEvents - 1;
    t.Events.assign(past.end() - static_cast<std::ptrdiff_t>(keep), past.end());
  }
  t.Events.push_back(RescheduleEvent{now, alloc.ID, alloc.NodeID, delay});
  return t;
}

}  // namespace drover
