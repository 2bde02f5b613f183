// The event journal as history: rebuilding the state at any index from it,
// and keeping it bounded without losing what a rebuild needs.
//
// Every journaled change carries the whole object it wrote (see
// service/agent.cc and lifecycle/alloc_runner.cc), so folding the journal
// in index order rebuilds the jobs, evaluations, allocations and nodes
// tables exactly:
//
//   Job        JobRegistered      {"Job": ...}         put the job
//              JobDeregistered    {"Job": ...}         a stop writes the job
//                                                      back with ModifyIndex
//                                                      = the event's index;
//                                                      any other payload is
//                                                      a purge: delete it
//   Evaluation EvaluationUpdated  {"Evaluation": ...}  put
//   Allocation PlanResult,        {"Allocation": ...}  put; the payload has
//              AllocationUpdated                       no Job (see below)
//   Node       NodeRegistration   {"Node": ...}        put
//
// Allocation events leave the Job out (it is in the Job events). The
// rebuilt allocation gets its Job back the way the live one got it: when it
// is first placed it embeds the job as the journal has it at that index
// (the JobRegistered of the same change comes first), and keeps that job on
// every later update. The rebuilt state therefore compares equal to the
// live state *with* the embedded Job.
//
// Not journaled, so not rebuilt: task_local entries (lifecycle's private
// restore data) and node_id / schema meta.
//
// Compaction folds the oldest entries into one snapshot of the rebuilt
// state at index "journal/base": since schema v9 one key per object in
// `journal_snapshot` and a small header in meta (storage/state_store.h),
// so that a reader of one object decodes that object alone; before, one
// meta value ("journal/snapshot"), which read-only views of an older store
// still read. A rebuild starts from the snapshot, so any index from the
// base on stays exact; earlier indexes are gone and asking for one is an
// error that says so.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "common/gotime.h"
#include "common/status.h"
#include "storage/model.h"
#include "storage/state_store.h"

namespace drover {

// The four tables as they stood after the change at `index`.
struct JournalState {
  std::uint64_t index = 0;
  std::map<std::pair<std::string, std::string>, Job> jobs;  // (namespace, ID)
  std::map<std::string, Evaluation> evals;
  std::map<std::string, Allocation> allocs;  // with their Job re-attached
  std::map<std::string, Node> nodes;
  // Jobs removed by a purge; `state check` accepts their allocations.
  std::set<std::pair<std::string, std::string>> purged_jobs;
  // The index of the latest change of each table (indexed by Table), as
  // the table indexes in meta should be.
  std::array<std::uint64_t, std::size(kAllTables)> table_index{};
  // Wall time of the latest change folded in (Unix ns; see EventTime).
  Nanos time = 0;

  friend bool operator==(const JournalState&, const JournalState&) = default;
};

// The table an event's topic belongs to; false for an unknown topic.
bool TopicTable(const std::string& topic, Table* out);

// Folds one event into `state`. An unknown topic or type is ignored (a
// newer writer's events); a payload that does not decode is an error.
Status ApplyEvent(JournalState& state, const Event& event);

// When the change was made, from the object the event carries (Unix ns):
// ModifyTime of an allocation or evaluation, SubmitTime of a job,
// StatusUpdatedAt of a node; 0 if the payload has none.
Nanos EventTime(const Event& event);

// Visits journal entries with Index >= from_index in order, a page at a
// time; `fn` returns false to stop early.
Status ScanJournal(const StateStore& store, std::uint64_t from_index,
                   const std::function<Result<bool>(const Event&)>& fn);

// The index the journal's snapshot covers (0: no snapshot), and the state
// at it (empty without one).
Result<JournalState> LoadJournalSnapshot(const StateStore& store);

// The snapshot with only the objects `keep` accepts read and decoded:
// `keep(topic, namespace, id, job_id)` with the topic of the object's table
// ("Job", "Evaluation", "Allocation", "Node") and, for evaluations and
// allocations, their JobID. Indexes, time and purged jobs are loaded whole.
// For reading one object's history without decoding a snapshot of every
// object: `keep` is asked from the keys alone.
using SnapshotFilter = std::function<bool(std::string_view topic, std::string_view ns,
                                          std::string_view id, std::string_view job_id)>;
Result<JournalState> LoadJournalSnapshot(const StateStore& store, const SnapshotFilter& keep);

// One allocation of the snapshot, read by its key (empty when the snapshot
// has none).
Result<std::optional<Allocation>> LoadSnapshotAlloc(const StateStore& store, const std::string& id);

// Rebuilds the state as it was right after the change at `at_index` (the
// head when at_index is above it). An index older than the snapshot is
// FailedPrecondition naming the oldest index that can be rebuilt.
// Linear in the journal but decoding only the entries the result depends
// on (each object's latest, and the jobs'): `time` is the latest among
// those. Of the snapshot it decodes only the objects no later entry
// writes again (and of a rewritten allocation its Job, once per distinct
// job); the latest entries are decoded on two threads.
Result<JournalState> ReplayJournal(const StateStore& store,
                                   std::uint64_t at_index = std::numeric_limits<std::uint64_t>::max());

// The same, showing `visit` every entry the replay reads (its envelope,
// its place within the change and its raw JSON), so that a reader that
// needs both makes one pass over the journal (`state check`).
struct EventHead;
using JournalVisitor =
    std::function<Status(const EventHead& head, std::uint32_t seq, std::string_view raw)>;
Result<JournalState> ReplayJournal(const StateStore& store, std::uint64_t at_index,
                                   const JournalVisitor& visit);

// The snapshot as schema v9 stores it: its header (meta "journal/header":
// {"Index", "Time", "TableIndexes"}), and each object put under its
// `journal_snapshot` key, one at a time (never the whole state as text).
std::string EncodeSnapshotHeader(const JournalState& state);
void PutSnapshotObjects(const JournalState& state, const StateStore::SnapshotSink& put);

// The snapshot's JSON form before schema v9, one meta value: {"Index",
// "Time", "Jobs", "Evaluations", "Allocations", "Nodes", "PurgedJobs",
// "TableIndexes"}. Read from older stores and by the v9 migration.
std::string EncodeJournalState(const JournalState& state);
Result<JournalState> DecodeJournalState(std::string_view text);

// How much journal to keep. A zero limit is no limit; with both set an
// entry goes when either says so. Whole indexes are folded, never part of
// one, so max_events may be exceeded by the rest of one change.
struct RetentionPolicy {
  std::size_t max_events = 0;  // keep at most this many of the newest entries
  Nanos max_age = 0;           // fold entries older than this
};

struct CompactionResult {
  std::size_t folded_events = 0;  // entries replaced by the snapshot
  std::uint64_t base_index = 0;   // the snapshot's index afterwards
};

// Folds the journal entries `policy` no longer keeps into the snapshot, in
// one synced batch. Safe to run while the store takes writes (only entries
// below the head are touched); concurrent compactions are refused with
// Unavailable. `now` is for tests. Once `*stop` is set (the agent shutting
// down) it returns Unavailable at its next step, having written nothing.
Result<CompactionResult> CompactJournal(StateStore& store, const RetentionPolicy& policy,
                                        Nanos now = NowNanos(),
                                        const std::atomic<bool>* stop = nullptr);

}  // namespace drover
