// The v1 -> v2 migration: evaluations get their chronological index.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>

#include "migrations/migrations.h"
#include "storage/state_store.h"
#include "tests/support/v1_store.h"

namespace drover {
namespace {

Evaluation Eval(const std::string& id, std::uint64_t create_index) {
  Evaluation e;
  e.ID = id;
  e.Namespace = "default";
  e.JobID = "web";
  e.Status = "complete";
  e.CreateIndex = e.ModifyIndex = create_index;
  return e;
}

class SchemaV2Test : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "drover_v2_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Result<std::unique_ptr<StateStore>> OpenCurrent() {
    return StateStore::Open(dir_, StoreOptions{migrations::All(), true});
  }

  std::string dir_;
};

// IDs sort differently from creation order, so the index is what orders.
const std::vector<Evaluation> kEvals = {Eval("ffff0000-0000-0000-0000-000000000001", 3),
                                        Eval("0000ffff-0000-0000-0000-000000000002", 7),
                                        Eval("8888aaaa-0000-0000-0000-000000000003", 5)};

TEST_F(SchemaV2Test, V1EvaluationsAreListedChronologicallyAfterTheMigration) {
  ASSERT_TRUE(testing::WriteV1Store(dir_, {{}, kEvals, {}}).ok());
  auto store = OpenCurrent();
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->schema_version(), migrations::kSchemaVersion);
  auto evals = (*store)->ListEvals();
  ASSERT_TRUE(evals.ok()) << evals.status().ToString();
  ASSERT_EQ(evals->size(), 3u);
  EXPECT_EQ((*evals)[0].CreateIndex, 3u);
  EXPECT_EQ((*evals)[1].CreateIndex, 5u);
  EXPECT_EQ((*evals)[2].CreateIndex, 7u);
  for (const Evaluation& e : *evals) {
    auto direct = (*store)->GetEval(e.ID);
    ASSERT_TRUE(direct.ok() && direct->has_value());
    EXPECT_EQ(**direct, e) << "the migration must not change the evaluation itself";
  }
}

TEST_F(SchemaV2Test, RunningTheStepAgainOverItsOwnOutputChangesNothing) {
  ASSERT_TRUE(testing::WriteV1Store(dir_, {{}, kEvals, {}}).ok());
  std::vector<Migration> twice = migrations::All();
  Migration again = twice.back();
  again.to_version = 3;  // the v2 step once more, as if an interrupted run were redone
  twice.push_back(again);
  auto store = StateStore::Open(dir_, StoreOptions{twice, true});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto evals = (*store)->ListEvals();
  ASSERT_TRUE(evals.ok());
  EXPECT_EQ(evals->size(), 3u) << "no duplicate index entries";
}

}  // namespace
}  // namespace drover
