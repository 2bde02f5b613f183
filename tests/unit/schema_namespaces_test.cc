// The migration that adds namespaces and variables, from a store of the
// schema before it: "default" and every namespace stored jobs use are
// created, nothing else changes, and the new tables work at once.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>

#include "migrations/migrations.h"
#include "storage/namespace_model.h"
#include "storage/state_store.h"
#include "tests/support/migration_steps.h"
#include "tests/support/v1_store.h"

namespace drover {
namespace {

class SchemaNamespacesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "drover_ns_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Every step before the one under test.
  static std::vector<Migration> Before() {
    return testing::StepsBefore("namespaces and variables");
  }

  static Job MakeJob(const std::string& ns, const std::string& id, std::uint64_t index) {
    Job job;
    job.ID = job.Name = id;
    job.Namespace = ns;
    job.Region = "global";
    job.Type = "batch";
    job.CreateIndex = job.ModifyIndex = job.JobModifyIndex = index;
    return job;
  }

  std::map<std::string, Namespace> Namespaces(const StateStore& s) {
    std::map<std::string, Namespace> out;
    EXPECT_TRUE(s.ScanNamespaces([&](std::string_view json) {
                   auto ns = DecodeNamespace(json);
                   EXPECT_TRUE(ns.ok()) << ns.status().ToString();
                   if (ns.ok()) out[ns->Name] = *ns;
                   return true;
                 }).ok());
    return out;
  }

  std::string dir_;
};

TEST_F(SchemaNamespacesTest, StoreOfThePreviousSchemaGetsTheNamespacesItsJobsUse) {
  ASSERT_TRUE(testing::WriteV1Store(dir_, {{MakeJob("default", "a", 4), MakeJob("team", "b", 9),
                                            MakeJob("team", "c", 7)},
                                           {},
                                           {}})
                  .ok());
  std::uint64_t index_before = 0;
  {
    auto old = StateStore::Open(dir_, StoreOptions{Before(), true});
    ASSERT_TRUE(old.ok()) << old.status().ToString();
    EXPECT_EQ((*old)->schema_version(), testing::VersionBefore("namespaces and variables"));
    index_before = (*old)->LatestIndex();
  }
  auto opened = StateStore::Open(dir_, StoreOptions{migrations::All(), true});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  StateStore& s = **opened;
  EXPECT_EQ(s.schema_version(), migrations::kSchemaVersion);
  EXPECT_EQ(s.LatestIndex(), index_before);  // no change of state was made

  auto all = Namespaces(s);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all["default"].Description, kDefaultNamespaceDescription);
  EXPECT_EQ(all["default"].CreateIndex, 1u);
  EXPECT_EQ(all["team"].CreateIndex, 7u);  // its oldest job's
  EXPECT_EQ(all["team"].ModifyIndex, 7u);
  EXPECT_EQ(s.TableIndex(Table::kNamespaces), 7u);
  EXPECT_EQ(s.TableIndex(Table::kVariables), 0u);
  auto jobs = s.ListJobs();
  ASSERT_TRUE(jobs.ok());
  EXPECT_EQ(jobs->size(), 3u);

  // The variables table works in the migrated store, and the store opens
  // read-only now.
  auto written = s.Apply([](WriteTxn& txn) {
    txn.PutVariable("team", "a/b", R"({"Namespace":"team","Path":"a/b"})");
    return Status::Ok();
  });
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(s.TableIndex(Table::kVariables), *written);
  auto got = s.GetVariableJson("team", "a/b");
  ASSERT_TRUE(got.ok() && got->has_value());
  int in_default = 0;
  ASSERT_TRUE(s.ScanVariables("default", [&](std::string_view) {
                 ++in_default;
                 return true;
               }).ok());
  EXPECT_EQ(in_default, 0);
  opened->reset();
  auto ro = StateStore::OpenReadOnly(dir_);
  ASSERT_TRUE(ro.ok()) << ro.status().ToString();
  EXPECT_EQ(Namespaces(**ro).size(), 2u);
}

TEST_F(SchemaNamespacesTest, NewStoreHasOnlyDefault) {
  auto opened = StateStore::Open(dir_, StoreOptions{migrations::All(), true});
  ASSERT_TRUE(opened.ok());
  auto all = Namespaces(**opened);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_TRUE(all.contains("default"));
  EXPECT_EQ((*opened)->TableIndex(Table::kNamespaces), 1u);
}

}  // namespace
}  // namespace drover
