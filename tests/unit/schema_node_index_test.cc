// Schema v10: the journal's Node events in the object index
// (`journal_objects` 'n' keys, storage/state_store.h), so that `events why`
// reads the entries its story can name instead of scanning the journal.
// Tested from the v9 store a v9 writer left: read in place by the
// read-only tools, and migrated by the agent's open.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "migrations/migrations.h"
#include "service/state_check.h"
#include "service/state_history.h"
#include "storage/codec.h"
#include "storage/state_store.h"
#include "tests/support/migration_steps.h"
#include "tests/support/raw_db.h"

namespace drover {
namespace {

constexpr const char* kNodeIndexStep = "journal entries indexed by node";
constexpr Nanos kT0 = 1'700'000'000 * kSecond;
const std::string kAlloc = "a1000000-0000-4000-8000-000000000000";

class SchemaNodeIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "drover_node_index_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  static void Apply(StateStore& s, const std::function<void(WriteTxn&)>& fn) {
    auto r = s.Apply([&](WriteTxn& txn) {
      fn(txn);
      return Status::Ok();
    });
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  static void RegisterNode(StateStore& s, const std::string& id, const std::string& name, Nanos now) {
    Apply(s, [&](WriteTxn& txn) {
      Node n;
      n.ID = id;
      n.Name = name;
      n.Status = "ready";
      n.StatusUpdatedAt = now / kSecond;
      n.CreateIndex = n.ModifyIndex = txn.index();
      txn.PutNode(n);
      txn.AddEvent(MakeEvent("Node", "NodeRegistration", n.ID, "", EncodeJson(n)));
    });
  }

  // Index 1: node n1 registers; 2: job web, its evaluation and allocation
  // placed; 3: it runs; 4: node n2 registers; 5: n1 registers again (an
  // agent restart); 6: the allocation completes.
  static void WriteHistory(StateStore& s) {
    RegisterNode(s, "n1", "node-1", kT0);
    Allocation a;
    Apply(s, [&](WriteTxn& txn) {
      Job job;
      job.Namespace = "default";
      job.ID = job.Name = "web";
      job.Type = kJobTypeBatch;
      job.SubmitTime = kT0 + kSecond;
      TaskGroup tg;
      tg.Name = "g";
      Task t;
      t.Name = "t";
      t.Driver = "raw_exec";
      tg.Tasks.push_back(t);
      job.TaskGroups.push_back(tg);
      job.CreateIndex = job.ModifyIndex = job.JobModifyIndex = txn.index();
      txn.PutJob(job);
      txn.AddEvent(MakeEvent("Job", "JobRegistered", job.ID, job.Namespace, EncodeJson(job)));
      Evaluation e;
      e.ID = "e1000000-0000-4000-8000-000000000000";
      e.Namespace = "default";
      e.JobID = "web";
      e.TriggeredBy = "job-register";
      e.Status = "complete";
      e.CreateIndex = e.ModifyIndex = txn.index();
      e.CreateTime = e.ModifyTime = kT0 + kSecond;
      txn.PutEval(e);
      txn.AddEvent(MakeEvent("Evaluation", "EvaluationUpdated", e.ID, "default", EncodeJson(e), {"web"}));
      a.ID = kAlloc;
      a.Namespace = "default";
      a.EvalID = e.ID;
      a.Name = "web.g[0]";
      a.NodeID = "n1";
      a.JobID = "web";
      a.Job = job;
      a.TaskGroup = "g";
      a.DesiredStatus = "run";
      a.ClientStatus = "pending";
      a.CreateIndex = a.ModifyIndex = txn.index();
      a.CreateTime = a.ModifyTime = kT0 + kSecond;
      txn.PutAlloc(a);
      txn.AddEvent(AllocationEvent("PlanResult", a));
    });
    auto update = [&](const std::string& status, Nanos now) {
      Apply(s, [&](WriteTxn& txn) {
        a.ClientStatus = status;
        a.ModifyIndex = txn.index();
        a.ModifyTime = now;
        txn.PutAlloc(a);
        txn.AddEvent(AllocationEvent("AllocationUpdated", a));
      });
    };
    update("running", kT0 + 2 * kSecond);
    RegisterNode(s, "n2", "node-2", kT0 + 3 * kSecond);
    RegisterNode(s, "n1", "node-1", kT0 + 4 * kSecond);
    update("complete", kT0 + 5 * kSecond);
  }

  std::vector<std::pair<std::string, std::string>> RawIndex() {
    std::vector<std::pair<std::string, std::string>> out;
    auto raw = testing::RawDb::Open(dir_, /*read_only=*/true);
    if (raw == nullptr || raw->Family("journal_objects") == nullptr) return out;
    std::unique_ptr<rocksdb::Iterator> it(
        raw->db()->NewIterator(rocksdb::ReadOptions(), raw->Family("journal_objects")));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      out.emplace_back(it->key().ToString(), it->value().ToString());
    }
    return out;
  }

  // What a v9 writer left: the index without Node keys.
  void DropNodeKeys() {
    auto raw = testing::RawDb::Open(dir_);
    ASSERT_NE(raw, nullptr);
    rocksdb::ColumnFamilyHandle* cf = raw->Family("journal_objects");
    ASSERT_NE(cf, nullptr);
    std::unique_ptr<rocksdb::Iterator> it(raw->db()->NewIterator(rocksdb::ReadOptions(), cf));
    for (it->Seek("n"); it->Valid() && it->key().starts_with("n"); it->Next()) {
      ASSERT_TRUE(raw->db()->Delete(rocksdb::WriteOptions(), cf, it->key()).ok());
    }
  }

  static std::vector<std::uint64_t> Indexes(const Result<std::vector<JournalKey>>& keys) {
    std::vector<std::uint64_t> out;
    if (keys.ok()) {
      for (const JournalKey& k : *keys) out.push_back(k.index);
    }
    return out;
  }

  static std::string Story(const StateStore& s) {
    std::ostringstream out;
    Status st = WriteAllocStory(s, kAlloc.substr(0, 8), "", out);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out.str();
  }

  static void ExpectHealthy(const StateStore& s) {
    auto report = CheckState(s);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_TRUE(report->ok()) << report->Format();
  }

  std::string dir_;
};

TEST_F(SchemaNodeIndexTest, WriterIndexesNodeEventsInJournalOrder) {
  auto store = StateStore::Open(dir_, StoreOptions{migrations::All(), true});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  WriteHistory(**store);
  auto nodes = (*store)->ListNodeJournal();
  ASSERT_TRUE(nodes.ok()) << nodes.status().ToString();
  EXPECT_EQ(Indexes(nodes), (std::vector<std::uint64_t>{1, 4, 5}));  // n1, n2, n1 again
  for (const JournalKey& k : *nodes) EXPECT_EQ(k.topic, "Node");
  ExpectHealthy(**store);
  // The story names the agent's restart while the allocation lived, not
  // the registration before it was placed.
  const std::string story = Story(**store);
  EXPECT_NE(story.find("[5]  agent started: node node-1 registered (ready)"), std::string::npos) << story;
  EXPECT_EQ(story.find("[1]  agent started"), std::string::npos) << story;
}

TEST_F(SchemaNodeIndexTest, V9StoreIsReadInPlaceAndMigratesToTheIndexTheWriterWrites) {
  {
    auto store = StateStore::Open(dir_, StoreOptions{testing::StepsBefore(kNodeIndexStep), true});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_EQ((*store)->schema_version(), testing::VersionBefore(kNodeIndexStep));
    WriteHistory(**store);
  }
  const auto written = RawIndex();
  ASSERT_EQ(std::count_if(written.begin(), written.end(), [](const auto& kv) { return kv.first[0] == 'n'; }),
            3);
  DropNodeKeys();
  std::string story_v9;
  {
    // The read-only tools read it as it is: healthy, and the same story,
    // found by scanning the journal.
    auto ro = StateStore::OpenReadOnly(dir_);
    ASSERT_TRUE(ro.ok()) << ro.status().ToString();
    EXPECT_EQ((*ro)->schema_version(), testing::VersionBefore(kNodeIndexStep));
    EXPECT_TRUE((*ro)->ListNodeJournal()->empty());
    ExpectHealthy(**ro);
    story_v9 = Story(**ro);
    EXPECT_NE(story_v9.find("agent started: node node-1"), std::string::npos) << story_v9;
  }
  // The agent's open migrates it: the keys the writer writes, and the
  // story told from the index is the one the scan told.
  {
    auto store = StateStore::Open(dir_, StoreOptions{migrations::All(), true});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    EXPECT_EQ((*store)->schema_version(), migrations::kSchemaVersion);
    EXPECT_EQ(Indexes((*store)->ListNodeJournal()), (std::vector<std::uint64_t>{1, 4, 5}));
    ExpectHealthy(**store);
    EXPECT_EQ(Story(**store), story_v9);
  }
  EXPECT_EQ(RawIndex(), written);
}

// A v9 view whose index lacks a key it should have is still caught: the
// check skips only the Node keys a v9 writer never wrote.
TEST_F(SchemaNodeIndexTest, CheckOfAV9StoreStillFindsAMissingAllocationKey) {
  {
    auto store = StateStore::Open(dir_, StoreOptions{testing::StepsBefore(kNodeIndexStep), true});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    WriteHistory(**store);
  }
  DropNodeKeys();
  {
    auto raw = testing::RawDb::Open(dir_);
    ASSERT_NE(raw, nullptr);
    rocksdb::ColumnFamilyHandle* cf = raw->Family("journal_objects");
    std::unique_ptr<rocksdb::Iterator> it(raw->db()->NewIterator(rocksdb::ReadOptions(), cf));
    it->Seek("a");
    ASSERT_TRUE(it->Valid() && it->key().starts_with("a"));
    ASSERT_TRUE(raw->db()->Delete(rocksdb::WriteOptions(), cf, it->key()).ok());
  }
  auto ro = StateStore::OpenReadOnly(dir_);
  ASSERT_TRUE(ro.ok()) << ro.status().ToString();
  auto report = CheckState(**ro);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_FALSE(report->ok());
  const std::string text = report->Format();
  EXPECT_NE(text.find("journal_objects allocation " + kAlloc + " -> entry 2."), std::string::npos) << text;
  EXPECT_EQ(text.find("journal_objects node"), std::string::npos) << text;
}

}  // namespace
}  // namespace drover
