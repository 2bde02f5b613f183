// The v2 -> v3 migration: the ACL tables arrive empty and everything the
// v2 store held is still there.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>

#include "common/sha256.h"
#include "migrations/migrations.h"
#include "storage/state_store.h"

namespace drover {
namespace {

class SchemaV3Test : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "drover_v3_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // The steps a v2 binary ran: every one up to version 2.
  static std::vector<Migration> V2Steps() {
    std::vector<Migration> steps = migrations::All();
    std::erase_if(steps, [](const Migration& m) { return m.to_version > 2; });
    return steps;
  }

  // The steps a v3 binary ran.
  static std::vector<Migration> UpToV3() {
    std::vector<Migration> steps = migrations::All();
    std::erase_if(steps, [](const Migration& m) { return m.to_version > 3; });
    return steps;
  }

  std::string dir_;
};

TEST_F(SchemaV3Test, V2StoreGainsEmptyAclTablesAndKeepsItsData) {
  Job job;
  job.ID = "web";
  job.Namespace = "default";
  job.Type = "service";
  std::uint64_t written = 0;
  {
    auto v2 = StateStore::Open(dir_, StoreOptions{V2Steps(), true});
    ASSERT_TRUE(v2.ok()) << v2.status().ToString();
    ASSERT_EQ((*v2)->schema_version(), 2);
    auto index = (*v2)->Apply([&](WriteTxn& txn) {
      job.CreateIndex = job.ModifyIndex = txn.index();
      txn.PutJob(job);
      return Status::Ok();
    });
    ASSERT_TRUE(index.ok());
    written = *index;
  }

  auto v3 = StateStore::Open(dir_, StoreOptions{UpToV3(), true});
  ASSERT_TRUE(v3.ok()) << v3.status().ToString();
  StateStore& s = **v3;
  EXPECT_EQ(s.schema_version(), 3);
  EXPECT_EQ(s.LatestIndex(), written);
  auto web = s.GetJob("default", "web");
  ASSERT_TRUE(web.ok() && web->has_value());
  EXPECT_EQ(**web, job);
  EXPECT_EQ(s.TableIndex(Table::kJobs), written);
  EXPECT_EQ(s.TableIndex(Table::kAclTokens), 0u);
  EXPECT_EQ(s.TableIndex(Table::kAclPolicies), 0u);
  auto tokens = s.ListAclTokens();
  ASSERT_TRUE(tokens.ok());
  EXPECT_TRUE(tokens->empty());

  // The new tables take writes, indexed by the secret's digest.
  ACLToken token;
  token.AccessorID = "11111111-2222-4333-8444-555555555555";
  token.SecretID = "the-secret";
  token.SecretHash = Sha256Hex(token.SecretID);
  token.Type = kAclTokenManagement;
  auto index = s.Apply([&](WriteTxn& txn) {
    txn.PutAclToken(token);
    return Status::Ok();
  });
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(s.TableIndex(Table::kAclTokens), *index);
  EXPECT_EQ(s.TableIndex(Table::kJobs), written);  // untouched
  auto found = s.GetAclTokenBySecretHash(Sha256Hex("the-secret"));
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->AccessorID, token.AccessorID);
  EXPECT_EQ((*found)->SecretID, "");  // never stored
}

TEST_F(SchemaV3Test, AclWritesSurviveReopen) {
  {
    auto s = StateStore::Open(dir_, StoreOptions{migrations::All(), true});
    ASSERT_TRUE(s.ok());
    ACLPolicy p;
    p.Name = "readonly";
    p.Rules = R"({"namespace": {"default": {"policy": "read"}}})";
    ASSERT_TRUE((*s)->Apply([&](WriteTxn& txn) {
      txn.PutAclPolicy(p);
      return Status::Ok();
    }).ok());
  }
  auto s = StateStore::Open(dir_, StoreOptions{migrations::All(), true});
  ASSERT_TRUE(s.ok());
  auto p = (*s)->GetAclPolicy("readonly");
  ASSERT_TRUE(p.ok() && p->has_value());
  EXPECT_EQ((*p)->Rules, R"({"namespace": {"default": {"policy": "read"}}})");
  EXPECT_EQ((*s)->TableIndex(Table::kAclPolicies), 1u);
}

}  // namespace
}  // namespace drover
