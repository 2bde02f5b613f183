// Unit tests of the journal's replay and retention (storage/journal.h), the
// read-only store view, and `state check` (service/state_check.h), on a
// store populated through StateStore::Apply the way the agent writes it.
#include "storage/journal.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <vector>

#include "migrations/migrations.h"
#include "service/state_check.h"
#include "storage/codec.h"
#include "storage/state_store.h"
#include "tests/support/raw_db.h"

namespace drover {
namespace {

constexpr Nanos kT0 = 1'700'000'000 * kSecond;  // event times in these tests

std::string Id(int n) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08d-0000-4000-8000-000000000000", n);
  return buf;
}

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "drover_journal_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto s = StateStore::Open(dir_, StoreOptions{migrations::All(), true});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::uint64_t MustApply(const std::function<Status(WriteTxn&)>& fn) {
    auto r = store_->Apply(fn);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : 0;
  }

  // As Agent::Create: the node registers.
  void RegisterNode(Nanos now) {
    MustApply([&](WriteTxn& txn) {
      Node n;
      n.ID = Id(999);
      n.Name = "node-1";
      n.Status = "ready";
      n.StatusUpdatedAt = now / kSecond;
      n.CreateIndex = n.ModifyIndex = txn.index();
      txn.PutNode(n);
      txn.AddEvent(MakeEvent("Node", "NodeRegistration", n.ID, "", EncodeJson(n)));
      return Status::Ok();
    });
  }

  // As Agent::RegisterJob: job, evaluation and one placed allocation.
  std::string RegisterJob(const std::string& job_id, int alloc_n, Nanos now) {
    const std::string alloc_id = Id(alloc_n);
    MustApply([&](WriteTxn& txn) {
      Job job;
      job.Namespace = "default";
      job.ID = job_id;
      job.Name = job_id;
      job.Type = kJobTypeService;
      job.Status = "pending";
      job.SubmitTime = now;
      TaskGroup tg;
      tg.Name = "g";
      tg.Count = 1;
      Task t;
      t.Name = "t";
      t.Driver = "raw_exec";
      tg.Tasks.push_back(t);
      job.TaskGroups.push_back(tg);
      job.CreateIndex = job.ModifyIndex = job.JobModifyIndex = txn.index();
      txn.PutJob(job);
      txn.AddEvent(MakeEvent("Job", "JobRegistered", job.ID, job.Namespace, EncodeJson(job)));

      Evaluation eval;
      eval.ID = Id(alloc_n + 500);
      eval.Namespace = "default";
      eval.JobID = job_id;
      eval.TriggeredBy = "job-register";
      eval.Status = "complete";
      eval.CreateIndex = eval.ModifyIndex = txn.index();
      eval.CreateTime = eval.ModifyTime = now;
      txn.PutEval(eval);
      txn.AddEvent(MakeEvent("Evaluation", "EvaluationUpdated", eval.ID, "default",
                             EncodeJson(eval), {job_id}));

      Allocation a;
      a.ID = alloc_id;
      a.Namespace = "default";
      a.Name = job_id + ".g[0]";
      a.JobID = job_id;
      a.Job = job;
      a.TaskGroup = "g";
      a.EvalID = eval.ID;
      a.DesiredStatus = kAllocDesiredRun;
      a.ClientStatus = kAllocClientPending;
      a.CreateIndex = a.ModifyIndex = a.AllocModifyIndex = txn.index();
      a.CreateTime = a.ModifyTime = now;
      PutAllocWithEvent(txn, a, "PlanResult");
      return Status::Ok();
    });
    return alloc_id;
  }

  static void PutAllocWithEvent(WriteTxn& txn, const Allocation& a, const char* type) {
    txn.PutAlloc(a);
    Allocation payload = a;
    payload.Job.reset();
    txn.AddEvent(MakeEvent("Allocation", type, a.ID, a.Namespace, EncodeJson(payload), {a.JobID}));
  }

  // As AllocRunner::TaskStateChanged: task "t" moves to `state`.
  void TaskChanged(const std::string& alloc_id, const std::string& state, std::uint64_t restarts,
                   const std::string& event_type, Nanos now, const std::string& client) {
    MustApply([&](WriteTxn& txn) -> Status {
      ASSIGN_OR_RETURN(std::optional<Allocation> a, store_->GetAlloc(alloc_id));
      if (!a) return NotFound("alloc");
      if (!a->TaskStates) a->TaskStates.emplace();
      TaskState& ts = (*a->TaskStates)["t"];
      ts.State = state;
      ts.Restarts = restarts;
      TaskEvent ev;
      ev.Type = event_type;
      ev.Time = now;
      ts.Events.push_back(ev);
      a->ClientStatus = client;
      a->ModifyIndex = txn.index();
      a->ModifyTime = now;
      PutAllocWithEvent(txn, *a, "AllocationUpdated");
      txn.PutTaskLocal(alloc_id, "t", "{\"run_complete\":false}");
      return Status::Ok();
    });
  }

  // As Agent::DeregisterJob.
  void Deregister(const std::string& job_id, bool purge, Nanos now) {
    MustApply([&](WriteTxn& txn) -> Status {
      ASSIGN_OR_RETURN(std::optional<Job> job, store_->GetJob("default", job_id));
      if (!job) return NotFound("job");
      if (purge) {
        txn.DeleteJob("default", job_id);
      } else {
        job->Stop = true;
        job->Status = "dead";
        job->Version++;
        job->ModifyIndex = job->JobModifyIndex = txn.index();
        job->SubmitTime = now;
        txn.PutJob(*job);
      }
      txn.AddEvent(MakeEvent("Job", "JobDeregistered", job_id, "default", EncodeJson(*job)));
      ASSIGN_OR_RETURN(std::vector<Allocation> allocs, store_->ListAllocsByJob("default", job_id));
      for (Allocation& a : allocs) {
        if (a.DesiredStatus != kAllocDesiredRun) continue;
        a.DesiredStatus = kAllocDesiredStop;
        a.ModifyIndex = a.AllocModifyIndex = txn.index();
        a.ModifyTime = now;
        PutAllocWithEvent(txn, a, "PlanResult");
      }
      return Status::Ok();
    });
  }

  // A history with restarts, a failure, a stop and a purge.
  void Populate() {
    RegisterNode(kT0);
    const std::string web = RegisterJob("web", 1, kT0 + 1 * kSecond);
    TaskChanged(web, "running", 0, "Started", kT0 + 2 * kSecond, kAllocClientRunning);
    TaskChanged(web, "running", 1, "Restarting", kT0 + 3 * kSecond, kAllocClientRunning);
    const std::string batch = RegisterJob("batch", 2, kT0 + 4 * kSecond);
    TaskChanged(batch, "dead", 0, "Terminated", kT0 + 5 * kSecond, kAllocClientFailed);
    Deregister("web", /*purge=*/false, kT0 + 6 * kSecond);
    TaskChanged(web, "dead", 1, "Killed", kT0 + 7 * kSecond, kAllocClientComplete);
    Deregister("batch", /*purge=*/true, kT0 + 8 * kSecond);
  }

  // The live tables as a JournalState, for comparison with a rebuild.
  JournalState Live() {
    JournalState s;
    const auto jobs = store_->ListJobs();
    const auto evals = store_->ListEvals();
    const auto allocs = store_->ListAllocs();
    const auto nodes = store_->ListNodes();
    EXPECT_TRUE(jobs.ok() && evals.ok() && allocs.ok() && nodes.ok());
    for (const Job& j : *jobs) s.jobs[{j.Namespace, j.ID}] = j;
    for (const Evaluation& e : *evals) s.evals[e.ID] = e;
    for (const Allocation& a : *allocs) s.allocs[a.ID] = a;
    for (const Node& n : *nodes) s.nodes[n.ID] = n;
    return s;
  }

  static void ExpectSameTables(const JournalState& rebuilt, const JournalState& live) {
    EXPECT_EQ(rebuilt.jobs, live.jobs);
    EXPECT_EQ(rebuilt.evals, live.evals);
    EXPECT_EQ(rebuilt.allocs, live.allocs);  // Job included: re-attached by the replay
    EXPECT_EQ(rebuilt.nodes, live.nodes);
  }

  std::string dir_;
  std::unique_ptr<StateStore> store_;
};

TEST_F(JournalTest, ReplayAtHeadEqualsLiveStateWithJobsReattached) {
  Populate();
  auto rebuilt = ReplayJournal(*store_);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();
  ExpectSameTables(*rebuilt, Live());
  EXPECT_EQ(rebuilt->index, store_->LatestIndex());
  EXPECT_TRUE(rebuilt->purged_jobs.count({"default", "batch"}));
  EXPECT_EQ(rebuilt->allocs.at(Id(1)).Job->ID, "web");
  for (Table t : kAllTables) {
    EXPECT_EQ(rebuilt->table_index[static_cast<std::size_t>(t)], store_->TableIndex(t))
        << TableName(t);
  }
}

TEST_F(JournalTest, ReplayAtEarlierIndexReproducesThatState) {
  RegisterNode(kT0);
  const std::string web = RegisterJob("web", 1, kT0);
  TaskChanged(web, "running", 0, "Started", kT0 + kSecond, kAllocClientRunning);
  const std::uint64_t running_at = store_->LatestIndex();
  const JournalState then = Live();
  TaskChanged(web, "dead", 0, "Terminated", kT0 + 2 * kSecond, kAllocClientFailed);
  Deregister("web", false, kT0 + 3 * kSecond);

  auto rebuilt = ReplayJournal(*store_, running_at);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();
  ExpectSameTables(*rebuilt, then);
  EXPECT_EQ(rebuilt->allocs.at(web).TaskStates->at("t").State, "running");
}

TEST_F(JournalTest, CompactionByCountKeepsEveryLaterIndexExact) {
  Populate();
  const std::uint64_t head = store_->LatestIndex();
  std::map<std::uint64_t, JournalState> before;
  for (std::uint64_t i = 1; i <= head; ++i) before[i] = *ReplayJournal(*store_, i);
  const std::size_t total = store_->ListEvents(0, 1000)->size();

  auto result = CompactJournal(*store_, RetentionPolicy{.max_events = 4});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_GE(result->folded_events, total - 4);
  const auto kept = *store_->ListEvents(0, 1000);
  EXPECT_EQ(kept.size(), total - result->folded_events);
  ASSERT_FALSE(kept.empty());
  EXPECT_GT(kept.front().Index, result->base_index);  // only whole changes folded
  EXPECT_LE(kept.size(), 4u + 2u);

  for (std::uint64_t i = result->base_index; i <= head; ++i) {
    auto rebuilt = ReplayJournal(*store_, i);
    ASSERT_TRUE(rebuilt.ok()) << i << ": " << rebuilt.status().ToString();
    ExpectSameTables(*rebuilt, before[i]);
    EXPECT_EQ(rebuilt->purged_jobs, before[i].purged_jobs) << i;
  }
  ExpectSameTables(*ReplayJournal(*store_), Live());

  auto too_old = ReplayJournal(*store_, result->base_index - 1);
  ASSERT_FALSE(too_old.ok());
  EXPECT_EQ(too_old.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(too_old.status().message().find("compacted"), std::string::npos);

  // Compacting again builds on the snapshot.
  auto again = CompactJournal(*store_, RetentionPolicy{.max_events = 1});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_GT(again->base_index, result->base_index);
  ExpectSameTables(*ReplayJournal(*store_), Live());
  // Nothing to do: a no-op.
  auto noop = CompactJournal(*store_, RetentionPolicy{.max_events = 100});
  ASSERT_TRUE(noop.ok());
  EXPECT_EQ(noop->folded_events, 0u);
  EXPECT_EQ(noop->base_index, again->base_index);
}

TEST_F(JournalTest, CompactionByAgeFoldsOnlyOlderChanges) {
  Populate();  // changes at kT0 .. kT0 + 8s
  const std::uint64_t head = store_->LatestIndex();
  // Older than 5 s at kT0 + 8.5 s: the changes at kT0 .. kT0 + 3s.
  auto result = CompactJournal(*store_, RetentionPolicy{.max_age = 5 * kSecond},
                               kT0 + 8 * kSecond + kSecond / 2);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->base_index, 4u);  // node, web, started, restarting
  const auto kept = store_->ListEvents(0, 1000);
  ASSERT_TRUE(kept.ok());
  for (const Event& e : *kept) {
    EXPECT_GE(EventTime(e), kT0 + 3 * kSecond) << e.Topic << " " << e.Index;
  }
  ExpectSameTables(*ReplayJournal(*store_), Live());
  EXPECT_EQ(ReplayJournal(*store_, head)->index, head);
  // No limits: nothing happens.
  auto none = CompactJournal(*store_, RetentionPolicy{});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->folded_events, 0u);
}

// With both limits, the journal is folded as far as either asks; the age
// limit stops at the first change young enough to keep even when older
// ones follow it, and the snapshot's time is the latest folded change's.
TEST_F(JournalTest, CompactionByCountAndAgeFoldsThePrefixEitherAsksFor) {
  // One evaluation change per time, at indexes 1..5: the third is young.
  const Nanos times[] = {kT0, kT0 + kSecond, kT0 + 100 * kSecond, kT0 + 2 * kSecond, kT0 + 3 * kSecond};
  for (int i = 0; i < 5; ++i) {
    MustApply([&](WriteTxn& txn) {
      Evaluation e;
      e.ID = Id(i + 1);
      e.Namespace = "default";
      e.JobID = "web";
      e.CreateIndex = e.ModifyIndex = txn.index();
      e.CreateTime = e.ModifyTime = times[i];
      txn.PutEval(e);
      txn.AddEvent(MakeEvent("Evaluation", "EvaluationUpdated", e.ID, "default", EncodeJson(e), {"web"}));
      return Status::Ok();
    });
  }
  const Nanos now = kT0 + 50 * kSecond;  // max_age 10 s: all but the third are old
  const JournalState head_before = *ReplayJournal(*store_);

  // The age limit alone: changes 1 and 2; the old changes 4 and 5 stay
  // behind the young third.
  auto by_age = CompactJournal(*store_, RetentionPolicy{.max_events = 0, .max_age = 10 * kSecond}, now);
  ASSERT_TRUE(by_age.ok()) << by_age.status().ToString();
  EXPECT_EQ(by_age->base_index, 2u);
  EXPECT_EQ(by_age->folded_events, 2u);
  // Nothing more for it to fold: the oldest kept change is young.
  auto again = CompactJournal(*store_, RetentionPolicy{.max_events = 0, .max_age = 10 * kSecond}, now);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->folded_events, 0u);
  EXPECT_EQ(again->base_index, 2u);

  // The count asks for one more (3 held, keep 1 => fold 2): through index
  // 4, with the young change; the snapshot's time is its time.
  auto both = CompactJournal(*store_, RetentionPolicy{.max_events = 1, .max_age = 10 * kSecond}, now);
  ASSERT_TRUE(both.ok()) << both.status().ToString();
  EXPECT_EQ(both->base_index, 4u);
  EXPECT_EQ(both->folded_events, 2u);
  auto snapshot = LoadJournalSnapshot(*store_);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  EXPECT_EQ(snapshot->index, 4u);
  EXPECT_EQ(snapshot->time, kT0 + 100 * kSecond);
  EXPECT_EQ(snapshot->evals.size(), 4u);
  ExpectSameTables(*ReplayJournal(*store_), head_before);
}

// A compaction asked to stop (the agent shutting down) returns without
// writing anything; the same one unasked folds as usual.
TEST_F(JournalTest, CompactionAskedToStopWritesNothing) {
  Populate();
  const std::size_t total = store_->ListEvents(0, 1000)->size();
  std::atomic<bool> stop{true};
  auto stopped = CompactJournal(*store_, RetentionPolicy{.max_events = 2}, NowNanos(), &stop);
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.status().code(), StatusCode::kUnavailable) << stopped.status().ToString();
  EXPECT_EQ(store_->ListEvents(0, 1000)->size(), total);
  EXPECT_FALSE(store_->GetMeta("journal/base")->has_value());
  stop = false;
  auto folded = CompactJournal(*store_, RetentionPolicy{.max_events = 2}, NowNanos(), &stop);
  ASSERT_TRUE(folded.ok()) << folded.status().ToString();
  EXPECT_GT(folded->folded_events, 0u);
  ExpectSameTables(*ReplayJournal(*store_), Live());
}

TEST_F(JournalTest, FoldJournalRefusesAStaleBase) {
  Populate();
  ASSERT_TRUE(CompactJournal(*store_, RetentionPolicy{.max_events = 3}).ok());
  Status st = store_->FoldJournal(/*expected_base=*/0, 5, "{}",
                                  [](const StateStore::SnapshotSink&) { return Status::Ok(); });
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
}

TEST_F(JournalTest, ReadOnlyViewSeesTheWritersStateAndCannotWrite) {
  Populate();
  auto ro = StateStore::OpenReadOnly(dir_);  // while the writer has it open
  ASSERT_TRUE(ro.ok()) << ro.status().ToString();
  EXPECT_TRUE((*ro)->read_only());
  EXPECT_EQ((*ro)->LatestIndex(), store_->LatestIndex());
  EXPECT_EQ((*ro)->schema_version(), migrations::kSchemaVersion);
  EXPECT_EQ(*(*ro)->ListAllocs(), *store_->ListAllocs());
  auto write = (*ro)->Apply([](WriteTxn& txn) {
    txn.Touch(Table::kJobs);
    return Status::Ok();
  });
  EXPECT_EQ(write.status().code(), StatusCode::kFailedPrecondition);
  ExpectSameTables(*ReplayJournal(**ro), Live());

  // Something that is not a store at all.
  std::string other = dir_ + "-not-a-store";
  std::filesystem::create_directories(other);
  auto bad = StateStore::OpenReadOnly(other);
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("not a Drover state store"), std::string::npos)
      << bad.status().ToString();
  std::filesystem::remove_all(other);
}

TEST_F(JournalTest, CheckPassesOnAConsistentStore) {
  Populate();
  auto report = CheckState(*store_);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->ok()) << report->Format();
}

TEST_F(JournalTest, CheckReportsEachKindOfCorruption) {
  Populate();
  // A task state changed without a journal event, an orphan task_local
  // entry, and a job deleted without a purge event.
  MustApply([&](WriteTxn& txn) -> Status {
    ASSIGN_OR_RETURN(std::optional<Allocation> a, store_->GetAlloc(Id(1)));
    (*a->TaskStates)["t"].State = "running";
    txn.PutAlloc(*a);
    txn.PutTaskLocal(Id(77), "t", "{}");
    return Status::Ok();
  });
  RegisterJob("api", 3, kT0 + 9 * kSecond);
  MustApply([&](WriteTxn& txn) {
    txn.DeleteJob("default", "api");
    return Status::Ok();
  });
  auto report = CheckState(*store_);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_FALSE(report->ok());
  const std::string text = report->Format();
  EXPECT_NE(text.find("TaskStates.t.State: \"running\" vs journal \"dead\""), std::string::npos)
      << text;
  EXPECT_NE(text.find("task_local " + Id(77) + "/t: allocation does not exist"), std::string::npos)
      << text;
  EXPECT_NE(text.find("belongs to job default/api, which does not exist"), std::string::npos)
      << text;
  EXPECT_NE(text.find("state check FAILED"), std::string::npos) << text;
}

// The journal's object index damaged behind the store's back: one key of
// an entry dropped, one pointing at no entry added. Check names both,
// with the object and the index, under their own invariant.
TEST_F(JournalTest, CheckReportsAJournalIndexThatDisagreesWithTheJournal) {
  Populate();
  store_.reset();
  std::string dropped;
  {
    auto raw = testing::RawDb::Open(dir_);
    ASSERT_NE(raw, nullptr);
    rocksdb::DB* db = raw->db();
    rocksdb::ColumnFamilyHandle* index = raw->Family("journal_objects");
    ASSERT_NE(index, nullptr);
    {
      std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), index));
      const std::string first_alloc = "a" + Id(1);
      it->Seek(first_alloc);
      ASSERT_TRUE(it->Valid() && it->key().starts_with(first_alloc));
      dropped = it->key().ToString();
    }
    EXPECT_TRUE(db->Delete(rocksdb::WriteOptions(), index, dropped).ok());
    std::string bogus = "a" + Id(55);
    bogus.push_back('\0');
    bogus += std::string("\0\0\0\0\0\0\0\x07", 8) + std::string("\0\0\0\x02", 4);
    EXPECT_TRUE(db->Put(rocksdb::WriteOptions(), index, bogus, "Allocation").ok());
  }
  auto s = StateStore::Open(dir_, StoreOptions{migrations::All(), true});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  store_ = std::move(s).value();

  auto report = CheckState(*store_);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_FALSE(report->ok());
  const CheckReport::Invariant* inv = nullptr;
  for (const auto& i : report->invariants) {
    if (i.name.find("journal object index") != std::string::npos) inv = &i;
    else EXPECT_TRUE(i.problems.empty()) << report->Format();
  }
  ASSERT_NE(inv, nullptr) << report->Format();
  ASSERT_EQ(inv->problems.size(), 2u) << report->Format();
  std::uint64_t dropped_index = 0;
  for (int i = 0; i < 8; ++i) {
    dropped_index = dropped_index << 8 | static_cast<unsigned char>(dropped[dropped.size() - 12 + i]);
  }
  std::uint32_t dropped_seq = 0;
  for (int i = 8; i < 12; ++i) {
    dropped_seq = dropped_seq << 8 | static_cast<unsigned char>(dropped[dropped.size() - 12 + i]);
  }
  const std::string text = report->Format();
  EXPECT_NE(text.find("[index " + std::to_string(dropped_index) + "] journal_objects allocation " +
                      Id(1) + " -> entry " + std::to_string(dropped_index) + "." +
                      std::to_string(dropped_seq) + ": missing: the journal entry (Allocation) is not indexed"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("[index 7] journal_objects allocation " + Id(55) +
                      " -> entry 7.2: no journal entry has this key (topic Allocation)"),
            std::string::npos)
      << text;
}

// The journal at scale: DROVER_JOURNAL_SCALE_EVENTS entries (20,000 by
// default, about 10 s here and several times that under ASan, where CI
// runs the unit tests too; set 1,000,000 for the scale). Compacting half of it
// leaves every later index rebuilding exactly as before; the fast rebuild
// (latest entry per object) equals folding every entry; check passes.
TEST_F(JournalTest, CompactingALongJournalKeepsEveryLaterIndexExact) {
  store_.reset();
  {
    auto s = StateStore::Open(dir_, StoreOptions{migrations::All(), /*sync=*/false});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  std::size_t target = 20'000;
  if (const char* env = std::getenv("DROVER_JOURNAL_SCALE_EVENTS")) target = std::strtoull(env, nullptr, 10);
  constexpr int kJobs = 10, kAllocsPerJob = 20;

  RegisterNode(kT0);
  std::vector<Allocation> allocs;
  auto place = [&](const std::string& job, int n, Nanos t) {
    auto a = store_->GetAlloc(RegisterJob(job, n, t));
    ASSERT_TRUE(a.ok() && a->has_value());
    allocs.push_back(**a);
  };
  for (int j = 0; j < kJobs; ++j) {
    for (int i = 0; i < kAllocsPerJob; ++i) place("j" + std::to_string(j), 1 + j * kAllocsPerJob + i, kT0);
  }
  std::size_t events = 1 + 3 * allocs.size(), next = 0;
  Nanos t = kT0 + kSecond;
  bool stopped = false, purged = false, back = false;
  while (events < target) {
    if (!stopped && events > target * 4 / 10) {
      Deregister("j3", /*purge=*/false, t);
      stopped = true;
    } else if (!purged && events > target * 5 / 10) {
      Deregister("j4", /*purge=*/true, t);
      purged = true;
    } else if (!back && events > target * 6 / 10) {
      place("j4", 300, t);
      back = true;
    }
    MustApply([&](WriteTxn& txn) {
      for (int k = 0; k < 10; ++k, ++next, ++events) {
        Allocation& a = allocs[next % allocs.size()];
        if (!a.TaskStates) a.TaskStates.emplace();
        TaskState& ts = (*a.TaskStates)["t"];
        ts.State = next % 2 ? "running" : "pending";
        ts.Restarts = next / allocs.size();
        TaskEvent ev;
        ev.Type = next % 2 ? "Started" : "Restarting";
        ev.Time = t;
        ts.Events.push_back(ev);
        if (ts.Events.size() > kTaskEventLimit) ts.Events.erase(ts.Events.begin());
        a.ClientStatus = kAllocClientRunning;
        a.ModifyIndex = txn.index();
        a.ModifyTime = t;
        PutAllocWithEvent(txn, a, "AllocationUpdated");
      }
      return Status::Ok();
    });
    t += kMillisecond;
  }
  const std::uint64_t head = store_->LatestIndex();

  // The fast rebuild against folding every entry.
  JournalState full;
  ASSERT_TRUE(ScanJournal(*store_, 0, [&](const Event& e) -> Result<bool> {
                RETURN_IF_ERROR(ApplyEvent(full, e));
                return true;
              }).ok());
  auto fast = ReplayJournal(*store_);
  ASSERT_TRUE(fast.ok()) << fast.status().ToString();
  ExpectSameTables(*fast, full);
  EXPECT_EQ(fast->purged_jobs, full.purged_jobs);
  EXPECT_EQ(fast->table_index, full.table_index);
  EXPECT_EQ(fast->index, full.index);

  // Indexes in the newer 40%, before and after folding half the journal.
  std::vector<std::uint64_t> at;
  for (int k = 0; k <= 2; ++k) at.push_back(head * 6 / 10 + k * (head * 4 / 10) / 2);
  std::vector<JournalState> before;
  for (std::uint64_t i : at) {
    auto s = ReplayJournal(*store_, i);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    before.push_back(std::move(s).value());
  }
  auto compacted = CompactJournal(*store_, RetentionPolicy{target / 2, 0});
  ASSERT_TRUE(compacted.ok()) << compacted.status().ToString();
  EXPECT_GE(compacted->folded_events, target / 2 - allocs.size());
  ASSERT_LT(compacted->base_index, at.front());
  for (std::size_t k = 0; k < at.size(); ++k) {
    auto s = ReplayJournal(*store_, at[k]);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    SCOPED_TRACE("at index " + std::to_string(at[k]));
    ExpectSameTables(*s, before[k]);
    EXPECT_EQ(s->purged_jobs, before[k].purged_jobs);
    EXPECT_EQ(s->table_index, before[k].table_index);
    EXPECT_EQ(s->index, before[k].index);
  }
  EXPECT_EQ(ReplayJournal(*store_, compacted->base_index - 1).status().code(),
            StatusCode::kFailedPrecondition);
  auto report = CheckState(*store_);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->ok()) << report->Format().substr(0, 3000);
}

}  // namespace
}  // namespace drover
