// The deployments table: its migration from the schema before it, and its
// reads and writes.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>

#include "migrations/migrations.h"
#include "storage/state_store.h"
#include "tests/support/migration_steps.h"
#include "tests/support/v1_store.h"

namespace drover {
namespace {

class SchemaDeploymentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "drover_deploy_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Every step before the one that adds deployments.
  static std::vector<Migration> StepsBefore() { return testing::StepsBefore("deployments"); }

  static Job MakeJob() {
    Job job;
    job.ID = job.Name = "web";
    job.Namespace = "default";
    job.Type = "service";
    job.CreateIndex = job.ModifyIndex = job.JobModifyIndex = 3;
    return job;
  }

  std::string dir_;
};

TEST_F(SchemaDeploymentsTest, EarlierStoreGainsAnEmptyIndexedTableAndKeepsItsData) {
  ASSERT_TRUE(testing::WriteV1Store(dir_, {{MakeJob()}, {}, {}}).ok());
  int before = 0;
  {
    auto old = StateStore::Open(dir_, StoreOptions{StepsBefore(), true});
    ASSERT_TRUE(old.ok()) << old.status().ToString();
    before = (*old)->schema_version();
    auto meta = (*old)->GetMeta("index/deployment");
    ASSERT_TRUE(meta.ok());
    EXPECT_FALSE(meta->has_value());
  }
  auto store = StateStore::Open(dir_, StoreOptions{migrations::All(), true});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  StateStore& s = **store;
  EXPECT_EQ(before, testing::VersionBefore("deployments"));
  EXPECT_EQ(s.schema_version(), migrations::kSchemaVersion);
  auto meta = s.GetMeta("index/deployment");
  ASSERT_TRUE(meta.ok() && meta->has_value());
  EXPECT_EQ(**meta, "0");
  auto listed = s.ListDeployments();
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
  auto job = s.GetJob("default", "web");
  ASSERT_TRUE(job.ok() && job->has_value());
  EXPECT_EQ(**job, MakeJob());
}

TEST_F(SchemaDeploymentsTest, DeploymentsRoundTripAndMoveTheirIndex) {
  auto store = StateStore::Open(dir_, StoreOptions{migrations::All(), true});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  StateStore& s = **store;
  Deployment d;
  d.ID = "d0000000-0000-4000-8000-000000000001";
  d.Namespace = "default";
  d.JobID = "web";
  d.Status = kDeploymentRunning;
  d.StatusDescription = "Deployment is running";
  d.TaskGroups["g"].DesiredTotal = 3;
  d.TaskGroups["g"].ProgressDeadline = 10 * kMinute;
  d.TaskGroups["g"].RequireProgressBy = GoTime::FromUnixNanos(1'700'000'000'123'456'789);
  auto index = s.Apply([&](WriteTxn& txn) {
    d.CreateIndex = d.ModifyIndex = txn.index();
    txn.PutDeployment(d);
    return Status::Ok();
  });
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(s.TableIndex(Table::kDeployments), *index);
  auto got = s.GetDeployment(d.ID);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(**got, d);
  auto missing = s.GetDeployment("nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  auto listed = s.ListDeployments();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front(), d);
}

}  // namespace
}  // namespace drover
