// The journal snapshot one key per object (`journal_snapshot`, schema v9):
// compaction writes every object under its key and replaces the snapshot
// before it whole; loads read it back exactly, whole or only the objects a
// filter keeps; the migration splits a v8 store's one meta value the way
// compaction writes it; a read-only view of a v8 store still reads that
// value.
#include <gtest/gtest.h>

#include <rocksdb/db.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <set>

#include "migrations/migrations.h"
#include "storage/codec.h"
#include "storage/journal.h"
#include "storage/state_store.h"
#include "tests/support/migration_steps.h"
#include "tests/support/raw_db.h"

namespace drover {
namespace {

constexpr const char* kSplitStep = "journal snapshot stored one key per object";
constexpr Nanos kT0 = 1'700'000'000 * kSecond;

using RawEntries = std::map<std::string, std::string>;

class SchemaSnapshotObjectsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "drover_snapcf_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void OpenStore(std::vector<Migration> steps) {
    steps_ = steps;
    auto s = StateStore::Open(dir_, StoreOptions{std::move(steps), true});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }

  std::uint64_t MustApply(const std::function<Status(WriteTxn&)>& fn) {
    auto r = store_->Apply(fn);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : 0;
  }

  // Job `id` in `ns` registered with its evaluation and one allocation
  // per entry of `allocs`, as the agent journals them.
  void Register(const std::string& ns, const std::string& id, const std::vector<std::string>& allocs) {
    MustApply([&](WriteTxn& txn) {
      Job job;
      job.Namespace = ns;
      job.ID = job.Name = id;
      job.Type = kJobTypeService;
      job.Status = "running";
      job.SubmitTime = kT0 + static_cast<Nanos>(txn.index()) * kSecond;
      TaskGroup tg;
      tg.Name = "g";
      tg.Count = static_cast<int>(allocs.size());
      Task t;
      t.Name = "t";
      t.Driver = "raw_exec";
      tg.Tasks.push_back(t);
      job.TaskGroups.push_back(tg);
      job.CreateIndex = job.ModifyIndex = job.JobModifyIndex = txn.index();
      txn.PutJob(job);
      txn.AddEvent(MakeEvent("Job", "JobRegistered", job.ID, ns, EncodeJson(job)));
      Evaluation ev;
      ev.ID = "eval-" + ns + "-" + id;
      ev.Namespace = ns;
      ev.JobID = id;
      ev.TriggeredBy = "job-register";
      ev.Status = "complete";
      ev.CreateIndex = ev.ModifyIndex = txn.index();
      ev.CreateTime = ev.ModifyTime = job.SubmitTime;
      txn.PutEval(ev);
      txn.AddEvent(MakeEvent("Evaluation", "EvaluationUpdated", ev.ID, ns, EncodeJson(ev), {id}));
      for (const std::string& alloc_id : allocs) {
        Allocation a;
        a.ID = alloc_id;
        a.Namespace = ns;
        a.JobID = id;
        a.Job = job;
        a.Name = id + ".g[0]";
        a.TaskGroup = "g";
        a.EvalID = ev.ID;
        a.DesiredStatus = kAllocDesiredRun;
        a.ClientStatus = kAllocClientPending;
        a.CreateIndex = a.ModifyIndex = txn.index();
        a.CreateTime = a.ModifyTime = job.SubmitTime;
        txn.PutAlloc(a);
        txn.AddEvent(AllocationEvent("PlanResult", a));
      }
      return Status::Ok();
    });
  }

  void Update(const std::string& alloc_id, const std::string& client) {
    MustApply([&](WriteTxn& txn) -> Status {
      ASSIGN_OR_RETURN(std::optional<Allocation> a, store_->GetAlloc(alloc_id));
      if (!a) return NotFound("alloc");
      a->ClientStatus = client;
      a->ModifyIndex = txn.index();
      a->ModifyTime = kT0 + static_cast<Nanos>(txn.index()) * kSecond;
      txn.PutAlloc(*a);
      txn.AddEvent(AllocationEvent("AllocationUpdated", *a));
      return Status::Ok();
    });
  }

  // A stop writes the job back; a purge deletes it (storage/journal.h).
  void Deregister(const std::string& ns, const std::string& id, bool purge) {
    MustApply([&](WriteTxn& txn) -> Status {
      ASSIGN_OR_RETURN(std::optional<Job> job, store_->GetJob(ns, id));
      if (!job) return NotFound("job");
      if (purge) {
        txn.DeleteJob(ns, id);
      } else {
        job->Stop = true;
        job->Status = "dead";
        job->ModifyIndex = job->JobModifyIndex = txn.index();
        job->SubmitTime = kT0 + static_cast<Nanos>(txn.index()) * kSecond;
        txn.PutJob(*job);
      }
      txn.AddEvent(MakeEvent("Job", "JobDeregistered", id, ns, EncodeJson(*job)));
      return Status::Ok();
    });
  }

  // Every object kind: a node; jobs "web" in two namespaces and "batch",
  // each with an evaluation and allocations; updates; web stopped and
  // batch purged (its allocation stays). Returns the head index.
  std::uint64_t Populate() {
    MustApply([&](WriteTxn& txn) {
      Node n;
      n.ID = "node-1";
      n.Name = "node-1";
      n.Status = "ready";
      n.StatusUpdatedAt = kT0 / kSecond;
      n.CreateIndex = n.ModifyIndex = txn.index();
      txn.PutNode(n);
      txn.AddEvent(MakeEvent("Node", "NodeRegistration", n.ID, "", EncodeJson(n)));
      return Status::Ok();
    });
    Register("default", "web", {"a1", "a2"});
    Register("other", "web", {"a3"});
    Register("default", "batch", {"b1"});
    Update("a1", kAllocClientRunning);
    Update("b1", kAllocClientComplete);
    Deregister("default", "web", /*purge=*/false);
    Deregister("default", "batch", /*purge=*/true);
    Update("a2", kAllocClientFailed);
    return store_->LatestIndex();
  }

  // Every entry of one column family (and meta's journal keys), raw.
  RawEntries Raw(const char* cf) {
    // The store is closed meanwhile: a read-only open beside it races with
    // its background flush (the fold's) and can miss what is in flight.
    const bool was_open = store_ != nullptr;
    store_.reset();
    RawEntries out;
    if (auto raw = testing::RawDb::Open(dir_, /*read_only=*/true); raw == nullptr) {
      ADD_FAILURE() << "cannot open " << dir_ << " read-only";
    } else if (raw->Family(cf) != nullptr) {
      std::unique_ptr<rocksdb::Iterator> it(raw->db()->NewIterator(rocksdb::ReadOptions(), raw->Family(cf)));
      for (it->SeekToFirst(); it->Valid(); it->Next()) out[it->key().ToString()] = it->value().ToString();
    }
    if (was_open) OpenStore(steps_);
    return out;
  }


  // What compaction writes for `state`.
  static RawEntries Expected(const JournalState& state) {
    RawEntries out;
    PutSnapshotObjects(state, [&](std::string_view k, std::string_view v) { out[std::string(k)] = v; });
    return out;
  }

  static void ExpectSame(const JournalState& got, const JournalState& want) {
    EXPECT_EQ(got.index, want.index);
    EXPECT_EQ(got.time, want.time);
    EXPECT_EQ(got.table_index, want.table_index);
    EXPECT_EQ(got.jobs, want.jobs);
    EXPECT_EQ(got.evals, want.evals);
    EXPECT_EQ(got.allocs, want.allocs);
    EXPECT_EQ(got.nodes, want.nodes);
    EXPECT_EQ(got.purged_jobs, want.purged_jobs);
  }

  std::string dir_;
  std::unique_ptr<StateStore> store_;
  std::vector<Migration> steps_;  // those the store was opened with
};

std::string K(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) {
    if (!out.empty()) out.push_back('\0');
    out.append(p);
  }
  return out;
}

TEST_F(SchemaSnapshotObjectsTest, CompactionWritesEachObjectUnderItsKeyAndLoadsBackExactly) {
  OpenStore(migrations::All());
  const std::uint64_t head = Populate();
  auto compacted = CompactJournal(*store_, RetentionPolicy{.max_events = 1});
  ASSERT_TRUE(compacted.ok()) << compacted.status().ToString();
  ASSERT_EQ(compacted->base_index, head - 1);
  auto at_base = ReplayJournal(*store_, head - 1);
  ASSERT_TRUE(at_base.ok());

  auto loaded = LoadJournalSnapshot(*store_);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ExpectSame(*loaded, *at_base);
  EXPECT_EQ(loaded->index, head - 1);
  EXPECT_GT(loaded->time, kT0);
  EXPECT_TRUE(loaded->purged_jobs.count({"default", "batch"}));
  EXPECT_EQ(loaded->allocs.at("b1").Job->ID, "batch");  // its Job embedded
  EXPECT_TRUE(loaded->jobs.at({"default", "web"}).Stop);

  // The keys of every kind, and nothing else; the header in meta, the
  // old single value gone.
  const RawEntries raw = Raw("journal_snapshot");
  std::set<std::string> keys;
  for (const auto& [k, v] : raw) keys.insert(k);
  const std::set<std::string> want = {
      K({"jdefault", "web"}), K({"jother", "web"}), K({"pdefault", "batch"}),
      "eeval-default-web", "eeval-other-web", "eeval-default-batch",
      "aa1", "aa2", "aa3", "ab1", "nnode-1",
      K({"bdefault", "web", "eeval-default-web"}), K({"bdefault", "web", "aa1"}),
      K({"bdefault", "web", "aa2"}), K({"bother", "web", "eeval-other-web"}),
      K({"bother", "web", "aa3"}), K({"bdefault", "batch", "eeval-default-batch"}),
      K({"bdefault", "batch", "ab1"})};
  EXPECT_EQ(keys, want);
  EXPECT_EQ(raw.at("aa1"), EncodeJson(at_base->allocs.at("a1")));
  EXPECT_EQ(raw.at(K({"pdefault", "batch"})), "");
  auto header = store_->GetMeta(kJournalHeaderKey);
  ASSERT_TRUE(header.ok() && header->has_value());
  EXPECT_EQ(**header, EncodeSnapshotHeader(*at_base));
  EXPECT_FALSE(store_->GetMeta(kJournalSnapshotV8Key)->has_value());
  EXPECT_EQ(*store_->GetMeta("journal/base"), std::optional<std::string>(std::to_string(head - 1)));

  // The replay from the snapshot is the live state.
  auto replayed = ReplayJournal(*store_);
  ASSERT_TRUE(replayed.ok()) << replayed.status().ToString();
  auto listed = store_->ListAllocs();
  ASSERT_TRUE(listed.ok());
  std::map<std::string, Allocation> live;
  for (const Allocation& a : *listed) live[a.ID] = a;
  EXPECT_EQ(replayed->allocs, live);
}

TEST_F(SchemaSnapshotObjectsTest, ASecondCompactionReplacesTheFirstWhole) {
  OpenStore(migrations::All());
  Populate();
  // The first snapshot: before the purge, so batch is a job there.
  auto first = CompactJournal(*store_, RetentionPolicy{.max_events = 4});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto first_state = LoadJournalSnapshot(*store_);
  ASSERT_TRUE(first_state.ok());
  ASSERT_TRUE(first_state->jobs.count({"default", "batch"}));
  ASSERT_FALSE(first_state->purged_jobs.count({"default", "batch"}));

  // Later: the purged job's key goes, its purge mark comes; a new job and
  // an allocation's newer state replace the old ones.
  Register("default", "later", {"c1"});
  Update("a3", kAllocClientRunning);
  Update("a1", kAllocClientComplete);  // kept in the journal
  const std::uint64_t head = store_->LatestIndex();
  auto want = ReplayJournal(*store_, head);
  ASSERT_TRUE(want.ok());
  auto second = CompactJournal(*store_, RetentionPolicy{.max_events = 1});
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->base_index, head - 1);
  auto at_base = ReplayJournal(*store_, head - 1);
  ASSERT_TRUE(at_base.ok());
  auto loaded = LoadJournalSnapshot(*store_);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ExpectSame(*loaded, *at_base);
  EXPECT_FALSE(loaded->jobs.count({"default", "batch"}));
  EXPECT_TRUE(loaded->purged_jobs.count({"default", "batch"}));
  EXPECT_TRUE(loaded->allocs.count("c1"));
  // A key of both snapshots reads the newer object, one key at a time too.
  auto a3 = LoadSnapshotAlloc(*store_, "a3");
  ASSERT_TRUE(a3.ok() && a3->has_value());
  EXPECT_EQ((*a3)->ClientStatus, kAllocClientRunning);
  EXPECT_EQ(**a3, at_base->allocs.at("a3"));
  store_.reset();
  // Exactly the second snapshot's keys: nothing of the first is left.
  EXPECT_EQ(Raw("journal_snapshot"), Expected(*loaded));
  OpenStore(migrations::All());
  auto replayed = ReplayJournal(*store_);
  ASSERT_TRUE(replayed.ok());
  ExpectSame(*replayed, *want);
  a3 = LoadSnapshotAlloc(*store_, "a3");
  ASSERT_TRUE(a3.ok() && a3->has_value());
  EXPECT_EQ((*a3)->ClientStatus, kAllocClientRunning);
}

TEST_F(SchemaSnapshotObjectsTest, FilteredLoadsDecodeOnlyTheObjectsKept) {
  OpenStore(migrations::All());
  const std::uint64_t head = Populate();
  ASSERT_TRUE(CompactJournal(*store_, RetentionPolicy{.max_events = 1}).ok());
  auto all = LoadJournalSnapshot(*store_);
  ASSERT_TRUE(all.ok());

  // One job's objects in one namespace, as job history asks.
  std::vector<std::string> asked;
  auto by_job = LoadJournalSnapshot(*store_, [&](std::string_view topic, std::string_view ns,
                                                 std::string_view id, std::string_view job) {
    asked.push_back(std::string(topic) + " " + std::string(ns) + " " + std::string(id) + " " +
                    std::string(job));
    if (ns != "default") return false;
    return topic == "Job" ? id == "web" : job == "web";
  });
  ASSERT_TRUE(by_job.ok()) << by_job.status().ToString();
  EXPECT_EQ(by_job->index, head - 1);
  EXPECT_EQ(by_job->table_index, all->table_index);
  EXPECT_EQ(by_job->time, all->time);
  EXPECT_EQ(by_job->purged_jobs, all->purged_jobs);  // loaded whole
  ASSERT_EQ(by_job->jobs.size(), 1u);
  EXPECT_EQ(by_job->jobs.at({"default", "web"}), all->jobs.at({"default", "web"}));
  EXPECT_EQ(by_job->evals.size(), 1u);
  EXPECT_EQ(by_job->evals.at("eval-default-web"), all->evals.at("eval-default-web"));
  ASSERT_EQ(by_job->allocs.size(), 2u);
  EXPECT_EQ(by_job->allocs.at("a2"), all->allocs.at("a2"));
  EXPECT_TRUE(by_job->nodes.empty());
  // The filter is asked about each object once, with its namespace and job.
  EXPECT_EQ(asked.size(), 2u + 3u + 4u + 1u);
  EXPECT_NE(std::find(asked.begin(), asked.end(), "Allocation other a3 web"), asked.end());
  EXPECT_NE(std::find(asked.begin(), asked.end(), "Evaluation default eval-default-batch batch"),
            asked.end());
  EXPECT_NE(std::find(asked.begin(), asked.end(), "Node  node-1 "), asked.end());

  // Allocations by prefix, as `events replay --alloc` asks.
  auto by_prefix = LoadJournalSnapshot(*store_, [](std::string_view topic, std::string_view,
                                                   std::string_view id, std::string_view) {
    return topic == "Allocation" && id.starts_with("a");
  });
  ASSERT_TRUE(by_prefix.ok());
  EXPECT_EQ(by_prefix->allocs.size(), 3u);
  EXPECT_TRUE(by_prefix->jobs.empty() && by_prefix->evals.empty());

  // One allocation by its key.
  auto one = LoadSnapshotAlloc(*store_, "b1");
  ASSERT_TRUE(one.ok() && one->has_value());
  EXPECT_EQ(**one, all->allocs.at("b1"));
  auto none = LoadSnapshotAlloc(*store_, "b");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(SchemaSnapshotObjectsTest, V8StoreIsReadInPlaceAndMigratesAsCompactionWrites) {
  // A v8 store with a compacted journal: the v8 writer's snapshot is one
  // meta value (EncodeJournalState) and it has no `journal_snapshot`.
  OpenStore(testing::StepsBefore(kSplitStep));
  ASSERT_EQ(store_->schema_version(), testing::VersionBefore(kSplitStep));
  const std::uint64_t head = Populate();
  ASSERT_TRUE(CompactJournal(*store_, RetentionPolicy{.max_events = 1}).ok());
  auto state = LoadJournalSnapshot(*store_);
  ASSERT_TRUE(state.ok());
  ASSERT_EQ(state->index, head - 1);
  auto replay_before = ReplayJournal(*store_);
  ASSERT_TRUE(replay_before.ok());
  store_.reset();
  const RawEntries written = Raw("journal_snapshot");
  ASSERT_FALSE(written.empty());
  {
    auto raw = testing::RawDb::Open(dir_);
    ASSERT_NE(raw, nullptr);
    ASSERT_TRUE(raw->Drop("journal_snapshot").ok());
    rocksdb::ColumnFamilyHandle* meta = raw->Family("meta");
    ASSERT_TRUE(raw->db()->Put(rocksdb::WriteOptions(), meta, kJournalSnapshotV8Key,
                               EncodeJournalState(*state)).ok());
    ASSERT_TRUE(raw->db()->Delete(rocksdb::WriteOptions(), meta, kJournalHeaderKey).ok());
  }

  // Read-only tools read the v8 store as it is.
  {
    auto ro = StateStore::OpenReadOnly(dir_);
    ASSERT_TRUE(ro.ok()) << ro.status().ToString();
    EXPECT_EQ((*ro)->schema_version(), testing::VersionBefore(kSplitStep));
    auto loaded = LoadJournalSnapshot(**ro);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    ExpectSame(*loaded, *state);
    auto one = LoadSnapshotAlloc(**ro, "a3");
    ASSERT_TRUE(one.ok() && one->has_value());
    EXPECT_EQ(**one, state->allocs.at("a3"));
    auto by_job = LoadJournalSnapshot(**ro, [](std::string_view topic, std::string_view,
                                               std::string_view id, std::string_view job) {
      return topic == "Job" ? id == "web" : job == "web";
    });
    ASSERT_TRUE(by_job.ok());
    EXPECT_EQ(by_job->allocs.size(), 3u);
    auto replayed = ReplayJournal(**ro);
    ASSERT_TRUE(replayed.ok()) << replayed.status().ToString();
    ExpectSame(*replayed, *replay_before);
  }

  // The agent's open migrates it: the objects as compaction writes them,
  // the header, the old value gone; everything reads the same.
  OpenStore(migrations::All());
  EXPECT_EQ(store_->schema_version(), migrations::kSchemaVersion);
  EXPECT_FALSE(store_->GetMeta(kJournalSnapshotV8Key)->has_value());
  EXPECT_EQ(*store_->GetMeta(kJournalHeaderKey), std::optional<std::string>(EncodeSnapshotHeader(*state)));
  auto loaded = LoadJournalSnapshot(*store_);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ExpectSame(*loaded, *state);
  auto replayed = ReplayJournal(*store_);
  ASSERT_TRUE(replayed.ok());
  ExpectSame(*replayed, *replay_before);
  store_.reset();
  EXPECT_EQ(Raw("journal_snapshot"), written);
}

TEST_F(SchemaSnapshotObjectsTest, StoreWithoutASnapshotMigratesToNone) {
  OpenStore(testing::StepsBefore(kSplitStep));
  Populate();
  store_.reset();
  OpenStore(migrations::All());
  EXPECT_EQ(store_->schema_version(), migrations::kSchemaVersion);
  EXPECT_FALSE(store_->GetMeta(kJournalHeaderKey)->has_value());
  auto loaded = LoadJournalSnapshot(*store_);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->index, 0u);
  EXPECT_TRUE(loaded->allocs.empty());
  store_.reset();
  EXPECT_TRUE(Raw("journal_snapshot").empty());
}

}  // namespace
}  // namespace drover
