// The schema step that adds the `scaling_events` table, from a store of the
// version before it, and the table itself.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>

#include "migrations/migrations.h"
#include "storage/state_store.h"
#include "tests/support/migration_steps.h"
#include "tests/support/v1_store.h"

namespace drover {
namespace {

class SchemaScalingEventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "drover_scaling_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Every step before the one that adds the table.
  static std::vector<Migration> StepsBefore() { return testing::StepsBefore("scaling events"); }

  // A store at the previous schema version holding one job.
  void WritePreviousVersionStore() {
    Job job;
    job.ID = job.Name = "web";
    job.Namespace = "default";
    job.Type = "service";
    job.CreateIndex = job.ModifyIndex = job.JobModifyIndex = 3;
    ASSERT_TRUE(testing::WriteV1Store(dir_, {{job}, {}, {}}).ok());
    auto old = StateStore::Open(dir_, StoreOptions{StepsBefore(), true});
    ASSERT_TRUE(old.ok()) << old.status().ToString();
    ASSERT_EQ((*old)->schema_version(), testing::VersionBefore("scaling events"));
  }

  std::string dir_;
};

TEST_F(SchemaScalingEventsTest, PreviousStoreGainsAnEmptyIndexedTableAndKeepsItsData) {
  WritePreviousVersionStore();
  auto s = StateStore::Open(dir_, StoreOptions{migrations::All(), true});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  StateStore& store = **s;
  EXPECT_EQ(store.schema_version(), migrations::kSchemaVersion);
  EXPECT_EQ(store.TableIndex(Table::kScalingEvents), 0u);
  auto meta = store.GetMeta("index/scaling_event");
  ASSERT_TRUE(meta.ok() && meta->has_value());
  EXPECT_EQ(**meta, "0");
  auto job = store.GetJob("default", "web");
  ASSERT_TRUE(job.ok() && job->has_value()) << job.status().ToString();
  EXPECT_EQ((*job)->ModifyIndex, 3u);
  auto events = store.GetScalingEvents("default", "web");
  ASSERT_TRUE(events.ok());
  EXPECT_FALSE(events->has_value());
}

TEST_F(SchemaScalingEventsTest, EventsAreStoredPerJobAndIndexedAndSurviveAReopen) {
  std::uint64_t written = 0;
  {
    auto s = StateStore::Open(dir_, StoreOptions{migrations::All(), true});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    auto index = (*s)->Apply([](WriteTxn& txn) {
      txn.PutScalingEvents("default", "web", R"({"g":[]})");
      txn.PutScalingEvents("prod", "web", R"({"h":[]})");
      return Status::Ok();
    });
    ASSERT_TRUE(index.ok());
    written = *index;
    EXPECT_EQ((*s)->TableIndex(Table::kScalingEvents), written);
  }
  auto s = StateStore::Open(dir_, StoreOptions{migrations::All(), true});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->TableIndex(Table::kScalingEvents), written);
  auto events = (*s)->GetScalingEvents("prod", "web");
  ASSERT_TRUE(events.ok() && events->has_value());
  EXPECT_EQ(**events, R"({"h":[]})");
  ASSERT_TRUE((*s)->Apply([](WriteTxn& txn) {
                     txn.DeleteScalingEvents("prod", "web");
                     return Status::Ok();
                   }).ok());
  events = (*s)->GetScalingEvents("prod", "web");
  ASSERT_TRUE(events.ok());
  EXPECT_FALSE(events->has_value());
  EXPECT_TRUE((*s)->GetScalingEvents("default", "web")->has_value());
}

}  // namespace
}  // namespace drover
