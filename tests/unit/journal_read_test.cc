// Unit tests of how the journal is read at scale (storage/journal_scan.h,
// storage/journal.h): which allocation entries carry their own Job, the
// job a rebuilt allocation embeds, and the journal's on-disk format.
#include <gtest/gtest.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/table_properties.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "migrations/migrations.h"
#include "storage/codec.h"
#include "storage/journal.h"
#include "storage/journal_scan.h"
#include "storage/state_store.h"
#include "tests/support/raw_db.h"

namespace drover {
namespace {

class JournalReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "drover_journal_read_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void Reopen() {
    store_.reset();
    auto s = StateStore::Open(dir_, StoreOptions{migrations::All(), true});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }

  void MustApply(const std::function<Status(WriteTxn&)>& fn) {
    auto r = store_->Apply(fn);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  // Whether each journal entry, in order, carries its Job as
  // AllocationCarriesJob reads it.
  std::vector<bool> Carries() {
    std::vector<bool> out;
    Status s = ScanJournalHeads(*store_, 0, [&](const EventHead& h, std::string_view raw) -> Result<bool> {
      out.push_back(AllocationCarriesJob(h, raw));
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  static Job MakeJob(const std::string& id, const std::string& marker) {
    Job job;
    job.Namespace = "default";
    job.ID = job.Name = id;
    job.Type = kJobTypeService;
    job.Meta = StringMap{{"marker", marker}};
    TaskGroup tg;
    tg.Name = "g";
    Task t;
    t.Name = "t";
    t.Driver = "raw_exec";
    tg.Tasks.push_back(t);
    job.TaskGroups.push_back(tg);
    return job;
  }

  // The job and its JobRegistered event, as the agent writes them.
  static void PutJob(WriteTxn& txn, const Job& job) {
    txn.PutJob(job);
    txn.AddEvent(MakeEvent("Job", "JobRegistered", job.ID, job.Namespace, EncodeJson(job)));
  }

  std::string dir_;
  std::unique_ptr<StateStore> store_;
};

TEST_F(JournalReadTest, OnlyAnAllocationsOwnJobMemberCountsAsCarryingIt) {
  auto add = [&](const std::string& payload) {
    MustApply([&](WriteTxn& txn) {
      txn.AddEvent(MakeEvent("Allocation", "AllocationUpdated", "a1", "default", payload, {"j"}));
      return Status::Ok();
    });
  };
  // Its Job, after its string members: carried.
  add(R"({"ID":"a1","Namespace":"default","JobID":"j","Job":{"ID":"j"},"TaskGroup":"g"})");
  // No Job: a member named Job further in, nested, is not the allocation's.
  add(R"({"ID":"a1","JobID":"j","TaskGroup":"g","Resources":{"Job":{"ID":"x"}}})");
  // A null Job carries nothing.
  add(R"({"ID":"a1","JobID":"j","Job":null,"TaskGroup":"g"})");
  // A string with escapes before the Job: read the slow way, still right.
  add(R"({"ID":"a1","Name":"say \"hi\"","JobID":"j","Job":{"ID":"j"}})");
  add(R"({"ID":"a1","Name":"say \"hi\"","JobID":"j","TaskGroup":"g"})");
  EXPECT_EQ(Carries(), (std::vector<bool>{true, false, false, true, false}));
}

// The change time read from an entry's text is the one EventTime decodes,
// whatever the object holds around it.
TEST_F(JournalReadTest, EntryTimeFromTheTextMatchesTheDecodedEntry) {
  struct Case {
    const char* topic;
    std::string object;
    Nanos want;
  };
  const std::vector<Case> cases = {
      // A nested ModifyTime (in a task event) is not the allocation's.
      {"Allocation",
       R"({"ID":"a","TaskStates":{"t":{"Events":[{"ModifyTime":5,"Msg":"}]{[\"x\\"}]}},"ModifyTime":1790000063081000000})",
       1790000063081000000},
      {"Evaluation", R"({"ID":"e","ModifyTime":-7,"Meta":{"k":[1,2,{"a":null}]}})", -7},
      {"Job", R"({"ID":"j","TaskGroups":[{"Name":"g"}],"SubmitTime":1700000000000000001})",
       1700000000000000001},
      {"Node", R"({"ID":"n","StatusUpdatedAt":1700000000,"Attributes":{"x":"y"}})",
       1700000000 * kSecond},
      // A corrupt node time in seconds does not overflow: it is held to
      // the range of nanoseconds.
      {"Node", R"({"ID":"n","StatusUpdatedAt":9223372036854775807})",
       std::numeric_limits<Nanos>::max()},
      {"Node", R"({"ID":"n","StatusUpdatedAt":-9300000000})", std::numeric_limits<Nanos>::min()},
      {"Allocation", R"({"ID":"a","ModifyTime":null})", 0},
      {"Allocation", R"({"ID":"a"})", 0},
      {"Allocation", R"({})", 0},
  };
  for (const Case& c : cases) {
    MustApply([&](WriteTxn& txn) {
      txn.AddEvent(MakeEvent(c.topic, "Updated", "k", "default", c.object));
      return Status::Ok();
    });
  }
  std::size_t i = 0;
  Status s = ScanJournalHeads(*store_, 0, [&](const EventHead& h, std::string_view raw) -> Result<bool> {
    SCOPED_TRACE(cases[i].object);
    ASSIGN_OR_RETURN(Event e, DecodeJournalEntry(raw));
    EXPECT_EQ(EventTime(e), cases[i].want);
    std::optional<Nanos> fast = EntryTimeOf(h, raw);
    EXPECT_TRUE(fast.has_value());
    EXPECT_EQ(fast.value_or(-1), cases[i].want);
    ++i;
    return true;
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(i, cases.size());
}

// An allocation placed in the journal embeds the job as it was there, not
// as it is now; one whose entry carried its own Job keeps that one.
TEST_F(JournalReadTest, RebuiltAllocationsEmbedTheJobTheyWerePlacedWith) {
  auto put_alloc = [&](WriteTxn& txn, Allocation a, bool with_job) {
    txn.PutAlloc(a);
    if (!with_job) a.Job.reset();
    txn.AddEvent(MakeEvent("Allocation", "AllocationUpdated", a.ID, a.Namespace, EncodeJson(a), {a.JobID}));
  };
  auto alloc_of = [](const std::string& id, const Job& job, std::uint64_t index) {
    Allocation a;
    a.ID = id;
    a.Namespace = job.Namespace;
    a.JobID = job.ID;
    a.Job = job;
    a.TaskGroup = "g";
    a.CreateIndex = a.ModifyIndex = index;
    return a;
  };
  Job v1 = MakeJob("web", "v1");
  MustApply([&](WriteTxn& txn) {
    v1.CreateIndex = v1.ModifyIndex = v1.JobModifyIndex = txn.index();
    PutJob(txn, v1);
    put_alloc(txn, alloc_of("placed", v1, txn.index()), false);
    return Status::Ok();
  });
  Job v2 = MakeJob("web", "v2");
  v2.Version = 1;
  MustApply([&](WriteTxn& txn) {
    v2.CreateIndex = v1.CreateIndex;
    v2.ModifyIndex = v2.JobModifyIndex = txn.index();
    PutJob(txn, v2);
    return Status::Ok();
  });
  Job carried = MakeJob("web", "carried");
  MustApply([&](WriteTxn& txn) {
    Allocation later = alloc_of("placed", v1, txn.index());
    later.ClientStatus = kAllocClientRunning;
    later.ModifyIndex = txn.index();
    put_alloc(txn, later, false);  // updated after the job changed: keeps v1
    put_alloc(txn, alloc_of("carrier", carried, txn.index()), true);
    return Status::Ok();
  });
  MustApply([&](WriteTxn& txn) {
    Allocation a = alloc_of("carrier", carried, txn.index() - 1);
    a.ModifyIndex = txn.index();
    a.ClientStatus = kAllocClientComplete;
    put_alloc(txn, a, false);  // a later entry without a Job: still `carried`
    return Status::Ok();
  });

  for (int pass = 0; pass < 2; ++pass) {
    SCOPED_TRACE(pass == 0 ? "from the journal" : "after compaction folded the placements");
    auto state = ReplayJournal(*store_);
    ASSERT_TRUE(state.ok()) << state.status().ToString();
    ASSERT_EQ(state->allocs.count("placed"), 1u);
    ASSERT_TRUE(state->allocs.at("placed").Job.has_value());
    EXPECT_EQ(state->allocs.at("placed").Job->Meta, (StringMap{{"marker", "v1"}}));
    EXPECT_EQ(state->allocs.at("placed").ClientStatus, kAllocClientRunning);
    ASSERT_TRUE(state->allocs.at("carrier").Job.has_value());
    EXPECT_EQ(state->allocs.at("carrier").Job->Meta, (StringMap{{"marker", "carried"}}));
    EXPECT_EQ(state->allocs.at("carrier").ClientStatus, kAllocClientComplete);
    EXPECT_EQ(state->jobs.at({"default", "web"}).Meta, (StringMap{{"marker", "v2"}}));
    // Fold the first three changes: the snapshot now holds the jobs the
    // allocations embed, and the replay must take them from there.
    auto folded = CompactJournal(*store_, RetentionPolicy{1, 0});
    ASSERT_TRUE(folded.ok()) << folded.status().ToString();
  }
}

// A member's text read without parsing the object: the top-level member
// only, whatever the values around it hold.
TEST(MemberTextTest, ReadsTheTopLevelMemberUnparsed) {
  const std::string obj =
      R"({"ID":"a","Resources":{"Job":{"ID":"nested"}},"Name":"say \"}{\"","Job":{"ID":"j","Meta":{"k":"}"}},"N":-1.5e3})";
  EXPECT_EQ(MemberText(obj, "Job"), std::optional<std::string_view>(R"({"ID":"j","Meta":{"k":"}"}})"));
  EXPECT_EQ(MemberText(obj, "N"), std::optional<std::string_view>("-1.5e3"));
  EXPECT_EQ(MemberText(obj, "Name"), std::optional<std::string_view>(R"("say \"}{\"")"));
  EXPECT_EQ(MemberText(obj, "Missing"), std::optional<std::string_view>("null"));
  EXPECT_EQ(MemberText("{}", "Job"), std::optional<std::string_view>("null"));
  EXPECT_EQ(MemberText(R"( { "Job" : null } )", "Job"), std::optional<std::string_view>("null"));
  // Not the codec's shape: the caller decodes the object instead.
  EXPECT_EQ(MemberText(R"({"J\u006fb":{}})", "Job"), std::nullopt);
  EXPECT_EQ(MemberText(R"({"Job":{"ID":"j")", "Job"), std::nullopt);
  EXPECT_EQ(MemberText("[1]", "Job"), std::nullopt);
}

// Allocations the journal writes again after the snapshot are taken from
// their latest entry, and keep the Job the snapshot gave them (read from
// its text, once per distinct job): the replay after compaction equals
// the one before it.
TEST_F(JournalReadTest, RewrittenSnapshotAllocationsKeepTheSnapshotsJob) {
  auto put_alloc = [&](WriteTxn& txn, const std::string& id, const Job& job, const std::string& status) {
    Allocation a;
    a.ID = id;
    a.Namespace = job.Namespace;
    a.JobID = job.ID;
    a.Job = job;
    a.TaskGroup = "g";
    a.ClientStatus = status;
    a.CreateIndex = a.ModifyIndex = txn.index();
    txn.PutAlloc(a);
    txn.AddEvent(AllocationEvent("AllocationUpdated", a));  // without its Job
  };
  Job v1 = MakeJob("web", "v1");
  MustApply([&](WriteTxn& txn) {
    v1.CreateIndex = v1.ModifyIndex = v1.JobModifyIndex = txn.index();
    PutJob(txn, v1);
    put_alloc(txn, "a1", v1, kAllocClientPending);
    put_alloc(txn, "a2", v1, kAllocClientPending);
    return Status::Ok();
  });
  Job v2 = MakeJob("web", "v2");
  MustApply([&](WriteTxn& txn) {
    v2.Version = 1;
    v2.CreateIndex = v1.CreateIndex;
    v2.ModifyIndex = v2.JobModifyIndex = txn.index();
    PutJob(txn, v2);
    put_alloc(txn, "b1", v2, kAllocClientPending);
    return Status::Ok();
  });
  std::uint64_t placed = 0;
  MustApply([&](WriteTxn& txn) {
    placed = txn.index() - 1;
    PutJob(txn, MakeJob("other", "o"));
    return Status::Ok();
  });
  // The placements go into the snapshot; then each allocation but a2 is
  // written again.
  auto folded = CompactJournal(*store_, RetentionPolicy{1, 0});
  ASSERT_TRUE(folded.ok()) << folded.status().ToString();
  ASSERT_EQ(folded->base_index, placed);
  MustApply([&](WriteTxn& txn) {
    put_alloc(txn, "a1", v1, kAllocClientRunning);
    put_alloc(txn, "b1", v2, kAllocClientComplete);
    return Status::Ok();
  });
  auto state = ReplayJournal(*store_);
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  ASSERT_EQ(state->allocs.size(), 3u);
  for (const auto& [id, marker, status] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"a1", "v1", kAllocClientRunning},
           {"a2", "v1", kAllocClientPending},
           {"b1", "v2", kAllocClientComplete}}) {
    SCOPED_TRACE(id);
    const Allocation& a = state->allocs.at(id);
    EXPECT_EQ(a.ClientStatus, status);
    EXPECT_EQ(a.JobID, "web");
    ASSERT_TRUE(a.Job.has_value());
    EXPECT_EQ(a.Job->Meta, (StringMap{{"marker", marker}}));
  }
  // The live table agrees, object for object.
  auto live = store_->ListAllocsByIDPrefix("");
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  ASSERT_EQ(live->size(), 3u);
  for (const Allocation& a : *live) EXPECT_EQ(state->allocs.at(a.ID), a) << a.ID;
}

// The journal is written LZ4-compressed in large blocks, which a full
// scan reads several times faster than small Snappy blocks (see
// JournalCfOptions in storage/state_store.cc).
TEST_F(JournalReadTest, JournalFilesAreWrittenWithLz4) {
  const auto supported = rocksdb::GetSupportedCompressions();
  if (std::find(supported.begin(), supported.end(), rocksdb::kLZ4Compression) == supported.end()) {
    GTEST_SKIP() << "this RocksDB has no LZ4";
  }
  const std::string filler(6000, 'x');
  for (int batch = 0; batch < 4; ++batch) {
    MustApply([&](WriteTxn& txn) {
      for (int i = 0; i < 100; ++i) {
        txn.AddEvent(MakeEvent("Node", "NodeRegistration", "n", "",
                               R"({"ID":"n","Name":")" + filler + R"("})"));
      }
      return Status::Ok();
    });
  }
  ASSERT_TRUE(store_->Flush().ok());
  store_.reset();
  auto raw = testing::RawDb::Open(dir_, /*read_only=*/true);
  ASSERT_NE(raw, nullptr);
  rocksdb::TablePropertiesCollection files;
  ASSERT_TRUE(raw->db()->GetPropertiesOfAllTables(raw->Family("events"), &files).ok());
  ASSERT_FALSE(files.empty()) << "no journal file was flushed";
  for (const auto& [name, props] : files) {
    EXPECT_EQ(props->compression_name, "LZ4") << name;
    // Large blocks: far fewer than one per 6 KB entry.
    EXPECT_LT(props->num_data_blocks * 4, props->num_entries) << name;
  }
}

}  // namespace
}  // namespace drover
