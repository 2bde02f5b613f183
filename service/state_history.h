// `drover events diff` and `drover events why`: the journal turned into
// answers for a person debugging a node.
//
//   diff: what changed between two indexes, object by object and field by
//         field (the states rebuilt at both indexes, compared).
//   why:  the chain of journaled events that led one allocation (or one of
//         its tasks) to its current state, as a story in time order:
//         placement, task events with the restart tracker's decisions and
//         delays, signals and kills, exit codes, status changes, agent
//         restarts, the reschedule and the evaluation that placed the
//         replacement.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "common/status.h"
#include "storage/state_store.h"

namespace drover {

struct DiffOptions {
  std::uint64_t from = 0;
  std::uint64_t to = 0;
  std::string alloc;  // only allocations whose ID starts with this
};

// Writes the differences between the state right after `from` and right
// after `to`. InvalidArgument if to < from; FailedPrecondition if `from`
// was compacted away.
Status WriteStateDiff(const StateStore& store, const DiffOptions& options, std::ostream& out);

// Writes the story of allocation `alloc` (an ID or a unique prefix), or of
// its task `task` when not empty. NotFound for an unknown allocation or
// task, InvalidArgument for an ambiguous prefix.
Status WriteAllocStory(const StateStore& store, const std::string& alloc, const std::string& task,
                       std::ostream& out);

// "2026-11-22T08:00:00.123Z" (fixed width); "-" for no time.
std::string TimelineTime(Nanos t);

}  // namespace drover
