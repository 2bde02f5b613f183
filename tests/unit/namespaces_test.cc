// Namespaces on a real store: Nomad's validation and texts, what keeps a
// namespace from being deleted, and job admission.
#include <boost/json.hpp>

#include <filesystem>

#include <gtest/gtest.h>

#include "common/uuid.h"
#include "migrations/migrations.h"
#include "service/namespaces.h"
#include "service/variables.h"

namespace drover {
namespace {

class NamespaceServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("drover-ns-test-" + std::to_string(::getpid()) + "-" + NewUUID());
    StoreOptions options;
    options.migrations = migrations::All();
    auto store = StateStore::Open(dir_.string(), std::move(options));
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    namespaces_ = std::make_unique<NamespaceService>(
        *store_, "global", [this](const Job& job) -> Result<std::string> {
          auto it = job_status_.find(job.ID);
          return it == job_status_.end() ? std::string("dead") : it->second;
        });
  }
  void TearDown() override {
    namespaces_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  static Namespace Ns(const std::string& name) {
    Namespace ns;
    ns.Name = name;
    return ns;
  }

  Job StoreJob(const std::string& ns, const std::string& id) {
    Job job;
    job.ID = job.Name = id;
    job.Namespace = ns;
    job.Type = "service";
    auto written = store_->Apply([&](WriteTxn& txn) {
      job.CreateIndex = job.ModifyIndex = txn.index();
      txn.PutJob(job);
      return Status::Ok();
    });
    EXPECT_TRUE(written.ok());
    return job;
  }

  std::filesystem::path dir_;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<NamespaceService> namespaces_;
  std::map<std::string, std::string> job_status_;
};

TEST_F(NamespaceServiceTest, DefaultAlwaysExists) {
  auto all = namespaces_->List("");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].Name, "default");
  EXPECT_EQ((*all)[0].Description, "Default shared namespace");
  EXPECT_EQ((*all)[0].CreateIndex, 1u);
  auto del = namespaces_->Delete("default");
  ASSERT_FALSE(del.ok());
  EXPECT_EQ(del.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(del.status().message(), "can not delete default namespace");
}

TEST_F(NamespaceServiceTest, UpsertKeepsCreateIndexAndListsByNameAndPrefix) {
  Namespace team = Ns("team-a");
  team.Description = "first";
  team.Meta = std::map<std::string, std::string>{{"owner", "me"}};
  auto first = namespaces_->Upsert(team);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  team.Description = "second";
  team.CreateIndex = 999;  // ignored, as Nomad ignores it
  auto second = namespaces_->Upsert(team);
  ASSERT_TRUE(second.ok());
  auto got = namespaces_->Get("team-a");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->Description, "second");
  EXPECT_EQ((*got)->CreateIndex, *first);
  EXPECT_EQ((*got)->ModifyIndex, *second);
  EXPECT_EQ((*got)->Meta->at("owner"), "me");
  EXPECT_EQ(namespaces_->Index(), *second);
  ASSERT_TRUE(namespaces_->Upsert(Ns("team-b")).ok());
  auto listed = namespaces_->List("team-");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].Name, "team-a");
  EXPECT_EQ((*listed)[1].Name, "team-b");
}

TEST_F(NamespaceServiceTest, ValidationAsNomad) {
  auto message = [&](Namespace ns) {
    auto r = namespaces_->Upsert(std::move(ns));
    return r.ok() ? std::string("ok") : r.status().message();
  };
  EXPECT_EQ(message(Ns("bad name")),
            "Invalid namespace \"bad name\": 1 error occurred:\n\t* invalid name \"bad name\". "
            "Must match regex ^[a-zA-Z0-9-]{1,128}$\n\n");
  EXPECT_NE(message(Ns(std::string(129, 'a'))), "ok");
  EXPECT_EQ(message(Ns(std::string(128, 'a'))), "ok");
  EXPECT_NE(message(Ns("under_score")), "ok");
  Namespace long_desc = Ns("d");
  long_desc.Description = std::string(257, 'x');
  EXPECT_EQ(message(long_desc),
            "Invalid namespace \"d\": 1 error occurred:\n\t* description longer than 256\n\n");
  Namespace pools = Ns("p");
  pools.HasNodePoolConfiguration = true;
  EXPECT_EQ(message(pools),
            "Invalid namespace \"p\": 1 error occurred:\n\t* invalid node pool configuration: "
            "Node Pools Governance is unlicensed.\n\n");
  Namespace quota = Ns("q");
  quota.Quota = "small";
  EXPECT_EQ(message(quota), "namespace \"q\" using non-existent quota \"small\"");
  auto all = namespaces_->List("");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);  // default and the 128-character one
}

TEST_F(NamespaceServiceTest, DeleteRefusedWhileInUse) {
  ASSERT_TRUE(namespaces_->Upsert(Ns("busy")).ok());
  EXPECT_EQ(namespaces_->Delete("nope").status().code(), StatusCode::kNotFound);

  StoreJob("busy", "web");
  job_status_["web"] = "running";
  auto refused = namespaces_->Delete("busy");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(refused.status().message(),
            "1 error occurred:\n\t* namespace \"busy\" has non-terminal jobs in regions: "
            "[global]\n\n");

  job_status_["web"] = "dead";
  VariableService vars(*store_, [](Nanos, std::function<void()>) {});
  Variable v;
  v.Meta.Namespace = "busy";
  v.Meta.Path = "p";
  v.Items = std::map<std::string, std::string>{{"k", "v"}};
  ASSERT_TRUE(vars.Apply(VarOp::kSet, v).ok());
  auto with_vars = namespaces_->Delete("busy");
  ASSERT_FALSE(with_vars.ok());
  EXPECT_EQ(with_vars.status().message(),
            "1 error occurred:\n\t* namespace \"busy\" has variables associated with it in "
            "regions: [global]\n\n");

  Variable del;
  del.Meta.Namespace = "busy";
  del.Meta.Path = "p";
  ASSERT_TRUE(vars.Apply(VarOp::kDelete, del).ok());
  auto deleted = namespaces_->Delete("busy");
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  auto gone = namespaces_->Get("busy");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
}

TEST_F(NamespaceServiceTest, JobAdmission) {
  Job job;
  job.ID = "web";
  job.Namespace = "nowhere";
  Status st = namespaces_->CheckJob(job);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "1 error occurred:\n\t* job \"web\" is in nonexistent namespace \"nowhere\"\n\n");
  job.Namespace = "default";
  EXPECT_TRUE(namespaces_->CheckJob(job).ok());

  Namespace strict = Ns("strict");
  strict.Capabilities = NamespaceCapabilities{{"exec"}, {}, {}, {"bridge"}};
  ASSERT_TRUE(namespaces_->Upsert(strict).ok());
  job.Namespace = "strict";
  TaskGroup tg;
  tg.Name = "g";
  Task t;
  t.Name = "t";
  t.Driver = "raw_exec";
  tg.Tasks.push_back(t);
  job.TaskGroups.push_back(tg);
  EXPECT_EQ(namespaces_->CheckJob(job).message(),
            "1 error occurred:\n\t* used task driver \"raw_exec\" is not allowed in namespace "
            "\"strict\"\n\n");
  job.TaskGroups[0].Tasks[0].Driver = "exec";
  job.TaskGroups[0].Networks.text = R"([{"Mode": "bridge"}])";
  EXPECT_EQ(namespaces_->CheckJob(job).message(),
            "1 error occurred:\n\t* used group network mode \"bridge\" is not allowed in "
            "namespace \"strict\"\n\n");
  job.TaskGroups[0].Networks.text = R"([{"Mode": ""}])";
  EXPECT_TRUE(namespaces_->CheckJob(job).ok());
}

TEST(NamespaceJsonTest, NomadShapeAndGoTypeErrors) {
  Namespace ns;
  ns.Name = "a";
  boost::json::value j = NamespaceToJson(ns);
  for (const char* key : {"Name", "Description", "Quota", "Capabilities", "NodePoolConfiguration",
                          "Meta", "Hash", "CreateIndex", "ModifyIndex"}) {
    EXPECT_TRUE(j.as_object().contains(key)) << key;
  }
  auto back = NamespaceFromJson(j);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, ns);
  auto bad = NamespaceFromJson(boost::json::parse(R"({"Name": 3})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "json: cannot unmarshal number into Go struct field Namespace.Name of type string");
}

}  // namespace
}  // namespace drover
