#include "migrations/migrations.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "storage/alloc_record.h"
#include "storage/codec.h"
#include "storage/namespace_model.h"
#include "storage/journal.h"
#include "storage/journal_scan.h"

namespace drover::migrations {
namespace {

// v1: the initial layout (storage/state_store.h). A new database has no
// data to rewrite; the step only establishes the starting indexes.
Status InitialSchema(MigrationTxn& txn) {
  txn.Put("meta", "index", "0");
  return Status::Ok();
}

// v2: evaluations are listed chronologically, as Nomad lists them and as
// `next_token` (<CreateIndex>.<ID>) pages them, through a new index
// `eval_create`: be64(CreateIndex) <eval id>. Every existing evaluation
// gets its entry. Rewriting an entry that exists is harmless, so a run over
// a half-written state gives the same result.
Status IndexEvalsByCreateIndex(MigrationTxn& txn) {
  return txn.ForEach("evals", [&](const std::string& id, const std::string& json) -> Status {
    ASSIGN_OR_RETURN(Evaluation eval, DecodeJson<Evaluation>(json, "Evaluation"));
    if (eval.ID != id) return Internal("evaluation stored under " + id + " has ID " + eval.ID);
    txn.Put("eval_create", EvalCreateKey(eval.CreateIndex, eval.ID), "");
    return Status::Ok();
  });
}

// v3: the ACL system. Tokens (`acl_tokens`, with `acl_secrets` mapping the
// SHA-256 of each secret to its accessor) and policies (`acl_policies`) get
// column families of their own, created empty when the store opens; no
// existing entry changes. The step records the empty ACL tables' indexes so
// that their first reads answer a real X-Nomad-Index.
Status AddAclTables(MigrationTxn& txn) {
  txn.Put("meta", "index/acl_token", "0");
  txn.Put("meta", "index/acl_policy", "0");
  return Status::Ok();
}

// v4: jobs are stored once per version. Each allocation embedded its whole
// Job; now `job_versions` (<ns> \0 <id> \0 be64(Version) be64(JobModifyIndex))
// holds every job an allocation runs and every job in `jobs`, `allocs`
// holds a record that refers to its version with the allocation's JSON
// without the Job, and `alloc_create` holds each allocation's list stub
// (storage/alloc_record.h). The jobs are written first, the allocations'
// own copies after, so an allocation gets back exactly the job it embedded.
Status StoreJobsOncePerVersion(MigrationTxn& txn) {
  RETURN_IF_ERROR(txn.ForEach("jobs", [&](const std::string&, const std::string& json) -> Status {
    ASSIGN_OR_RETURN(Job job, DecodeJson<Job>(json, "Job"));
    txn.Put("job_versions", JobVersionKey(job.Namespace, job.ID, RefOf(job)), EncodeJson(job));
    return Status::Ok();
  }));
  std::set<std::string> written;
  return txn.ForEach("allocs", [&](const std::string& id, const std::string& json) -> Status {
    ASSIGN_OR_RETURN(Allocation alloc, DecodeJson<Allocation>(json, "Allocation"));
    if (alloc.ID != id) return Internal("allocation stored under " + id + " has ID " + alloc.ID);
    std::optional<JobVersionRef> ref;
    if (alloc.Job) {
      ref = RefOf(*alloc.Job);
      std::string key = JobVersionKey(alloc.Namespace, alloc.JobID, *ref);
      if (written.insert(key).second) txn.Put("job_versions", key, EncodeJson(*alloc.Job));
    }
    txn.Put("allocs", id, EncodeAllocRecord(alloc, ref));
    txn.Put("alloc_create", AllocCreateKey(alloc.CreateIndex, alloc.ID),
            EncodeStubRecord(alloc, ref));
    return Status::Ok();
  });
}

// v5: namespaces and variables (column families `namespaces` and
// `variables`, created empty when the store opens). Nomad always has the
// "default" namespace (created at index 1, "Default shared namespace");
// every namespace that stored jobs already use is created too, at the
// smallest CreateIndex of its jobs, so no job is left in a namespace that
// does not exist. The tables' indexes start at the newest of these.
Status AddNamespacesAndVariables(MigrationTxn& txn) {
  std::map<std::string, std::uint64_t> created{{kDefaultNamespace, 1}};
  RETURN_IF_ERROR(txn.ForEach("jobs", [&](const std::string&, const std::string& json) -> Status {
    ASSIGN_OR_RETURN(Job job, DecodeJson<Job>(json, "Job"));
    std::string ns = job.Namespace.empty() ? kDefaultNamespace : job.Namespace;
    auto [it, fresh] = created.emplace(ns, std::max<std::uint64_t>(job.CreateIndex, 1));
    if (!fresh) it->second = std::min(it->second, std::max<std::uint64_t>(job.CreateIndex, 1));
    return Status::Ok();
  }));
  std::uint64_t newest = 1;
  for (const auto& [name, index] : created) {
    Namespace ns;
    ns.Name = name;
    if (name == kDefaultNamespace) ns.Description = kDefaultNamespaceDescription;
    ns.CreateIndex = ns.ModifyIndex = index;
    newest = std::max(newest, index);
    txn.Put("namespaces", name, EncodeNamespace(ns));
  }
  txn.Put("meta", "index/namespaces", std::to_string(newest));
  txn.Put("meta", "index/variables", "0");
  return Status::Ok();
}

// v6: scaling events (POST /v1/job/:id/scale, service/scaling.h) get a
// column family of their own, `scaling_events`, created empty when the
// store opens; no existing entry changes. The step records the empty
// table's index so that its first reads answer a real X-Nomad-Index.
Status AddScalingEvents(MigrationTxn& txn) {
  txn.Put("meta", "index/scaling_event", "0");
  return Status::Ok();
}

// v7: deployments (Nomad's rollout of a job version) get a column family
// of their own, `deployments` (<deployment id> -> Deployment JSON),
// created empty when the store opens; no existing entry changes. The step
// records the empty table's index so that its first reads answer a real
// X-Nomad-Index.
Status AddDeployments(MigrationTxn& txn) {
  txn.Put("meta", "index/deployment", "0");
  return Status::Ok();
}

// v8: the journal indexed by object. `journal_objects` lists the journal
// entries of each allocation and each job (state_store.h), so the history
// of one object is read without scanning the journal; meta
// "journal/entries" counts the entries, so its length is known unread. Built from the
// journal as it stands (its snapshot needs no entry), streaming: only the
// index keys are held, never the entries.
// The `journal_objects` keys of every committed journal entry, streamed
// one entry at a time (the journal is never held).
Status ForEachEntryKeys(MigrationTxn& txn, const std::function<void(const JournalObjectEntry&)>& fn) {
  return txn.ScanCommitted("events", [&](std::string_view key, std::string_view raw) -> Status {
    if (key.size() != 12) return Internal("journal: a key of " + std::to_string(key.size()) + " bytes");
    std::uint64_t index = 0;
    std::uint32_t seq = 0;
    for (int i = 0; i < 8; ++i) index = (index << 8) | static_cast<unsigned char>(key[i]);
    for (int i = 8; i < 12; ++i) seq = (seq << 8) | static_cast<unsigned char>(key[i]);
    ASSIGN_OR_RETURN(JournalObjectEntry entry, JournalObjectKeysOf(index, seq, raw));
    fn(entry);
    return Status::Ok();
  });
}

constexpr const char* kJournalIndexStep = "journal entries indexed by allocation and job";
Status IndexJournalByObject(MigrationTxn& txn) {
  std::uint64_t entries = 0;
  RETURN_IF_ERROR(ForEachEntryKeys(txn, [&](const JournalObjectEntry& entry) {
    ++entries;
    for (const std::string& k : entry.keys) txn.Put("journal_objects", k, entry.topic);
  }));
  // The journal's length, kept by every commit and compaction from now on.
  txn.Put("meta", "journal/entries", std::to_string(entries));
  return Status::Ok();
}

// v9: the journal snapshot one key per object. Compaction stored the
// folded state as one meta value ("journal/snapshot"), which every reader
// parsed whole to find one allocation; now each job, purged job,
// evaluation, allocation and node has its key in `journal_snapshot`, with
// a by-job index of the evaluations and allocations, and meta
// "journal/header" holds the index, time and table indexes (the key
// layout in storage/state_store.h). The old value is split up exactly as
// compaction writes a new snapshot, and deleted; a store without one has
// nothing to convert.
Status SplitJournalSnapshot(MigrationTxn& txn) {
  std::optional<std::string> text;
  RETURN_IF_ERROR(txn.ForEach("meta", [&](const std::string& key, const std::string& value) -> Status {
    if (key == kJournalSnapshotV8Key) text = value;
    return Status::Ok();
  }));
  if (!text) return Status::Ok();
  ASSIGN_OR_RETURN(JournalState state, DecodeJournalState(*text));
  text.reset();
  PutSnapshotObjects(state, [&](std::string_view key, std::string_view value) {
    txn.Put("journal_snapshot", std::string(key), std::string(value));
  });
  txn.Put("meta", kJournalHeaderKey, EncodeSnapshotHeader(state));
  txn.Delete("meta", kJournalSnapshotV8Key);
  return Status::Ok();
}

}  // namespace

// v10: the journal's Node events indexed too ('n' <node id> keys in
// `journal_objects`), so `events why` finds the agent's restarts without
// scanning the journal. Built from the journal as it stands, streaming,
// as v8 built the rest of the index.
constexpr const char* kNodeIndexStep = "journal entries indexed by node";
Status IndexJournalByNode(MigrationTxn& txn) {
  return ForEachEntryKeys(txn, [&](const JournalObjectEntry& entry) {
    for (const std::string& k : entry.keys) {
      if (k.starts_with('n')) txn.Put("journal_objects", k, entry.topic);
    }
  });
}

std::vector<Migration> All() {
  return {
      {1, "initial schema", InitialSchema},
      {2, "index evaluations by CreateIndex", IndexEvalsByCreateIndex},
      {3, "ACL tokens and policies", AddAclTables},
      {4, "jobs stored once per version; allocations refer to them", StoreJobsOncePerVersion},
      {5, "namespaces and variables", AddNamespacesAndVariables},
      {6, "scaling events", AddScalingEvents},
      {7, "deployments", AddDeployments},
      {8, kJournalIndexStep, IndexJournalByObject},
      {9, "journal snapshot stored one key per object", SplitJournalSnapshot},
      {10, kNodeIndexStep, IndexJournalByNode},
  };
}

int OldestReadableSchema() {
  for (const Migration& m : All()) {
    if (m.description == kJournalIndexStep) return m.to_version;
  }
  return kSchemaVersion;
}

}  // namespace drover::migrations
