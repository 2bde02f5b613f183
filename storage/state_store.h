// StateStore: Drover's durable state on RocksDB, with Nomad-style indexes
// and watches for blocking queries.
//
// Every change is one Apply(): a single synced WriteBatch that writes the
// objects, the bumped global index, the index entry of every table it
// touched, and entries in the event journal. A change is either wholly on
// disk or not at all; once Apply() returns OK it survives a crash.
//
// Key layout (one column family per table; `be64` is a big-endian uint64,
// `\0` a zero byte separating parts):
//
//   meta          "schema_version"        -> decimal text
//                 "index"                 -> decimal text: the global index
//                 "index/" <table>        -> decimal text: the table index
//                 "node_id"               -> this node's ID
//                 "node_meta/dynamic"     -> dynamic node metadata JSON
//                                            (service/node_meta.h)
//   jobs          <namespace> \0 <job id> -> Job JSON
//   evals         <eval id>               -> Evaluation JSON
//   allocs        <alloc id>              -> allocation record: the job version it
//                                            runs, then its JSON without the Job
//                                            (storage/alloc_record.h; schema v4)
//   alloc_create  be64(CreateIndex) <alloc id> -> the allocation's list stub
//                                            (chronological listing; stub since v4)
//   job_versions  <namespace> \0 <job id> \0 be64(Version) be64(JobModifyIndex)
//                                         -> Job JSON: every job an allocation
//                                            runs, stored once (schema v4)
//   alloc_job     <namespace> \0 <job id> \0 <alloc id> -> ""
//   eval_create   be64(CreateIndex) <eval id> -> "" (chronological listing; schema v2)
//   nodes         <node id>               -> Node JSON
//   events        be64(index) be32(seq)   -> Event JSON
//   task_local    <alloc id> \0 <task>    -> lifecycle's local task state JSON
//   acl_tokens    <accessor id>           -> ACLToken JSON (SecretHash, no SecretID;
//                                            schema v3)
//   acl_secrets   sha256hex(<secret id>)  -> <accessor id> (schema v3)
//   acl_policies  <policy name>           -> ACLPolicy JSON (schema v3)
//   namespaces    <name>                  -> Namespace JSON (storage/namespace_model.h;
//                                            schema v5)
//   variables     <namespace> \0 <path>   -> Variable JSON, Items included, in clear
//                                            (storage/namespace_model.h; schema v5)
//   scaling_events <namespace> \0 <job id> -> the job's scaling events JSON, newest
//                                            first per group (service/scaling.h;
//                                            schema v6; not journaled)
//   deployments   <deployment id>         -> Deployment JSON (schema v7)
//   meta          "acl/bootstrap"         -> decimal text: the index at which the
//                                            ACL system was bootstrapped (absent:
//                                            not yet)
//   journal_objects 'a' <alloc id> \0 be64(index) be32(seq)             -> topic
//                 'j' <job id> \0 <namespace> \0 be64(index) be32(seq) -> topic
//                 'n' <node id> \0 be64(index) be32(seq)              -> topic
//                                         the journal entries of each allocation
//                                            (its Allocation events), of each job
//                                            (its Job events and the Evaluation and
//                                            Allocation events naming it in
//                                            FilterKeys) and, since schema v10, of
//                                            each node (its Node events), written
//                                            with the entry and deleted when
//                                            compaction folds it (schema v5)
//   meta          "journal/entries"       -> decimal text: how many entries the
//                                            journal holds (schema v5)
//   meta          "journal/base"          -> decimal text: the index the journal
//                                            snapshot covers (absent: none)
//                 "journal/header"        -> the snapshot's header JSON: {"Index",
//                                            "Time", "TableIndexes"} (schema v9;
//                                            absent: no snapshot)
//                 "journal/snapshot"      -> before schema v9: the whole folded state
//                                            as one JSON value (storage/journal.h);
//                                            the v9 migration splits it up
//   journal_snapshot                         the folded state at "journal/base", one
//                                            key per object (storage/journal.h; v9):
//                 'j' <namespace> \0 <job id> -> Job JSON
//                 'p' <namespace> \0 <job id> -> "" (a job purged before the base)
//                 'e' <eval id>          -> Evaluation JSON
//                 'a' <alloc id>         -> Allocation JSON, its Job embedded
//                 'n' <node id>          -> Node JSON
//                 'b' <namespace> \0 <job id> \0 ('e' <eval id> | 'a' <alloc id>) -> ""
//                                            the evaluations and allocations of
//                                            each job, for reading a few objects
//                                            without decoding the rest
//
// Reads are safe from any thread and see only whole batches. Writes are
// serialised by the store.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/alloc_record.h"
#include "storage/model.h"
#include "storage/watch.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace drover {

// The key of an evaluation in `eval_create` and of an allocation in
// `alloc_create` (for migrations and tests).
std::string EvalCreateKey(std::uint64_t create_index, const std::string& eval_id);
std::string AllocCreateKey(std::uint64_t create_index, const std::string& alloc_id);

// The `journal_objects` keys of one journal entry (see the key layout):
// one for an Allocation event, one per job it belongs to for Job,
// Evaluation and Allocation events (`filter_keys` as the event carries them),
// one for a Node event.
std::vector<std::string> JournalObjectKeys(std::uint64_t index, std::uint32_t seq,
                                           std::string_view topic, std::string_view key,
                                           std::string_view ns,
                                           const std::vector<std::string_view>& filter_keys);
// The same keys passed to `fn` one at a time (valid during the call), for
// readers of every entry that need no copies (`state check`).
void VisitJournalObjectKeys(std::uint64_t index, std::uint32_t seq, std::string_view topic,
                            std::string_view key, std::string_view ns,
                            const std::vector<std::string_view>& filter_keys,
                            const std::function<void(std::string_view)>& fn);

// Meta keys of the journal snapshot (see the key layout): its header since
// schema v9, the whole snapshot before.
inline constexpr const char* kJournalHeaderKey = "journal/header";
inline constexpr const char* kJournalSnapshotV8Key = "journal/snapshot";

// Where one journal entry is: its index, its place within the change, and
// its topic (from `journal_objects`).
struct JournalKey {
  std::uint64_t index = 0;
  std::uint32_t seq = 0;
  std::string topic;
};

// An allocation as stored: without its Job, and the job version it runs.
// The cheap form for paths that never look at the Job (task-state updates).
struct StoredAlloc {
  Allocation alloc;  // Job empty
  std::optional<JobVersionRef> job;
};

// A job version as cached by the store: its JSON, decoded on first use.
struct CachedJob;

// The write side of one Apply(). Objects are staged in one WriteBatch;
// nothing is visible until the batch commits.
class WriteTxn {
 public:
  // The index this change commits at (global index + 1).
  std::uint64_t index() const { return index_; }

  void PutJob(const Job& job);
  void DeleteJob(const std::string& ns, const std::string& id);
  void PutEval(const Evaluation& eval);
  void PutDeployment(const Deployment& deployment);
  // Writes the allocation and its secondary index entries. Its Job, if
  // any, is stored once per version in `job_versions` (written only when
  // that version is new to the store) and referred to.
  void PutAlloc(const Allocation& alloc);
  // Writes an allocation read with GetAllocWithoutJob, keeping its job
  // reference; no Job is encoded.
  void PutAllocWithoutJob(const StoredAlloc& stored);
  void DeleteAlloc(const Allocation& alloc);
  void PutNode(const Node& node);
  void PutTaskLocal(const std::string& alloc_id, const std::string& task,
                    const std::string& json);
  void DeleteTaskLocal(const std::string& alloc_id, const std::string& task);
  // The token's SecretHash indexes it; its SecretID is not written.
  void PutAclToken(const ACLToken& token);
  void DeleteAclToken(const ACLToken& token);
  void PutAclPolicy(const ACLPolicy& policy);
  void DeleteAclPolicy(const std::string& name);
  // Namespaces and variables, as JSON their service encoded
  // (storage/namespace_model.h); a variable write wakes its key's waiters.
  void PutNamespace(const std::string& name, const std::string& json);
  void DeleteNamespace(const std::string& name);
  void PutVariable(const std::string& ns, const std::string& path, const std::string& json);
  void DeleteVariable(const std::string& ns, const std::string& path);
  // A job's scaling events (service/scaling.h), as one JSON document.
  void PutScalingEvents(const std::string& ns, const std::string& job_id, const std::string& json);
  void DeleteScalingEvents(const std::string& ns, const std::string& job_id);
  // Writes a meta key (see the key layout) as part of this change.
  void PutMeta(const std::string& key, const std::string& value);
  // Appends to the event journal; the event's Index is set to index().
  void AddEvent(Event event);
  // Marks a table as changed without writing an object of it.
  void Touch(Table t);

 private:
  friend class StateStore;
  WriteTxn(class StateStore* store, rocksdb::WriteBatch* batch, std::uint64_t index)
      : store_(store), batch_(batch), index_(index) {}
  Status StageJobVersion(const std::string& ns, const std::string& id, const Job& job,
                         std::string json);
  void WriteAlloc(const Allocation& alloc, const std::optional<JobVersionRef>& ref);

  class StateStore* store_;
  rocksdb::WriteBatch* batch_;
  std::uint64_t index_;
  std::uint32_t event_seq_ = 0;
  std::uint32_t touched_ = 0;  // bit per Table
  std::vector<std::string> touched_keys_;  // watch keys written
  Status error_;  // a failed read while staging; fails the change
  // Job versions this change writes, cached once it commits.
  std::vector<std::pair<std::string, std::shared_ptr<const CachedJob>>> new_jobs_;
};

// Raw access for migrations: the whole migration is one batch.
class MigrationTxn {
 public:
  virtual ~MigrationTxn() = default;
  // `cf` is a column family name from the key layout above.
  virtual void Put(const std::string& cf, const std::string& key, const std::string& value) = 0;
  virtual void Delete(const std::string& cf, const std::string& key) = 0;
  // Visits every entry of `cf` in key order as it stands with this upgrade's
  // writes so far (earlier steps' and this step's), taken when ForEach starts.
  virtual Status ForEach(const std::string& cf,
                         const std::function<Status(const std::string& key,
                                                    const std::string& value)>& fn) = 0;
  // Visits every entry of `cf` in key order as committed before this
  // upgrade (none of its staged writes), streaming: for tables too large
  // to hold in memory (the journal) that no earlier step rewrites.
  virtual Status ScanCommitted(
      const std::string& cf,
      const std::function<Status(std::string_view key, std::string_view value)>& fn) = 0;
};

struct Migration {
  int to_version;  // the schema version after this step
  std::string description;
  std::function<Status(MigrationTxn&)> apply;
};

struct StoreOptions {
  // Migrations in ascending to_version; the last one's version is the
  // schema this binary writes.
  std::vector<Migration> migrations;
  // Sync every write to the WAL before Apply() returns (off only in benches).
  bool sync = true;
};

// A blocking-query waiter (storage/watch.h) fires once, from the
// committing thread, when a commit touching one of its tables raises that
// table's index above `min_index`, or, for a waiter on keys, a commit above
// `min_index` writes one of its keys. Callbacks must be quick (post work
// elsewhere).

class StateStore {
 public:
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  // Opens (creating if needed) the store in `dir`, runs pending migrations in
  // one batch, and refuses a database whose schema is newer than the last
  // migration ("written by a newer Drover").
  static Result<std::unique_ptr<StateStore>> Open(const std::string& dir,
                                                  StoreOptions options);

  // Opens the store in `dir` for reading only, as a RocksDB secondary
  // instance in a private temporary directory: safe while an agent writes
  // the same store, and never a second writer. Reads see the state as of
  // the open (one consistent view). Apply(), PutMeta() and FoldJournal()
  // fail with FailedPrecondition. No migration runs: the caller decides
  // whether it understands schema_version(). A directory that is not a
  // Drover state store is NotFound / FailedPrecondition with a clear text.
  static Result<std::unique_ptr<StateStore>> OpenReadOnly(const std::string& dir);

  int schema_version() const { return schema_version_; }
  bool read_only() const;

  // Runs `fn` to stage a change and commits it at index() + 1. If `fn`
  // returns an error nothing is written. Returns the committed index.
  Result<std::uint64_t> Apply(const std::function<Status(WriteTxn&)>& fn);

  std::uint64_t LatestIndex() const;
  std::uint64_t TableIndex(Table t) const;

  struct AllocKey {
    std::uint64_t create_index;
    std::string id;
  };

  // ---- Reads: NotFound is an empty optional, errors are I/O or decoding.
  Result<std::optional<Job>> GetJob(const std::string& ns, const std::string& id) const;
  Result<std::vector<Job>> ListJobs() const;  // by namespace, then ID
  Result<std::optional<Evaluation>> GetEval(const std::string& id) const;
  // Chronological (CreateIndex, then ID).
  Result<std::vector<Evaluation>> ListEvals() const;
  // The allocation with its Job re-attached (a decoded-job cache keeps
  // this from decoding the job each time).
  Result<std::optional<Allocation>> GetAlloc(const std::string& id) const;
  Result<std::optional<StoredAlloc>> GetAllocWithoutJob(const std::string& id) const;
  // GET /v1/allocation/:id's body: the allocation's JSON with the Job's
  // spliced in, decoding neither; and its ModifyIndex.
  struct AllocJson {
    std::uint64_t modify_index = 0;
    std::string json;
  };
  Result<std::optional<AllocJson>> GetAllocJson(const std::string& id) const;
  // Chronological (CreateIndex, then ID). One pass over `allocs`.
  Result<std::vector<Allocation>> ListAllocs() const;
  // Visits every allocation's stub in chronological order (reversed if
  // asked), from the first key at or after `from` (before, reversed; empty:
  // the start), with one iterator; `fn` returns false to stop.
  struct StubEntry {
    std::uint64_t create_index;
    std::string_view id;
    StubRecordView stub;
  };
  Status ScanAllocStubs(bool reverse, const AllocKey* from,
                        const std::function<bool(const StubEntry&)>& fn) const;
  // The chronological order alone, read from the index without decoding
  // any allocation: for paging through a few of many.
  Result<std::vector<AllocKey>> ListAllocKeys() const;
  // By ID, for `prefix` queries.
  Result<std::vector<Allocation>> ListAllocsByIDPrefix(const std::string& prefix) const;
  Result<std::vector<Allocation>> ListAllocsByJob(const std::string& ns,
                                                  const std::string& job_id) const;
  // Every stored version of a job, newest first.
  Result<std::vector<Job>> ListJobVersions(const std::string& ns, const std::string& id) const;
  Result<std::optional<Deployment>> GetDeployment(const std::string& id) const;
  // By ID.
  Result<std::vector<Deployment>> ListDeployments() const;
  Result<std::optional<Node>> GetNode(const std::string& id) const;
  Result<std::vector<Node>> ListNodes() const;
  Result<std::optional<std::string>> GetTaskLocal(const std::string& alloc_id,
                                                  const std::string& task) const;
  Result<std::optional<ACLToken>> GetAclToken(const std::string& accessor_id) const;
  Result<std::optional<ACLToken>> GetAclTokenBySecretHash(const std::string& secret_hash) const;
  // By accessor ID.
  Result<std::vector<ACLToken>> ListAclTokens() const;
  Result<std::optional<ACLPolicy>> GetAclPolicy(const std::string& name) const;
  // The JSON PutScalingEvents wrote for the job, if any.
  Result<std::optional<std::string>> GetScalingEvents(const std::string& ns,
                                                      const std::string& job_id) const;
  // By name.
  Result<std::vector<ACLPolicy>> ListAclPolicies() const;
  // Namespaces and variables as stored (JSON). Scans go in key order:
  // namespaces by name, variables by namespace then path, only those of
  // `ns` when it is not empty; `fn` returns false to stop.
  Result<std::optional<std::string>> GetNamespaceJson(const std::string& name) const;
  Status ScanNamespaces(const std::function<bool(std::string_view json)>& fn) const;
  Result<std::optional<std::string>> GetVariableJson(const std::string& ns,
                                                     const std::string& path) const;
  Status ScanVariables(const std::string& ns,
                       const std::function<bool(std::string_view json)>& fn) const;
  // Journal entries with Index >= from_index, in order; at most `limit`.
  Result<std::vector<Event>> ListEvents(std::uint64_t from_index, std::size_t limit) const;
  // Journal entries with Index >= from_index in order, undecoded: each
  // entry's index and its Event JSON (valid during the call only); `fn`
  // returns false to stop. For readers that decode a few of many entries
  // (storage/journal_scan.h).
  Status ScanEventsRaw(
      std::uint64_t from_index,
      const std::function<Result<bool>(std::uint64_t index, std::string_view json)>& fn) const;

  // The journal entries of allocations whose ID is `id` (or starts with
  // it, when `prefix`), in journal order, from `journal_objects`.
  Result<std::vector<JournalKey>> ListAllocJournal(const std::string& id, bool prefix) const;
  // The journal entries of job `id` in namespace `ns` ("": every
  // namespace), in journal order.
  Result<std::vector<JournalKey>> ListJobJournal(const std::string& id, const std::string& ns) const;
  // One journal entry's Event JSON; empty once compaction folded it.
  Result<std::optional<std::string>> GetJournalEntry(const JournalKey& key) const;
  // The journal entries of every node (its Node events), in journal order
  // (none before schema v10, which indexed them).
  Result<std::vector<JournalKey>> ListNodeJournal() const;
  // Several at once, in the order asked (each empty once folded); keys in
  // journal order read each data block once.
  Result<std::vector<std::optional<std::string>>> GetJournalEntries(
      const std::vector<JournalKey>& keys) const;

  // Key-only index scans, streaming in key order (for `state check`): every
  // `alloc_job` entry as (namespace, job ID, allocation ID), and every
  // `journal_objects` key with its topic; `fn` returns false to stop.
  Status ScanAllocJobIndex(
      const std::function<bool(std::string_view ns, std::string_view job_id,
                               std::string_view alloc_id)>& fn) const;
  Status ScanJournalObjects(
      const std::function<bool(std::string_view key, std::string_view topic)>& fn) const;

  struct TaskLocalEntry {
    std::string alloc_id;
    std::string task;
    std::string json;
  };
  // Every task_local entry, by allocation ID then task name.
  Result<std::vector<TaskLocalEntry>> ListTaskLocal() const;

  // The journal snapshot's objects (`journal_snapshot`, schema v9; see the
  // key layout; storage/journal.h gives them meaning): one by its key, and
  // every one whose key starts with `prefix`, in key order (the views are
  // valid during the call; `fn` returns false to stop). A read-only view
  // of a store from before v9 has none.
  Result<std::optional<std::string>> GetSnapshotObject(const std::string& key) const;
  Status ScanSnapshot(
      const std::string& prefix,
      const std::function<Result<bool>(std::string_view key, std::string_view value)>& fn) const;

  // Journal compaction (storage/journal.h): in one synced batch, deletes
  // every journal entry with Index <= `through_index` (and its
  // `journal_objects` keys) and replaces the snapshot with the state at
  // that index: "journal/base", the meta "journal/header" `header`, and in
  // `journal_snapshot` the objects `objects` puts (every old one deleted).
  // `objects` runs before the write lock is taken, so commits go on while
  // it encodes. Fails with Unavailable, changing nothing, unless the
  // current base is still `expected_base` (a concurrent compaction won).
  using SnapshotSink = std::function<void(std::string_view key, std::string_view value)>;
  Status FoldJournal(std::uint64_t expected_base, std::uint64_t through_index,
                     const std::string& header,
                     const std::function<Status(const SnapshotSink& put)>& objects);

  Result<std::optional<std::string>> GetMeta(const std::string& key) const;
  Status PutMeta(const std::string& key, const std::string& value);
  // Writes every table's memtable to disk and waits (tests, benchmarks).
  Status Flush();

  WatchId Watch(const WatchSpec& spec, std::uint64_t min_index, std::function<void()> callback);
  WatchId Watch(const std::vector<Table>& tables, std::uint64_t min_index,
                std::function<void()> callback) {
    return Watch(WatchSpec{tables, {}}, min_index, std::move(callback));
  }
  // Drops a waiter that has not fired; a no-op once it has.
  void CancelWatch(WatchId id);

 private:
  friend class WriteTxn;
  struct Impl;
  explicit StateStore(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
  int schema_version_ = 0;
};

}  // namespace drover
