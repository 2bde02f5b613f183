// The v3 -> v4 migration and the v4 storage shape: jobs stored once per
// version, allocations referring to them, stubs listed without decoding.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <boost/json.hpp>
#include <filesystem>

#include "migrations/migrations.h"
#include "storage/alloc_record.h"
#include "storage/codec.h"
#include "storage/state_store.h"
#include "tests/support/v1_store.h"

namespace drover {
namespace {

class SchemaV4Test : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "drover_v4_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static std::vector<Migration> UpToV3() {
    std::vector<Migration> steps = migrations::All();
    std::erase_if(steps, [](const Migration& m) { return m.to_version > 3; });
    return steps;
  }

  static Job MakeJob(std::uint64_t version, std::uint64_t index) {
    Job job;
    job.ID = job.Name = "web";
    job.Namespace = "default";
    job.Region = "global";
    job.Type = "service";
    job.Version = version;
    job.CreateIndex = 1;
    job.ModifyIndex = job.JobModifyIndex = index;
    TaskGroup tg;
    tg.Name = "g";
    tg.Count = 2;
    Task t;
    t.Name = "t";
    t.Driver = "raw_exec";
    t.Config.text = R"({"command":"/bin/sleep","args":["600"]})";
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
    a.ClientStatus = "running";
    a.AllocatedResources.text = R"({"Tasks":{"t":{"Cpu":{"CpuShares":100}}}})";
    TaskState ts;
    ts.State = "running";
    a.TaskStates = std::map<std::string, TaskState>{{"t", ts}};
    a.CreateIndex = a.ModifyIndex = a.AllocModifyIndex = index;
    return a;
  }

  // What the list endpoints showed for an allocation before v4.
  static std::string OldStubJson(const Allocation& a, bool states, bool resources) {
    AllocListStub stub = MakeAllocListStub(a);
    if (!states) stub.TaskStates.reset();
    boost::json::value v = ToJson(stub);
    if (!resources) {
      boost::json::object out;
      for (auto& kv : v.get_object()) {
        if (kv.key() != "AllocatedResources") out.emplace(kv.key(), kv.value());
      }
      return boost::json::serialize(out);
    }
    return boost::json::serialize(v);
  }

  std::string dir_;
};

TEST_F(SchemaV4Test, V3StoreIsConvertedAndReadsBackExactlyAsBefore) {
  Job v0 = MakeJob(0, 5);
  Job v1 = MakeJob(1, 9);
  v1.TaskGroups[0].Count = 3;
  std::vector<Allocation> allocs = {MakeAlloc("a0000000-0000-4000-8000-000000000001", v0, 5),
                                    MakeAlloc("a0000000-0000-4000-8000-000000000002", v0, 5),
                                    MakeAlloc("a0000000-0000-4000-8000-000000000003", v1, 9)};
  allocs[1].Name = "web.g[1]";
  ASSERT_TRUE(testing::WriteV1Store(dir_, {{v1}, {}, allocs}).ok());
  {
    auto v3 = StateStore::Open(dir_, StoreOptions{UpToV3(), true});
    ASSERT_TRUE(v3.ok()) << v3.status().ToString();
    ASSERT_EQ((*v3)->schema_version(), 3);
  }

  auto v4 = StateStore::Open(dir_, StoreOptions{migrations::All(), true});
  ASSERT_TRUE(v4.ok()) << v4.status().ToString();
  StateStore& s = **v4;
  EXPECT_EQ(s.schema_version(), migrations::kSchemaVersion);
  for (const Allocation& want : allocs) {
    auto got = s.GetAlloc(want.ID);
    ASSERT_TRUE(got.ok() && got->has_value()) << got.status().ToString();
    EXPECT_EQ(**got, want);
    auto json = s.GetAllocJson(want.ID);
    ASSERT_TRUE(json.ok() && json->has_value());
    EXPECT_EQ((*json)->json, EncodeJson(want));
    EXPECT_EQ((*json)->modify_index, want.ModifyIndex);
  }
  auto listed = s.ListAllocs();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*listed, allocs);

  // Two versions, each stored once, newest first.
  auto versions = s.ListJobVersions("default", "web");
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ((*versions)[0], v1);
  EXPECT_EQ((*versions)[1], v0);

  // The stubs, in creation order, byte for byte what lists showed.
  std::vector<std::string> stubs;
  ASSERT_TRUE(s.ScanAllocStubs(false, nullptr, [&](const StateStore::StubEntry& e) {
                 std::string out;
                 AppendStubJson(e.stub, true, false, out);
                 stubs.push_back(out);
                 EXPECT_EQ(e.stub.ns, "default");
                 return true;
               }).ok());
  ASSERT_EQ(stubs.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(stubs[i], OldStubJson(allocs[i], true, false));
}

TEST_F(SchemaV4Test, StubsRenderEveryListVariantAsTheFullEncoderDid) {
  auto s = StateStore::Open(dir_, StoreOptions{migrations::All(), true});
  ASSERT_TRUE(s.ok());
  Allocation a = MakeAlloc("b0000000-0000-4000-8000-000000000001", MakeJob(3, 7), 7);
  a.ClientDescription = "quote \" and \\ and \"Job\":null, inside";
  ASSERT_TRUE((*s)->Apply([&](WriteTxn& txn) {
                 txn.PutAlloc(a);
                 return Status::Ok();
               }).ok());
  for (bool states : {false, true}) {
    for (bool resources : {false, true}) {
      std::string out;
      ASSERT_TRUE((*s)->ScanAllocStubs(true, nullptr, [&](const StateStore::StubEntry& e) {
                     AppendStubJson(e.stub, states, resources, out);
                     return true;
                   }).ok());
      EXPECT_EQ(out, OldStubJson(a, states, resources)) << states << resources;
    }
  }
  auto json = (*s)->GetAllocJson(a.ID);
  ASSERT_TRUE(json.ok() && json->has_value());
  EXPECT_EQ((*json)->json, EncodeJson(a));
}

TEST_F(SchemaV4Test, TaskStateWritesKeepTheJobReferenceWithoutEncodingIt) {
  auto s = StateStore::Open(dir_, StoreOptions{migrations::All(), true});
  ASSERT_TRUE(s.ok());
  Job job = MakeJob(0, 2);
  Allocation a = MakeAlloc("c0000000-0000-4000-8000-000000000001", job, 2);
  ASSERT_TRUE((*s)->Apply([&](WriteTxn& txn) {
                 txn.PutJob(job);
                 txn.PutAlloc(a);
                 return Status::Ok();
               }).ok());
  auto stored = (*s)->GetAllocWithoutJob(a.ID);
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_FALSE((*stored)->alloc.Job.has_value());
  ASSERT_TRUE((*stored)->job.has_value());
  EXPECT_EQ((*stored)->job->version, 0u);
  EXPECT_EQ((*stored)->job->type, "service");
  (*stored)->alloc.ClientStatus = "complete";
  ASSERT_TRUE((*s)->Apply([&](WriteTxn& txn) {
                 txn.PutAllocWithoutJob(**stored);
                 return Status::Ok();
               }).ok());
  auto back = (*s)->GetAlloc(a.ID);
  ASSERT_TRUE(back.ok() && back->has_value());
  a.ClientStatus = "complete";
  EXPECT_EQ(**back, a);  // the Job is back
  auto versions = (*s)->ListJobVersions("default", "web");
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(versions->size(), 1u);
}

TEST_F(SchemaV4Test, AJobRegisteredAgainAfterAPurgeKeepsTheOldAllocationsJob) {
  auto s = StateStore::Open(dir_, StoreOptions{migrations::All(), true});
  ASSERT_TRUE(s.ok());
  Job first = MakeJob(0, 2);
  Job again = MakeJob(0, 8);  // version 0 again, a new registration
  again.Meta = StringMap{{"second", "yes"}};
  Allocation old = MakeAlloc("d0000000-0000-4000-8000-000000000001", first, 2);
  Allocation now = MakeAlloc("d0000000-0000-4000-8000-000000000002", again, 8);
  ASSERT_TRUE((*s)->Apply([&](WriteTxn& txn) {
                 txn.PutAlloc(old);
                 return Status::Ok();
               }).ok());
  ASSERT_TRUE((*s)->Apply([&](WriteTxn& txn) {
                 txn.DeleteJob("default", "web");
                 txn.PutAlloc(now);
                 return Status::Ok();
               }).ok());
  auto got_old = (*s)->GetAlloc(old.ID);
  auto got_now = (*s)->GetAlloc(now.ID);
  ASSERT_TRUE(got_old.ok() && got_old->has_value() && got_now.ok() && got_now->has_value());
  EXPECT_EQ(**got_old, old);
  EXPECT_EQ(**got_now, now);
}

TEST_F(SchemaV4Test, KeyWatchFiresOnlyForItsObject) {
  auto s = StateStore::Open(dir_, StoreOptions{migrations::All(), true});
  ASSERT_TRUE(s.ok());
  Job job = MakeJob(0, 1);
  Allocation a = MakeAlloc("e0000000-0000-4000-8000-000000000001", job, 1);
  Allocation b = MakeAlloc("e0000000-0000-4000-8000-000000000002", job, 1);
  int fired = 0;
  std::uint64_t floor = (*s)->TableIndex(Table::kAllocs);
  (*s)->Watch(WatchSpec{{Table::kAllocs}, {AllocWatchKey(a.ID)}}, floor, [&] { ++fired; });
  ASSERT_TRUE((*s)->Apply([&](WriteTxn& txn) {
                 txn.PutAlloc(b);
                 return Status::Ok();
               }).ok());
  EXPECT_EQ(fired, 0);
  ASSERT_TRUE((*s)->Apply([&](WriteTxn& txn) {
                 txn.PutAlloc(a);
                 return Status::Ok();
               }).ok());
  EXPECT_EQ(fired, 1);
}


}  // namespace
}  // namespace drover
