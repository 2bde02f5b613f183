// The journal history of one allocation or one job, for the web page's
// timeline (GET /v1/drover/allocation/:id/history and
// GET /v1/drover/job/:id/history, api/history_routes.cc).
//
// The entries are found through the per-object journal index
// (`journal_objects`, storage/state_store.h), so a history costs its own
// entries, not the journal's length. Each event is the journal entry as the
// event stream emits it (Topic, Type, Key, Namespace, FilterKeys, Index,
// Payload) with its change time in front ("Time", Unix ns; see EventTime).
//
//   {"Index": N,            the object's latest journaled change
//    "SnapshotIndex": B,    history through B was compacted (0: none)
//    "Events": [...],       in journal order, from `from_index` on
//    "NextIndex": M,        0, or where the next page starts (the reply
//                           stops at a whole index after kHistoryMaxEvents)
//    "At": {...}}           with `at`: the object right after index `at`,
//                           as `drover events replay --at` rebuilds it:
//                           {"Index", "Allocation"} or
//                           {"Index", "Job", "Evaluations", "Allocations"}
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "storage/state_store.h"

namespace drover {

inline constexpr std::size_t kHistoryMaxEvents = 5'000;

struct HistoryRequest {
  std::string alloc_id;  // an allocation's history (its Allocation events), or
  std::string job_id;    // a job's: its Job events and its evaluations' and
  std::string ns = "default";  // allocations' events, in this namespace
  std::uint64_t from_index = 0;     // only entries at this index or later
  std::optional<std::uint64_t> at;  // also the object right after this index
};

struct HistoryReply {
  std::uint64_t index = 0;  // X-Nomad-Index: the object's latest change (at least 1)
  std::string json;
};

// NotFound "alloc not found" / "job not found" when neither the store,
// its journal nor the journal's snapshot knows the object;
// InvalidArgument for an `at` before the journal's snapshot.
Result<HistoryReply> ReadHistory(const StateStore& store, const HistoryRequest& request);

}  // namespace drover
