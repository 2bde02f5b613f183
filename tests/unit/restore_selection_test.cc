// What the agent reads at start: the engine restores runners only for the
// allocations that may still run, chosen from their list stubs, and the
// garbage collector decodes only allocations whose directory is on disk.
// A finished allocation must cost no runner, yet stay fully readable.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "lifecycle/alloc_backend.h"
#include "lifecycle/alloc_dir.h"
#include "lifecycle/alloc_runner.h"
#include "migrations/migrations.h"
#include "service/gc.h"
#include "storage/alloc_record.h"
#include "storage/state_store.h"

namespace drover {
namespace {

namespace fs = std::filesystem;

class RestoreSelectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "drover_restore_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto store = StateStore::Open(dir_ + "/state", StoreOptions{migrations::All(), false});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    job_.ID = job_.Name = "web";
    job_.Namespace = "default";
    job_.Type = "service";
    TaskGroup tg;
    tg.Name = "g";
    tg.Count = 1;
    Task t;
    t.Name = "t";
    t.Driver = "raw_exec";
    tg.Tasks.push_back(t);
    job_.TaskGroups.push_back(tg);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  // Writes an allocation of job_ with the given statuses and task state,
  // placed (CreateIndex) in the order of the calls.
  Allocation Put(const std::string& id, const std::string& desired, const std::string& client,
                 const std::string& task_state, Nanos modify_time = 0) {
    Allocation a;
    auto index = store_->Apply([&](WriteTxn& txn) {
      a.ID = id;
      a.Namespace = "default";
      a.JobID = job_.ID;
      a.Job = job_;
      a.Name = "web.g[0]";
      a.TaskGroup = "g";
      a.DesiredStatus = desired;
      a.ClientStatus = client;
      a.FollowupEvalID = client == kAllocClientFailed ? "eval-of-" + id : "";
      TaskState ts;
      ts.State = task_state;
      a.TaskStates = std::map<std::string, TaskState>{{"t", ts}};
      a.CreateIndex = a.ModifyIndex = a.AllocModifyIndex = txn.index();
      a.ModifyTime = modify_time;
      txn.PutAlloc(a);
      return Status::Ok();
    });
    EXPECT_TRUE(index.ok()) << index.status().ToString();
    return a;
  }

  std::string dir_;
  std::unique_ptr<StateStore> store_;
  Job job_;
};

TEST_F(RestoreSelectionTest, OnlyAllocationsThatMayStillRunAreRestoredWithTheirJob) {
  Put("a1-complete", kAllocDesiredRun, kAllocClientComplete, kTaskStateDead);
  const Allocation running = Put("a2-running", kAllocDesiredRun, kAllocClientRunning, kTaskStateRunning);
  Put("a3-failed", kAllocDesiredRun, kAllocClientFailed, kTaskStateDead);
  // Stopped by the scheduler, its task not yet killed: it needs a runner.
  const Allocation stopping = Put("a4-stopping", kAllocDesiredStop, kAllocClientRunning, kTaskStateRunning);
  Put("a5-lost", kAllocDesiredStop, kAllocClientLost, kTaskStateDead);
  const Allocation pending = Put("a6-pending", kAllocDesiredRun, kAllocClientPending, kTaskStatePending);

  StoreAllocBackend backend(*store_);
  auto restored = backend.ListAllocsToRestore();
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  // Placement order, every member as GetAlloc reads it (the job included).
  EXPECT_EQ(*restored, (std::vector<Allocation>{running, stopping, pending}));
  for (const Allocation& a : *restored) {
    ASSERT_TRUE(a.Job.has_value()) << a.ID;
    EXPECT_TRUE(AllocNeedsRunner(a)) << a.ID;
  }
  // The finished ones left out are exactly those AllocNeedsRunner refuses.
  auto all = store_->ListAllocs();
  ASSERT_TRUE(all.ok());
  std::size_t need = 0;
  for (const Allocation& a : *all) need += AllocNeedsRunner(a) ? 1 : 0;
  EXPECT_EQ(need, restored->size());
}

TEST_F(RestoreSelectionTest, StubStatusReadsTheMembersStartUpDecidesOn) {
  Allocation failed = Put("f1", kAllocDesiredRun, kAllocClientFailed, kTaskStateDead, 1234);
  // A hostile task name and description do not move what is read.
  auto index = store_->Apply([&](WriteTxn& txn) {
    failed.ClientDescription = R"(","ClientStatus":"running",")";
    failed.TaskStates = std::map<std::string, TaskState>{{R"(x","ClientStatus":"running)", {}}};
    txn.PutAlloc(failed);
    return Status::Ok();
  });
  ASSERT_TRUE(index.ok());
  int seen = 0;
  ASSERT_TRUE(store_->ScanAllocStubs(false, nullptr, [&](const StateStore::StubEntry& e) {
    auto status = ReadStubStatus(e.stub);
    EXPECT_TRUE(status.ok()) << status.status().ToString();
    if (!status.ok()) return false;
    EXPECT_EQ(status->client_status, kAllocClientFailed);
    EXPECT_EQ(status->desired_status, kAllocDesiredRun);
    EXPECT_EQ(status->followup_eval_id, "eval-of-f1");
    EXPECT_EQ(status->modify_time, 1234);
    ++seen;
    return true;
  }).ok());
  EXPECT_EQ(seen, 1);

  StubRecordView broken;
  broken.middle = ",\"DesiredStatus\":";
  broken.tail = ",\"FollowupEvalID\":\"\"}";
  EXPECT_FALSE(ReadStubStatus(broken).ok());
}

TEST_F(RestoreSelectionTest, CollectorFreesOnlyFinishedDirectoriesOldestFirst) {
  // Many finished allocations whose directories are gone, three that still
  // have one, and a running one.
  for (int i = 0; i < 50; ++i) {
    Put("old-" + std::to_string(100 + i), kAllocDesiredRun, kAllocClientComplete, kTaskStateDead);
  }
  Put("d-newer", kAllocDesiredRun, kAllocClientComplete, kTaskStateDead, 300);
  Put("d-older", kAllocDesiredRun, kAllocClientFailed, kTaskStateDead, 100);
  Put("d-running", kAllocDesiredRun, kAllocClientRunning, kTaskStateRunning, 50);
  for (const char* id : {"d-newer", "d-older", "d-running"}) {
    fs::create_directories(AllocDirOf(dir_, id));
    std::ofstream(fs::path(AllocDirOf(dir_, id)) / "marker") << "x";
  }

  AllocGarbageCollector gc(*store_, GcOptions{dir_, 2, kMinute});
  auto collected = gc.CollectOverLimit();
  ASSERT_TRUE(collected.ok()) << collected.status().ToString();
  EXPECT_EQ(*collected, 1u);
  EXPECT_FALSE(fs::exists(AllocDirOf(dir_, "d-older"))) << "the oldest finished one goes first";
  EXPECT_TRUE(fs::exists(AllocDirOf(dir_, "d-newer")));
  EXPECT_TRUE(fs::exists(AllocDirOf(dir_, "d-running")));

  auto all = gc.CollectAll();
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(*all, 1u);
  EXPECT_FALSE(fs::exists(AllocDirOf(dir_, "d-newer")));
  EXPECT_TRUE(fs::exists(AllocDirOf(dir_, "d-running"))) << "a running allocation keeps its directory";
  // Every record stays readable: collection removes directories only.
  auto records = store_->ListAllocs();
  ASSERT_TRUE(records.ok());
  EXPECT_EQ(records->size(), 53u);
}

}  // namespace
}  // namespace drover
