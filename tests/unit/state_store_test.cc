// Unit tests of the RocksDB state store (storage/state_store.h).
#include "storage/state_store.h"

#include <gtest/gtest.h>

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "migrations/migrations.h"
#include "storage/alloc_record.h"
#include "storage/model.h"
#include "tests/support/raw_db.h"

namespace drover {
namespace {

// A fresh directory per test under the GoogleTest temp dir, removed after.
class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "drover_state_store_XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    ASSERT_NE(mkdtemp(buf.data()), nullptr);
    dir_ = buf.data();
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::unique_ptr<StateStore> OpenStore() {
    auto s = StateStore::Open(dir_, StoreOptions{migrations::All(), true});
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  void Reopen() {
    store_.reset();
    store_ = OpenStore();
    ASSERT_NE(store_, nullptr);
  }

  std::uint64_t MustApply(const std::function<Status(WriteTxn&)>& fn) {
    auto r = store_->Apply(fn);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : 0;
  }

  std::string dir_;
  std::unique_ptr<StateStore> store_;
};

Job MakeJob(const std::string& ns, const std::string& id) {
  Job j;
  j.Namespace = ns;
  j.ID = id;
  j.Name = id;
  j.Type = kJobTypeService;
  j.Datacenters = {"dc1"};
  return j;
}

// IDs are 36-character UUIDs as Nomad's; `tag` fills the first 8 characters.
std::string AllocID(const std::string& tag) {
  std::string id = tag + std::string(8 - tag.size(), '0') + "-0000-4000-8000-000000000000";
  return id;
}

Allocation MakeAlloc(const std::string& id, const std::string& ns, const std::string& job,
                     std::uint64_t create_index) {
  Allocation a;
  a.ID = id;
  a.Namespace = ns;
  a.JobID = job;
  a.Name = job + ".g[0]";
  a.TaskGroup = "g";
  a.ClientStatus = kAllocClientPending;
  a.DesiredStatus = kAllocDesiredRun;
  a.CreateIndex = create_index;
  a.ModifyIndex = create_index;
  return a;
}

std::vector<std::string> Ids(const std::vector<Allocation>& allocs) {
  std::vector<std::string> out;
  for (const auto& a : allocs) out.push_back(a.ID);
  return out;
}

Event MakeEvent(const std::string& key) {
  Event e;
  e.Topic = "Allocation";
  e.Type = "AllocationUpdated";
  e.Key = key;
  e.Namespace = "default";
  return e;
}

std::vector<std::pair<std::uint64_t, std::string>> IndexAndKeys(const std::vector<Event>& evs) {
  std::vector<std::pair<std::uint64_t, std::string>> out;
  for (const auto& e : evs) out.emplace_back(e.Index, e.Key);
  return out;
}

// ---- Apply and indexes -----------------------------------------------------------

TEST_F(StateStoreTest, FreshStoreStartsAtIndexZeroWithEmptyTables) {
  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(store_->LatestIndex(), 0u);
  for (Table t : kAllTables) EXPECT_EQ(store_->TableIndex(t), 0u) << TableName(t);
  auto allocs = store_->ListAllocs();
  ASSERT_TRUE(allocs.ok());
  EXPECT_TRUE(allocs->empty());
  auto job = store_->GetJob("default", "nope");
  ASSERT_TRUE(job.ok());
  EXPECT_FALSE(job->has_value());
}

TEST_F(StateStoreTest, ApplyCommitsAtLatestIndexPlusOneAndBumpsOnlyTouchedTables) {
  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);

  std::uint64_t seen = 0;
  std::uint64_t idx = MustApply([&](WriteTxn& txn) {
    seen = txn.index();
    txn.PutJob(MakeJob("default", "web"));
    return Status::Ok();
  });
  EXPECT_EQ(seen, 1u);
  EXPECT_EQ(idx, 1u);
  EXPECT_EQ(store_->LatestIndex(), 1u);
  EXPECT_EQ(store_->TableIndex(Table::kJobs), 1u);
  EXPECT_EQ(store_->TableIndex(Table::kAllocs), 0u);
  EXPECT_EQ(store_->TableIndex(Table::kEvals), 0u);
  EXPECT_EQ(store_->TableIndex(Table::kNodes), 0u);

  idx = MustApply([&](WriteTxn& txn) {
    seen = txn.index();
    txn.PutAlloc(MakeAlloc(AllocID("a1"), "default", "web", txn.index()));
    Evaluation e;
    e.ID = "eval-1";
    txn.PutEval(e);
    return Status::Ok();
  });
  EXPECT_EQ(seen, 2u);
  EXPECT_EQ(idx, 2u);
  EXPECT_EQ(store_->TableIndex(Table::kJobs), 1u);
  EXPECT_EQ(store_->TableIndex(Table::kAllocs), 2u);
  EXPECT_EQ(store_->TableIndex(Table::kEvals), 2u);
  EXPECT_EQ(store_->TableIndex(Table::kNodes), 0u);

  // Touch marks a table without writing an object of it.
  idx = MustApply([&](WriteTxn& txn) {
    txn.Touch(Table::kNodes);
    return Status::Ok();
  });
  EXPECT_EQ(idx, 3u);
  EXPECT_EQ(store_->TableIndex(Table::kNodes), 3u);
  EXPECT_EQ(store_->TableIndex(Table::kAllocs), 2u);

  // A change of no table (task local state, journal only) still takes an index.
  idx = MustApply([&](WriteTxn& txn) {
    txn.PutTaskLocal(AllocID("a1"), "t", R"({"pid":1})");
    txn.AddEvent(MakeEvent("x"));
    return Status::Ok();
  });
  EXPECT_EQ(idx, 4u);
  EXPECT_EQ(store_->LatestIndex(), 4u);
  for (Table t : kAllTables) EXPECT_LE(store_->TableIndex(t), 3u) << TableName(t);
}

TEST_F(StateStoreTest, ApplyMakesEveryStagedWriteVisibleTogether) {
  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  std::uint64_t idx = MustApply([&](WriteTxn& txn) {
    Job j = MakeJob("default", "web");
    j.CreateIndex = j.ModifyIndex = txn.index();
    txn.PutJob(j);
    Evaluation e;
    e.ID = "eval-1";
    e.JobID = "web";
    txn.PutEval(e);
    txn.PutAlloc(MakeAlloc(AllocID("a1"), "default", "web", txn.index()));
    Node n;
    n.ID = "node-1";
    txn.PutNode(n);
    txn.AddEvent(MakeEvent("web"));
    return Status::Ok();
  });
  ASSERT_EQ(idx, 1u);
  auto job = store_->GetJob("default", "web");
  ASSERT_TRUE(job.ok() && job->has_value());
  EXPECT_EQ((*job)->ModifyIndex, 1u);
  auto eval = store_->GetEval("eval-1");
  ASSERT_TRUE(eval.ok() && eval->has_value());
  auto alloc = store_->GetAlloc(AllocID("a1"));
  ASSERT_TRUE(alloc.ok() && alloc->has_value());
  EXPECT_EQ((*alloc)->JobID, "web");
  auto node = store_->GetNode("node-1");
  ASSERT_TRUE(node.ok() && node->has_value());
  auto events = store_->ListEvents(0, 100);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].Index, 1u);
  for (Table t : kAllTables) EXPECT_EQ(store_->TableIndex(t), 1u) << TableName(t);
}

TEST_F(StateStoreTest, ApplyWhoseFnFailsWritesNothingAndDoesNotBumpAnyIndex) {
  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  MustApply([&](WriteTxn& txn) {
    txn.PutJob(MakeJob("default", "before"));
    return Status::Ok();
  });
  int fired = 0;
  store_->Watch({Table::kJobs, Table::kAllocs}, 1, [&] { ++fired; });

  auto r = store_->Apply([&](WriteTxn& txn) {
    txn.PutJob(MakeJob("default", "web"));
    txn.DeleteJob("default", "before");
    txn.PutAlloc(MakeAlloc(AllocID("a1"), "default", "web", txn.index()));
    txn.PutTaskLocal(AllocID("a1"), "t", "{}");
    txn.AddEvent(MakeEvent("web"));
    return FailedPrecondition("job is invalid");
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(), "job is invalid");

  EXPECT_EQ(store_->LatestIndex(), 1u);
  EXPECT_EQ(store_->TableIndex(Table::kJobs), 1u);
  EXPECT_EQ(store_->TableIndex(Table::kAllocs), 0u);
  EXPECT_EQ(fired, 0);
  auto web = store_->GetJob("default", "web");
  ASSERT_TRUE(web.ok());
  EXPECT_FALSE(web->has_value());
  auto before = store_->GetJob("default", "before");
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(before->has_value());
  auto allocs = store_->ListAllocs();
  ASSERT_TRUE(allocs.ok());
  EXPECT_TRUE(allocs->empty());
  auto by_job = store_->ListAllocsByJob("default", "web");
  ASSERT_TRUE(by_job.ok());
  EXPECT_TRUE(by_job->empty());
  auto local = store_->GetTaskLocal(AllocID("a1"), "t");
  ASSERT_TRUE(local.ok());
  EXPECT_FALSE(local->has_value());
  auto events = store_->ListEvents(0, 100);
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE(events->empty());

  // The next successful Apply takes the next index: no gap.
  EXPECT_EQ(MustApply([&](WriteTxn& txn) {
              txn.Touch(Table::kEvals);
              return Status::Ok();
            }),
            2u);

  // Nothing of the failed Apply appears after a reopen either.
  Reopen();
  EXPECT_EQ(store_->LatestIndex(), 2u);
  web = store_->GetJob("default", "web");
  ASSERT_TRUE(web.ok());
  EXPECT_FALSE(web->has_value());
}

TEST_F(StateStoreTest, ConcurrentAppliesGetDistinctConsecutiveIndexes) {
  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  constexpr int kThreads = 2, kEach = 25;
  std::vector<std::vector<std::uint64_t>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto r = store_->Apply([&](WriteTxn& txn) {
          txn.PutJob(MakeJob("default", "j" + std::to_string(t) + "-" + std::to_string(i)));
          return Status::Ok();
        });
        if (r.ok()) got[t].push_back(*r);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::uint64_t> all;
  for (const auto& v : got) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ(*all.begin(), 1u);
  EXPECT_EQ(*all.rbegin(), static_cast<std::uint64_t>(kThreads * kEach));
  EXPECT_EQ(store_->LatestIndex(), static_cast<std::uint64_t>(kThreads * kEach));
  auto jobs = store_->ListJobs();
  ASSERT_TRUE(jobs.ok());
  EXPECT_EQ(jobs->size(), static_cast<size_t>(kThreads * kEach));
}

// ---- Durability ----------------------------------------------------------------

TEST_F(StateStoreTest, DataAndIndexesSurviveCloseAndReopen) {
  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  MustApply([&](WriteTxn& txn) {
    txn.PutJob(MakeJob("default", "web"));
    return Status::Ok();
  });
  MustApply([&](WriteTxn& txn) {
    txn.PutAlloc(MakeAlloc(AllocID("a1"), "default", "web", txn.index()));
    txn.PutTaskLocal(AllocID("a1"), "t", R"({"pid":42})");
    txn.AddEvent(MakeEvent(AllocID("a1")));
    return Status::Ok();
  });
  MustApply([&](WriteTxn& txn) {
    Node n;
    n.ID = "node-1";
    n.Meta = {{"rack", "r1"}};
    txn.PutNode(n);
    return Status::Ok();
  });
  ASSERT_TRUE(store_->PutMeta("node_id", "node-1").ok());

  Reopen();
  EXPECT_EQ(store_->schema_version(), migrations::kSchemaVersion);
  EXPECT_EQ(store_->LatestIndex(), 3u);
  EXPECT_EQ(store_->TableIndex(Table::kJobs), 1u);
  EXPECT_EQ(store_->TableIndex(Table::kAllocs), 2u);
  EXPECT_EQ(store_->TableIndex(Table::kNodes), 3u);
  EXPECT_EQ(store_->TableIndex(Table::kEvals), 0u);

  auto job = store_->GetJob("default", "web");
  ASSERT_TRUE(job.ok() && job->has_value());
  EXPECT_TRUE(**job == MakeJob("default", "web"));
  auto alloc = store_->GetAlloc(AllocID("a1"));
  ASSERT_TRUE(alloc.ok() && alloc->has_value());
  EXPECT_TRUE(**alloc == MakeAlloc(AllocID("a1"), "default", "web", 2));
  auto by_job = store_->ListAllocsByJob("default", "web");
  ASSERT_TRUE(by_job.ok());
  EXPECT_EQ(Ids(*by_job), std::vector<std::string>{AllocID("a1")});
  auto local = store_->GetTaskLocal(AllocID("a1"), "t");
  ASSERT_TRUE(local.ok() && local->has_value());
  EXPECT_EQ(**local, R"({"pid":42})");
  auto node = store_->GetNode("node-1");
  ASSERT_TRUE(node.ok() && node->has_value());
  EXPECT_EQ((*node)->Meta.at("rack"), "r1");
  auto events = store_->ListEvents(0, 10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].Index, 2u);
  auto meta = store_->GetMeta("node_id");
  ASSERT_TRUE(meta.ok() && meta->has_value());
  EXPECT_EQ(**meta, "node-1");

  // The next Apply continues from the reopened index.
  EXPECT_EQ(MustApply([&](WriteTxn& txn) {
              txn.Touch(Table::kJobs);
              return Status::Ok();
            }),
            4u);
}

TEST_F(StateStoreTest, SecondOpenOfAnOpenDirectoryIsRefusedAsUnavailable) {
  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  auto second = StateStore::Open(dir_, StoreOptions{migrations::All(), true});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable) << second.status().ToString();
  EXPECT_NE(second.status().message().find(dir_), std::string::npos);

  // The refused open did not disturb the first; once closed, it opens again.
  EXPECT_EQ(MustApply([&](WriteTxn& txn) {
              txn.Touch(Table::kJobs);
              return Status::Ok();
            }),
            1u);
  Reopen();
  EXPECT_EQ(store_->LatestIndex(), 1u);
}

// ---- Listing -----------------------------------------------------------------

TEST_F(StateStoreTest, ListAllocsIsChronologicalByCreateIndexThenID) {
  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  // IDs sort opposite to creation; indexes straddle byte boundaries (a
  // little-endian or decimal key would misorder 2, 300, 70000).
  MustApply([&](WriteTxn& txn) {
    txn.PutAlloc(MakeAlloc(AllocID("ffff"), "default", "web", 2));
    txn.PutAlloc(MakeAlloc(AllocID("eeee"), "default", "web", 70000));
    txn.PutAlloc(MakeAlloc(AllocID("dddd"), "default", "web", 300));
    txn.PutAlloc(MakeAlloc(AllocID("cccc"), "default", "web", 300));
    txn.PutAlloc(MakeAlloc(AllocID("bbbb"), "other", "api", 10));
    return Status::Ok();
  });
  auto all = store_->ListAllocs();
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(Ids(*all), (std::vector<std::string>{AllocID("ffff"), AllocID("bbbb"),
                                                 AllocID("cccc"), AllocID("dddd"),
                                                 AllocID("eeee")}));

  // Updating an allocation (same CreateIndex) does not duplicate it.
  MustApply([&](WriteTxn& txn) {
    Allocation a = MakeAlloc(AllocID("ffff"), "default", "web", 2);
    a.ClientStatus = kAllocClientRunning;
    a.ModifyIndex = txn.index();
    txn.PutAlloc(a);
    return Status::Ok();
  });
  all = store_->ListAllocs();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ((*all)[0].ClientStatus, kAllocClientRunning);

  // Deleting removes it from every listing.
  MustApply([&](WriteTxn& txn) {
    txn.DeleteAlloc(MakeAlloc(AllocID("dddd"), "default", "web", 300));
    return Status::Ok();
  });
  all = store_->ListAllocs();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(Ids(*all), (std::vector<std::string>{AllocID("ffff"), AllocID("bbbb"),
                                                 AllocID("cccc"), AllocID("eeee")}));
  auto by_job = store_->ListAllocsByJob("default", "web");
  ASSERT_TRUE(by_job.ok());
  EXPECT_EQ(Ids(*by_job),
            (std::vector<std::string>{AllocID("cccc"), AllocID("eeee"), AllocID("ffff")}));
  auto by_prefix = store_->ListAllocsByIDPrefix("dd");
  ASSERT_TRUE(by_prefix.ok());
  EXPECT_TRUE(by_prefix->empty());
  auto gone = store_->GetAlloc(AllocID("dddd"));
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
}

TEST_F(StateStoreTest, ListAllocsByJobMatchesNamespaceAndExactJobID) {
  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  MustApply([&](WriteTxn& txn) {
    txn.PutAlloc(MakeAlloc(AllocID("a2"), "default", "web", 1));
    txn.PutAlloc(MakeAlloc(AllocID("a1"), "default", "web", 1));
    txn.PutAlloc(MakeAlloc(AllocID("b1"), "default", "web2", 1));  // job ID with "web" prefix
    txn.PutAlloc(MakeAlloc(AllocID("c1"), "prod", "web", 1));     // same job, other namespace
    txn.PutAlloc(MakeAlloc(AllocID("d1"), "default", "we", 1));
    return Status::Ok();
  });
  auto web = store_->ListAllocsByJob("default", "web");
  ASSERT_TRUE(web.ok()) << web.status().ToString();
  EXPECT_EQ(Ids(*web), (std::vector<std::string>{AllocID("a1"), AllocID("a2")}));
  auto prod = store_->ListAllocsByJob("prod", "web");
  ASSERT_TRUE(prod.ok());
  EXPECT_EQ(Ids(*prod), std::vector<std::string>{AllocID("c1")});
  auto we = store_->ListAllocsByJob("default", "we");
  ASSERT_TRUE(we.ok());
  EXPECT_EQ(Ids(*we), std::vector<std::string>{AllocID("d1")});
  auto none = store_->ListAllocsByJob("default", "nope");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(StateStoreTest, ListAllocsByIDPrefixReturnsMatchesInIDOrder) {
  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  MustApply([&](WriteTxn& txn) {
    txn.PutAlloc(MakeAlloc(AllocID("a8198d79"), "default", "web", 3));
    txn.PutAlloc(MakeAlloc(AllocID("a8100000"), "default", "web", 1));
    txn.PutAlloc(MakeAlloc(AllocID("a9000000"), "default", "web", 2));
    txn.PutAlloc(MakeAlloc(AllocID("5457f16d"), "default", "web", 4));
    return Status::Ok();
  });
  auto a8 = store_->ListAllocsByIDPrefix("a81");
  ASSERT_TRUE(a8.ok());
  EXPECT_EQ(Ids(*a8), (std::vector<std::string>{AllocID("a8100000"), AllocID("a8198d79")}));
  auto exact = store_->ListAllocsByIDPrefix("a8198d79");
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(Ids(*exact), std::vector<std::string>{AllocID("a8198d79")});
  auto all = store_->ListAllocsByIDPrefix("");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(Ids(*all), (std::vector<std::string>{AllocID("5457f16d"), AllocID("a8100000"),
                                                 AllocID("a8198d79"), AllocID("a9000000")}));
  auto none = store_->ListAllocsByIDPrefix("b");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

// The store must not assume 36-character IDs when it reads its own indexes.
TEST_F(StateStoreTest, ListingsFindAllocationsWhoseIDsAreNotUUIDs) {
  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  const std::string long_id = AllocID("ab") + "-extra";
  MustApply([&](WriteTxn& txn) {
    txn.PutAlloc(MakeAlloc("short-1", "default", "web", 2));
    txn.PutAlloc(MakeAlloc(long_id, "default", "web", 1));
    return Status::Ok();
  });
  auto all = store_->ListAllocs();
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(Ids(*all), (std::vector<std::string>{long_id, "short-1"}));
  auto by_job = store_->ListAllocsByJob("default", "web");
  ASSERT_TRUE(by_job.ok()) << by_job.status().ToString();
  EXPECT_EQ(Ids(*by_job), (std::vector<std::string>{long_id, "short-1"}));
}

// ---- Event journal ----------------------------------------------------------------

TEST_F(StateStoreTest, ListEventsReturnsJournalInCommitOrderFromIndex) {
  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  MustApply([&](WriteTxn& txn) {
    txn.AddEvent(MakeEvent("1a"));
    txn.AddEvent(MakeEvent("1b"));
    txn.AddEvent(MakeEvent("1c"));
    return Status::Ok();
  });
  MustApply([&](WriteTxn& txn) {
    txn.Touch(Table::kJobs);  // no event at index 2
    return Status::Ok();
  });
  MustApply([&](WriteTxn& txn) {
    Event e = MakeEvent("3a");
    e.Index = 999;  // overwritten with the commit index
    txn.AddEvent(e);
    return Status::Ok();
  });
  MustApply([&](WriteTxn& txn) {
    txn.AddEvent(MakeEvent("4a"));
    return Status::Ok();
  });

  using V = std::vector<std::pair<std::uint64_t, std::string>>;
  auto all = store_->ListEvents(0, 100);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(IndexAndKeys(*all), (V{{1, "1a"}, {1, "1b"}, {1, "1c"}, {3, "3a"}, {4, "4a"}}));

  auto from2 = store_->ListEvents(2, 100);
  ASSERT_TRUE(from2.ok());
  EXPECT_EQ(IndexAndKeys(*from2), (V{{3, "3a"}, {4, "4a"}}));
  auto from3 = store_->ListEvents(3, 100);
  ASSERT_TRUE(from3.ok());
  EXPECT_EQ(IndexAndKeys(*from3), (V{{3, "3a"}, {4, "4a"}}));
  auto from4 = store_->ListEvents(4, 100);
  ASSERT_TRUE(from4.ok());
  EXPECT_EQ(IndexAndKeys(*from4), (V{{4, "4a"}}));
  auto past = store_->ListEvents(5, 100);
  ASSERT_TRUE(past.ok());
  EXPECT_TRUE(past->empty());

  auto limited = store_->ListEvents(1, 2);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(IndexAndKeys(*limited), (V{{1, "1a"}, {1, "1b"}}));
  auto zero = store_->ListEvents(0, 0);
  ASSERT_TRUE(zero.ok());
  EXPECT_TRUE(zero->empty());
}

TEST_F(StateStoreTest, ManyEventsInOneCommitKeepTheirOrder) {
  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  constexpr int kN = 300;  // beyond one byte of sequence number
  MustApply([&](WriteTxn& txn) {
    for (int i = 0; i < kN; ++i) txn.AddEvent(MakeEvent(std::to_string(i)));
    return Status::Ok();
  });
  auto evs = store_->ListEvents(0, 1000);
  ASSERT_TRUE(evs.ok());
  ASSERT_EQ(evs->size(), static_cast<size_t>(kN));
  for (int i = 0; i < kN; ++i) EXPECT_EQ((*evs)[i].Key, std::to_string(i));
}

// ---- Watches --------------------------------------------------------------------

TEST_F(StateStoreTest, WatchFiresOnceWhenALaterCommitTouchesItsTable) {
  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  int fired = 0;
  store_->Watch({Table::kAllocs}, store_->TableIndex(Table::kAllocs), [&] { ++fired; });
  EXPECT_EQ(fired, 0);

  MustApply([&](WriteTxn& txn) {  // another table: no wake-up
    txn.PutJob(MakeJob("default", "web"));
    return Status::Ok();
  });
  MustApply([&](WriteTxn& txn) {  // no table at all
    txn.AddEvent(MakeEvent("x"));
    return Status::Ok();
  });
  EXPECT_EQ(fired, 0);

  MustApply([&](WriteTxn& txn) {
    txn.PutAlloc(MakeAlloc(AllocID("a1"), "default", "web", txn.index()));
    return Status::Ok();
  });
  EXPECT_EQ(fired, 1);

  MustApply([&](WriteTxn& txn) {
    txn.PutAlloc(MakeAlloc(AllocID("a2"), "default", "web", txn.index()));
    return Status::Ok();
  });
  EXPECT_EQ(fired, 1);  // once only
}

TEST_F(StateStoreTest, WatchOnSeveralTablesFiresForAnyOfThem) {
  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  int fired = 0;
  store_->Watch({Table::kJobs, Table::kEvals}, 0, [&] { ++fired; });
  MustApply([&](WriteTxn& txn) {
    txn.Touch(Table::kNodes);
    return Status::Ok();
  });
  EXPECT_EQ(fired, 0);
  MustApply([&](WriteTxn& txn) {
    txn.Touch(Table::kEvals);
    return Status::Ok();
  });
  EXPECT_EQ(fired, 1);
}

TEST_F(StateStoreTest, WatchFiresImmediatelyWhenTableIndexIsAlreadyPastMinIndex) {
  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  MustApply([&](WriteTxn& txn) {
    txn.Touch(Table::kJobs);
    return Status::Ok();
  });
  MustApply([&](WriteTxn& txn) {
    txn.Touch(Table::kJobs);
    return Status::Ok();
  });
  int fired = 0;
  store_->Watch({Table::kJobs}, 1, [&] { ++fired; });
  EXPECT_EQ(fired, 1);  // synchronously, before Watch returned

  // A later commit does not fire it again.
  MustApply([&](WriteTxn& txn) {
    txn.Touch(Table::kJobs);
    return Status::Ok();
  });
  EXPECT_EQ(fired, 1);

  // At the current index it waits.
  int waiting = 0;
  store_->Watch({Table::kJobs}, store_->TableIndex(Table::kJobs), [&] { ++waiting; });
  EXPECT_EQ(waiting, 0);
}

TEST_F(StateStoreTest, WatchWaitsUntilACommitRaisesTheIndexAboveMinIndex) {
  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  int fired = 0;
  store_->Watch({Table::kAllocs}, 2, [&] { ++fired; });
  MustApply([&](WriteTxn& txn) {  // index 1
    txn.Touch(Table::kAllocs);
    return Status::Ok();
  });
  MustApply([&](WriteTxn& txn) {  // index 2: not above 2
    txn.Touch(Table::kAllocs);
    return Status::Ok();
  });
  EXPECT_EQ(fired, 0);
  MustApply([&](WriteTxn& txn) {  // index 3
    txn.Touch(Table::kAllocs);
    return Status::Ok();
  });
  EXPECT_EQ(fired, 1);
}

TEST_F(StateStoreTest, CancelWatchPreventsFiring) {
  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  int cancelled = 0, kept = 0;
  WatchId a = store_->Watch({Table::kAllocs}, 0, [&] { ++cancelled; });
  WatchId b = store_->Watch({Table::kAllocs}, 0, [&] { ++kept; });
  EXPECT_NE(a, b);
  store_->CancelWatch(a);
  MustApply([&](WriteTxn& txn) {
    txn.Touch(Table::kAllocs);
    return Status::Ok();
  });
  EXPECT_EQ(cancelled, 0);
  EXPECT_EQ(kept, 1);
  store_->CancelWatch(b);  // after firing: a no-op
  store_->CancelWatch(a);  // twice: a no-op
  MustApply([&](WriteTxn& txn) {
    txn.Touch(Table::kAllocs);
    return Status::Ok();
  });
  EXPECT_EQ(cancelled, 0);
  EXPECT_EQ(kept, 1);
}

TEST_F(StateStoreTest, WatchFiresFromACommitOnAnotherThread) {
  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  std::atomic<int> fired{0};
  store_->Watch({Table::kNodes}, 0, [&] { fired.fetch_add(1); });
  std::thread writer([&] {
    auto r = store_->Apply([&](WriteTxn& txn) {
      Node n;
      n.ID = "node-1";
      txn.PutNode(n);
      return Status::Ok();
    });
    EXPECT_TRUE(r.ok());
  });
  writer.join();
  EXPECT_EQ(fired.load(), 1);
}

// A job version the store cannot read back fails the change that writes
// the job, and the change writes nothing: the job table never points at a
// version whose stored copy is not the job.
TEST_F(StateStoreTest, PutJobFailsTheChangeWhenItsStoredVersionIsUnreadable) {
  Reopen();
  Job job = MakeJob("default", "web");
  store_.reset();
  {
    auto raw = testing::RawDb::Open(dir_);
    ASSERT_NE(raw, nullptr);
    ASSERT_NE(raw->Family("job_versions"), nullptr);
    ASSERT_TRUE(raw->db()
                    ->Put(rocksdb::WriteOptions(), raw->Family("job_versions"),
                          JobVersionKey(job.Namespace, job.ID, RefOf(job)), "{not json")
                    .ok());
  }
  Reopen();
  const std::uint64_t before = store_->LatestIndex();
  auto r = store_->Apply([&](WriteTxn& txn) {
    txn.PutJob(job);
    return Status::Ok();
  });
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("invalid JSON"), std::string::npos) << r.status().ToString();
  EXPECT_EQ(store_->LatestIndex(), before);
  auto got = store_->GetJob(job.Namespace, job.ID);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_FALSE(got->has_value());
}

}  // namespace
}  // namespace drover
