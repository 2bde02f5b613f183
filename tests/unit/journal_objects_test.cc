// The journal indexed by object (`journal_objects`): written with each
// entry, built by the migration from a store of the schema before it
// exactly as the writer writes it, kept consistent by compaction; and the
// per-object history read through it (service/history.h).
#include <gtest/gtest.h>

#include <rocksdb/db.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <filesystem>

#include "migrations/migrations.h"
#include "service/history.h"
#include "storage/codec.h"
#include "storage/journal.h"
#include "storage/state_store.h"
#include "tests/support/migration_steps.h"
#include "tests/support/raw_db.h"

namespace drover {
namespace {

class SchemaJournalObjectsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "drover_jobj_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // The steps up to the schema before the journal index.
  static constexpr const char* kIndexStep = "journal entries indexed by allocation and job";
  static std::vector<Migration> BeforeIndex() { return testing::StepsBefore(kIndexStep); }

  static Job MakeJob(const std::string& ns, std::uint64_t index) {
    Job job;
    job.ID = job.Name = "web";
    job.Namespace = ns;
    job.Type = "service";
    job.CreateIndex = job.ModifyIndex = job.JobModifyIndex = index;
    TaskGroup tg;
    tg.Name = "g";
    tg.Count = 1;
    Task t;
    t.Name = "t";
    t.Driver = "raw_exec";
    tg.Tasks.push_back(t);
    job.TaskGroups.push_back(tg);
    return job;
  }

  static Allocation MakeAlloc(const std::string& id, const Job& job, std::uint64_t index) {
    Allocation a;
    a.ID = id;
    a.Namespace = job.Namespace;
    a.JobID = job.ID;
    a.Job = job;
    a.Name = "web.g[0]";
    a.TaskGroup = "g";
    a.DesiredStatus = "run";
    a.ClientStatus = "pending";
    a.CreateIndex = a.ModifyIndex = index;
    a.ModifyTime = static_cast<Nanos>(index) * kSecond;
    return a;
  }

  // A history: job "web" in two namespaces, an evaluation, two allocations
  // of default/web updated in turn, one of other/web.
  void WriteHistory(StateStore& store) {
    for (const char* ns : {"default", "other"}) {
      auto r = store.Apply([&](WriteTxn& txn) {
        Job job = MakeJob(ns, txn.index());
        txn.PutJob(job);
        txn.AddEvent(MakeEvent("Job", "JobRegistered", job.ID, job.Namespace, EncodeJson(job)));
        Evaluation ev;
        ev.ID = std::string("e-") + ns;
        ev.Namespace = ns;
        ev.JobID = job.ID;
        ev.Status = "complete";
        ev.CreateIndex = ev.ModifyIndex = txn.index();
        txn.PutEval(ev);
        txn.AddEvent(MakeEvent("Evaluation", "EvaluationUpdated", ev.ID, ns, EncodeJson(ev), {job.ID}));
        for (const char* id : {"a1", "a2"}) {
          if (std::string(ns) == "other" && std::string(id) == "a2") continue;
          Allocation a = MakeAlloc(std::string(id) + "-" + ns, job, txn.index());
          txn.PutAlloc(a);
          txn.AddEvent(AllocationEvent("PlanResult", a));
          allocs_[a.ID] = a;
        }
        return Status::Ok();
      });
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    }
    for (int round = 0; round < 3; ++round) {
      for (const char* id : {"a1-default", "a2-default"}) {
        auto r = store.Apply([&](WriteTxn& txn) {
          Allocation& a = allocs_[id];
          a.ClientStatus = round == 2 ? "complete" : "running";
          a.ModifyIndex = txn.index();
          a.ModifyTime = static_cast<Nanos>(txn.index()) * kSecond;
          txn.PutAlloc(a);
          txn.AddEvent(AllocationEvent("AllocationUpdated", a));
          return Status::Ok();
        });
        ASSERT_TRUE(r.ok());
      }
    }
  }

  static std::vector<std::uint64_t> Indexes(const Result<std::vector<JournalKey>>& keys) {
    std::vector<std::uint64_t> out;
    if (!keys.ok()) return {0};
    for (const JournalKey& k : *keys) out.push_back(k.index);
    return out;
  }

  // Every entry of one column family, raw.
  std::vector<std::pair<std::string, std::string>> RawEntries(const char* cf) {
    std::vector<std::pair<std::string, std::string>> out;
    auto raw = testing::RawDb::Open(dir_, /*read_only=*/true);
    if (raw == nullptr || raw->Family(cf) == nullptr) return out;
    std::unique_ptr<rocksdb::Iterator> it(raw->db()->NewIterator(rocksdb::ReadOptions(), raw->Family(cf)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) out.emplace_back(it->key().ToString(), it->value().ToString());
    return out;
  }

  // Makes the store what the schema before the index left: no index
  // column family, no journal length, the version before.
  void DropIndex() {
    auto raw = testing::RawDb::Open(dir_);
    ASSERT_NE(raw, nullptr);
    EXPECT_TRUE(raw->Drop("journal_objects").ok());
    rocksdb::ColumnFamilyHandle* meta = raw->Family("meta");
    ASSERT_NE(meta, nullptr);
    EXPECT_TRUE(raw->db()->Put(rocksdb::WriteOptions(), meta, "schema_version",
                               std::to_string(testing::VersionBefore(kIndexStep)))
                    .ok());
    EXPECT_TRUE(raw->db()->Delete(rocksdb::WriteOptions(), meta, "journal/entries").ok());
  }

  std::string dir_;
  std::map<std::string, Allocation> allocs_;
};

TEST_F(SchemaJournalObjectsTest, WriterIndexesEachEntryUnderItsAllocationAndJob) {
  auto store = StateStore::Open(dir_, StoreOptions{migrations::All(), true});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  WriteHistory(**store);
  StateStore& s = **store;
  // Index 1: default/web registered with its evaluation and two
  // allocations; 2: other/web; 3..8: updates of a1, a2 in turn.
  EXPECT_EQ(Indexes(s.ListAllocJournal("a1-default", false)), (std::vector<std::uint64_t>{1, 3, 5, 7}));
  EXPECT_EQ(Indexes(s.ListAllocJournal("a2-default", false)), (std::vector<std::uint64_t>{1, 4, 6, 8}));
  // A prefix: both, in journal order; an exact ID is not a prefix of another.
  EXPECT_EQ(Indexes(s.ListAllocJournal("a", true)),
            (std::vector<std::uint64_t>{1, 1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_TRUE(s.ListAllocJournal("a1", false)->empty());
  auto job = s.ListJobJournal("web", "default");
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(Indexes(job), (std::vector<std::uint64_t>{1, 1, 1, 1, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ((*job)[0].topic, "Job");
  EXPECT_EQ((*job)[1].topic, "Evaluation");
  EXPECT_EQ((*job)[2].topic, "Allocation");
  EXPECT_EQ(Indexes(s.ListJobJournal("web", "other")), (std::vector<std::uint64_t>{2, 2, 2}));
  EXPECT_EQ(s.ListJobJournal("web", "")->size(), 13u);
  auto entry = s.GetJournalEntry((*job)[0]);
  ASSERT_TRUE(entry.ok() && entry->has_value());
  EXPECT_NE((*entry)->find("\"JobRegistered\""), std::string::npos);
  // The journal's length is kept with it.
  EXPECT_EQ(*s.GetMeta("journal/entries"), std::optional<std::string>("13"));
}

TEST_F(SchemaJournalObjectsTest, MigrationBuildsTheIndexTheWriterWrites) {
  {
    auto store = StateStore::Open(dir_, StoreOptions{migrations::All(), true});
    ASSERT_TRUE(store.ok());
    WriteHistory(**store);
  }
  const auto written = RawEntries("journal_objects");
  ASSERT_EQ(written.size(), 4u + 4u + 1u + 10u + 3u);
  DropIndex();
  // The store as the schema before the index left it: a read-only view is
  // refused with a hint, the agent's open migrates it.
  {
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir_, &names).ok());
    EXPECT_EQ(std::count(names.begin(), names.end(), "journal_objects"), 0);
    auto ro = StateStore::OpenReadOnly(dir_);
    ASSERT_FALSE(ro.ok());
    EXPECT_NE(ro.status().message().find("start the agent on it once"), std::string::npos);
  }
  auto store = StateStore::Open(dir_, StoreOptions{migrations::All(), true});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->schema_version(), migrations::kSchemaVersion);
  store->reset();
  EXPECT_EQ(RawEntries("journal_objects"), written);
}

TEST_F(SchemaJournalObjectsTest, StoreBeforeTheIndexMigratesWithItsJournal) {
  // Written by the previous schema's steps (the writer's index dropped).
  {
    auto store = StateStore::Open(dir_, StoreOptions{BeforeIndex(), true});
    ASSERT_TRUE(store.ok());
    EXPECT_EQ((*store)->schema_version(), testing::VersionBefore(kIndexStep));
    WriteHistory(**store);
  }
  DropIndex();
  auto store = StateStore::Open(dir_, StoreOptions{migrations::All(), true});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(Indexes((*store)->ListAllocJournal("a2-default", false)),
            (std::vector<std::uint64_t>{1, 4, 6, 8}));
  EXPECT_EQ((*store)->ListJobJournal("web", "")->size(), 13u);
  EXPECT_EQ(*(*store)->GetMeta("journal/entries"), std::optional<std::string>("13"));
}

TEST_F(SchemaJournalObjectsTest, CompactionDropsTheFoldedEntriesFromTheIndex) {
  auto store = StateStore::Open(dir_, StoreOptions{migrations::All(), true});
  ASSERT_TRUE(store.ok());
  WriteHistory(**store);
  StateStore& s = **store;
  // Keep the newest 4 entries: indexes 5..8.
  auto c = CompactJournal(s, RetentionPolicy{4, 0});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->base_index, 4u);
  EXPECT_EQ(Indexes(s.ListAllocJournal("a1-default", false)), (std::vector<std::uint64_t>{5, 7}));
  EXPECT_EQ(Indexes(s.ListJobJournal("web", "")), (std::vector<std::uint64_t>{5, 6, 7, 8}));
  EXPECT_TRUE(s.ListJobJournal("web", "other")->empty());
  EXPECT_EQ(*s.GetMeta("journal/entries"), std::optional<std::string>("4"));
  store->reset();
  EXPECT_EQ(RawEntries("journal_objects").size(), 4u + 4u);
}

TEST_F(SchemaJournalObjectsTest, HistoryAtTheIndexThatCreatedTheAllocationHasIt) {
  // Index 1 registers the job and places both allocations in one change:
  // the allocation's entry follows the job's at the same index.
  auto store = StateStore::Open(dir_, StoreOptions{migrations::All(), true});
  ASSERT_TRUE(store.ok());
  WriteHistory(**store);
  StateStore& s = **store;
  auto replayed = ReplayJournal(s, 1);
  ASSERT_TRUE(replayed.ok());

  HistoryRequest r;
  r.alloc_id = "a1-default";
  r.at = 1;
  auto h = ReadHistory(s, r);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  auto body = ParseJson(h->json);
  ASSERT_TRUE(body.ok()) << h->json;
  EXPECT_EQ(body->at("At").at("Allocation"), ToJson(replayed->allocs.at("a1-default")));

  HistoryRequest j;
  j.job_id = "web";
  j.ns = "default";
  j.at = 1;
  h = ReadHistory(s, j);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  body = ParseJson(h->json);
  ASSERT_TRUE(body.ok()) << h->json;
  EXPECT_EQ(body->at("At").at("Allocations").get_array().size(), 2u);
  EXPECT_EQ(body->at("At").at("Evaluations").get_array().size(), 1u);
}

TEST_F(SchemaJournalObjectsTest, HistoryListsOneObjectsEventsAndRebuildsItAtAnIndex) {
  auto store = StateStore::Open(dir_, StoreOptions{migrations::All(), true});
  ASSERT_TRUE(store.ok());
  WriteHistory(**store);
  StateStore& s = **store;
  ASSERT_TRUE(CompactJournal(s, RetentionPolicy{7, 0}).ok());  // folds index 1 and 2

  HistoryRequest r;
  r.alloc_id = "a2-default";
  r.at = 4;
  auto h = ReadHistory(s, r);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->index, 8u);
  auto body = ParseJson(h->json);
  ASSERT_TRUE(body.ok()) << h->json;
  const auto& o = body->get_object();
  EXPECT_EQ(o.at("SnapshotIndex").to_number<std::uint64_t>(), 2u);
  std::vector<std::uint64_t> indexes;
  for (const auto& e : o.at("Events").get_array()) {
    indexes.push_back(e.at("Index").to_number<std::uint64_t>());
    EXPECT_EQ(e.at("Topic").get_string(), "Allocation");
    EXPECT_EQ(e.at("Time").to_number<std::int64_t>(),
              static_cast<std::int64_t>(indexes.back()) * kSecond);
    EXPECT_TRUE(e.at("Payload").at("Allocation").is_object());
  }
  EXPECT_EQ(indexes, (std::vector<std::uint64_t>{4, 6, 8}));
  // At 4: the allocation as the whole-journal replay rebuilds it.
  auto replayed = ReplayJournal(s, 4);
  ASSERT_TRUE(replayed.ok());
  EXPECT_EQ(o.at("At").at("Allocation"), ToJson(replayed->allocs.at("a2-default")));
  EXPECT_EQ(o.at("At").at("Allocation").at("ClientStatus").get_string(), "running");

  // The job: its entries in its namespace only; the state at an index.
  HistoryRequest j;
  j.job_id = "web";
  j.ns = "default";
  j.at = 5;
  j.from_index = 6;
  h = ReadHistory(s, j);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  body = ParseJson(h->json);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->at("Events").get_array().size(), 3u);  // 6, 7, 8
  replayed = ReplayJournal(s, 5);
  ASSERT_TRUE(replayed.ok());
  EXPECT_EQ(body->at("At").at("Job"), ToJson(replayed->jobs.at({"default", "web"})));
  EXPECT_EQ(body->at("At").at("Allocations").get_array().size(), 2u);
  EXPECT_EQ(body->at("At").at("Evaluations").get_array().size(), 1u);

  // Unknown objects and an index before the snapshot.
  r.alloc_id = "nope";
  EXPECT_EQ(ReadHistory(s, r).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ReadHistory(s, r).status().message(), "alloc not found");
  j.ns = "third";
  EXPECT_EQ(ReadHistory(s, j).status().message(), "job not found");
  // other/web: every entry folded, the job still known.
  j.ns = "other";
  j.at.reset();
  EXPECT_TRUE(ReadHistory(s, j).ok());
  r.alloc_id = "a1-default";
  r.at = 1;
  EXPECT_EQ(ReadHistory(s, r).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace drover
