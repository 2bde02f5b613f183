// Unit tests of schema migrations (migrations/migrations.h) and of the
// migration mechanism in StateStore::Open.
#include "migrations/migrations.h"

#include <gtest/gtest.h>

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "storage/codec.h"
#include "storage/model.h"
#include "storage/state_store.h"

namespace drover {
namespace {

// Every key and value of every column family, read straight from RocksDB
// (the store must be closed).
using RawDump = std::map<std::string, std::map<std::string, std::string>>;

RawDump DumpDatabase(const std::string& dir) {
  RawDump out;
  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return out;
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (const auto& n : names) descs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  s = rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), dir, descs, &handles, &db);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return out;
  for (size_t i = 0; i < handles.size(); ++i) {
    auto& table = out[names[i]];
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[i]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      table[it->key().ToString()] = it->value().ToString();
    }
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
  return out;
}

// The steps of a Drover that wrote schema v1: the mechanism tests build on
// it, whatever the current schema is.
std::vector<Migration> V1Only() { return {migrations::All().front()}; }

class MigrationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "drover_migrations_XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    ASSERT_NE(mkdtemp(buf.data()), nullptr);
    dir_ = buf.data();
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  Result<std::unique_ptr<StateStore>> Open(std::vector<Migration> steps) {
    return StateStore::Open(dir_, StoreOptions{std::move(steps), true});
  }

  // Writes a database at v1 with the real writer: two jobs with meta, an
  // allocation, and task local state.
  void WriteV1Database() {
    auto store = Open(V1Only());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_EQ((*store)->schema_version(), 1);
    auto r = (*store)->Apply([](WriteTxn& txn) {
      Job a;
      a.Namespace = "default";
      a.ID = "web";
      a.Meta = StringMap{{"owner", "ops"}, {"tier", "front"}};
      txn.PutJob(a);
      Job b;
      b.Namespace = "default";
      b.ID = "batch";
      txn.PutJob(b);
      Allocation al;
      al.ID = "a8198d79-cfdb-6593-a999-1e9adabcba2e";
      al.Namespace = "default";
      al.JobID = "web";
      al.CreateIndex = txn.index();
      txn.PutAlloc(al);
      txn.PutTaskLocal(al.ID, "redis", R"({"pid":7})");
      return Status::Ok();
    });
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  std::string dir_;
};

std::string Upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

// v2 for the tests: uppercases every job's meta keys, and moves task local
// state into `meta` under "legacy_task_local/".
Status UppercaseMetaAndMoveTaskLocal(MigrationTxn& txn) {
  RETURN_IF_ERROR(txn.ForEach("jobs", [&](const std::string& key, const std::string& value) {
    ASSIGN_OR_RETURN(Job job, DecodeJson<Job>(value, "Job"));
    if (job.Meta) {
      StringMap upper;
      for (const auto& [k, v] : *job.Meta) upper[Upper(k)] = v;
      job.Meta = std::move(upper);
    }
    txn.Put("jobs", key, EncodeJson(job));
    return Status::Ok();
  }));
  return txn.ForEach("task_local", [&](const std::string& key, const std::string& value) {
    txn.Put("meta", "legacy_task_local/" + key, value);
    txn.Delete("task_local", key);
    return Status::Ok();
  });
}

std::vector<Migration> WithSteps(std::vector<Migration> extra) {
  std::vector<Migration> all = V1Only();
  for (auto& m : extra) all.push_back(std::move(m));
  return all;
}

TEST_F(MigrationsTest, BuiltInStepsAreAscendingAndEndAtSchemaVersion) {
  std::vector<Migration> all = migrations::All();
  ASSERT_FALSE(all.empty());
  for (size_t i = 1; i < all.size(); ++i) EXPECT_LT(all[i - 1].to_version, all[i].to_version);
  EXPECT_EQ(all.back().to_version, migrations::kSchemaVersion);
  for (const auto& m : all) EXPECT_FALSE(m.description.empty());
}

TEST_F(MigrationsTest, FreshStoreEndsAtSchemaVersion) {
  auto store = Open(migrations::All());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->schema_version(), migrations::kSchemaVersion);
  auto v = (*store)->GetMeta("schema_version");
  ASSERT_TRUE(v.ok() && v->has_value());
  EXPECT_EQ(**v, std::to_string(migrations::kSchemaVersion));
  EXPECT_EQ((*store)->LatestIndex(), 0u);
}

TEST_F(MigrationsTest, V1DatabaseOpensAtV2WithDataTransformedByTheStep) {
  WriteV1Database();
  const std::string alloc_id = "a8198d79-cfdb-6593-a999-1e9adabcba2e";

  auto store = Open(WithSteps({{2, "uppercase job meta keys; move task_local to meta",
                                UppercaseMetaAndMoveTaskLocal}}));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  StateStore& s = **store;
  EXPECT_EQ(s.schema_version(), 2);
  auto v = s.GetMeta("schema_version");
  ASSERT_TRUE(v.ok() && v->has_value());
  EXPECT_EQ(**v, "2");

  auto web = s.GetJob("default", "web");
  ASSERT_TRUE(web.ok() && web->has_value());
  ASSERT_TRUE((*web)->Meta.has_value());
  EXPECT_EQ(*(*web)->Meta, (StringMap{{"OWNER", "ops"}, {"TIER", "front"}}));
  auto batch = s.GetJob("default", "batch");
  ASSERT_TRUE(batch.ok() && batch->has_value());
  EXPECT_FALSE((*batch)->Meta.has_value());

  auto local = s.GetTaskLocal(alloc_id, "redis");
  ASSERT_TRUE(local.ok());
  EXPECT_FALSE(local->has_value());
  auto moved = s.GetMeta("legacy_task_local/" + alloc_id + std::string(1, '\0') + "redis");
  ASSERT_TRUE(moved.ok() && moved->has_value());
  EXPECT_EQ(**moved, R"({"pid":7})");

  // Untouched data and indexes are as they were.
  EXPECT_EQ(s.LatestIndex(), 1u);
  EXPECT_EQ(s.TableIndex(Table::kJobs), 1u);
  auto alloc = s.GetAlloc(alloc_id);
  ASSERT_TRUE(alloc.ok() && alloc->has_value());
  EXPECT_EQ((*alloc)->JobID, "web");
}

TEST_F(MigrationsTest, FailingStepLeavesTheDatabaseExactlyAsItWas) {
  WriteV1Database();
  RawDump before = DumpDatabase(dir_);
  ASSERT_FALSE(before["jobs"].empty());

  auto failing = [](MigrationTxn& txn) -> Status {
    RETURN_IF_ERROR(UppercaseMetaAndMoveTaskLocal(txn));  // stages writes first
    txn.Put("meta", "schema_version", "2");
    txn.Put("meta", "index", "999");
    RETURN_IF_ERROR(txn.ForEach("jobs", [&](const std::string& key, const std::string&) {
      txn.Delete("jobs", key);
      return Status::Ok();
    }));
    return Internal("disk full halfway through");
  };
  auto store = Open(WithSteps({{2, "breaks", failing}}));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kInternal);
  EXPECT_NE(store.status().message().find("disk full halfway through"), std::string::npos);
  EXPECT_NE(store.status().message().find("v2"), std::string::npos)
      << store.status().message();

  EXPECT_EQ(DumpDatabase(dir_), before);

  auto v1 = Open(V1Only());
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  EXPECT_EQ((*v1)->schema_version(), 1);
  auto v = (*v1)->GetMeta("schema_version");
  ASSERT_TRUE(v.ok() && v->has_value());
  EXPECT_EQ(**v, "1");
  EXPECT_EQ((*v1)->LatestIndex(), 1u);
  auto web = (*v1)->GetJob("default", "web");
  ASSERT_TRUE(web.ok() && web->has_value());
  EXPECT_EQ(*(*web)->Meta, (StringMap{{"owner", "ops"}, {"tier", "front"}}));
  auto local = (*v1)->GetTaskLocal("a8198d79-cfdb-6593-a999-1e9adabcba2e", "redis");
  ASSERT_TRUE(local.ok() && local->has_value());
}

TEST_F(MigrationsTest, FailureInALaterStepAlsoUndoesEarlierPendingSteps) {
  WriteV1Database();
  RawDump before = DumpDatabase(dir_);
  auto store = Open(WithSteps({{2, "transform", UppercaseMetaAndMoveTaskLocal},
                               {3, "fails", [](MigrationTxn&) {
                                  return FailedPrecondition("cannot convert");
                                }}}));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(DumpDatabase(dir_), before);
}

TEST_F(MigrationsTest, DatabaseFromANewerDroverIsRefusedWithFailedPrecondition) {
  {
    auto v3 = Open(WithSteps({{2, "noop", [](MigrationTxn&) { return Status::Ok(); }},
                              {3, "noop", [](MigrationTxn&) { return Status::Ok(); }}}));
    ASSERT_TRUE(v3.ok()) << v3.status().ToString();
    EXPECT_EQ((*v3)->schema_version(), 3);
  }
  RawDump before = DumpDatabase(dir_);

  auto old = Open(V1Only());
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(old.status().message().find("written by a newer Drover"), std::string::npos)
      << old.status().message();
  EXPECT_NE(old.status().message().find("3"), std::string::npos);

  // Refusing does not touch the database; the newer binary still opens it.
  EXPECT_EQ(DumpDatabase(dir_), before);
  int ran = 0;
  auto again = Open(WithSteps({{2, "count", [&](MigrationTxn&) { ++ran; return Status::Ok(); }},
                               {3, "count", [&](MigrationTxn&) { ++ran; return Status::Ok(); }}}));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)->schema_version(), 3);
  EXPECT_EQ(ran, 0);
}

TEST_F(MigrationsTest, ReopeningAtTheSameVersionRunsNoStep) {
  int v1_runs = 0, v2_runs = 0;
  auto steps = [&] {
    return std::vector<Migration>{
        {1, "counted v1",
         [&](MigrationTxn& txn) {
           ++v1_runs;
           txn.Put("meta", "index", "0");
           return Status::Ok();
         }},
        {2, "counted v2", [&](MigrationTxn&) {
           ++v2_runs;
           return Status::Ok();
         }}};
  };
  {
    auto s = Open(steps());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ((*s)->schema_version(), 2);
  }
  EXPECT_EQ(v1_runs, 1);
  EXPECT_EQ(v2_runs, 1);
  RawDump before = DumpDatabase(dir_);
  {
    auto s = Open(steps());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ((*s)->schema_version(), 2);
  }
  EXPECT_EQ(v1_runs, 1);
  EXPECT_EQ(v2_runs, 1);
  EXPECT_EQ(DumpDatabase(dir_), before);
}

TEST_F(MigrationsTest, OnlyPendingStepsRunInAscendingOrder) {
  WriteV1Database();
  std::vector<int> order;
  auto counted = [&](int v) {
    return Migration{v, "step " + std::to_string(v), [&order, v](MigrationTxn&) {
                       order.push_back(v);
                       return Status::Ok();
                     }};
  };
  auto s = Open(WithSteps({counted(2), counted(3), counted(4)}));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)->schema_version(), 4);
  EXPECT_EQ(order, (std::vector<int>{2, 3, 4}));
}

// Upgrading several versions at once runs the pending steps in one batch; a
// later step must see what the earlier steps wrote, or a chain such as
// "v2 renames a key, v3 rewrites it" would resurrect the old key.
TEST_F(MigrationsTest, LaterStepSeesWritesOfEarlierStepsInTheSameUpgrade) {
  WriteV1Database();
  auto rename = [](MigrationTxn& txn) -> Status {
    return txn.ForEach("jobs", [&](const std::string& key, const std::string& value) {
      if (key.find("batch") == std::string::npos) return Status::Ok();
      txn.Delete("jobs", key);
      txn.Put("jobs", std::string("default") + '\0' + "batch-renamed", value);
      return Status::Ok();
    });
  };
  std::vector<std::string> seen;
  auto rewrite = [&seen](MigrationTxn& txn) -> Status {
    return txn.ForEach("jobs", [&](const std::string& key, const std::string& value) {
      seen.push_back(key.substr(key.find('\0') + 1));
      ASSIGN_OR_RETURN(Job job, DecodeJson<Job>(value, "Job"));
      job.ID = key.substr(key.find('\0') + 1);
      txn.Put("jobs", key, EncodeJson(job));
      return Status::Ok();
    });
  };
  auto s = Open(WithSteps({{2, "rename batch", rename}, {3, "rewrite all jobs", rewrite}}));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(seen, (std::vector<std::string>{"batch-renamed", "web"}));
  auto jobs = (*s)->ListJobs();
  ASSERT_TRUE(jobs.ok()) << jobs.status().ToString();
  std::vector<std::string> ids;
  for (const auto& j : *jobs) ids.push_back(j.ID);
  EXPECT_EQ(ids, (std::vector<std::string>{"batch-renamed", "web"}));
}

}  // namespace
}  // namespace drover
