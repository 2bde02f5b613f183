// Unit tests of the service layer's read side (service/queries.h) over a
// real store: what the HTTP API gets without going near the store itself.
#include "service/queries.h"

#include <gtest/gtest.h>

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "migrations/migrations.h"
#include "service/alloc_stats.h"
#include "service/event_feed.h"
#include "storage/codec.h"
#include "storage/state_store.h"

namespace drover {
namespace {

namespace json = boost::json;

class QueriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "drover_queries_XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    ASSERT_NE(mkdtemp(buf.data()), nullptr);
    dir_ = buf.data();
    auto s = StateStore::Open(dir_, StoreOptions{migrations::All(), true});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    node_.ID = "node-1";
    queries_ = std::make_unique<Queries>(*store_, node_);
  }
  void TearDown() override {
    queries_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void MustApply(const std::function<Status(WriteTxn&)>& fn) {
    auto r = store_->Apply(fn);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  // A job with one group "g", and `statuses.size()` allocations of it, one
  // per ClientStatus given, each with its placement event.
  void PutJobWithAllocs(const std::string& ns, const std::string& id,
                        const std::vector<const char*>& statuses) {
    Job job;
    job.Namespace = ns;
    job.ID = job.Name = id;
    job.Type = kJobTypeService;
    job.Datacenters = {"dc1"};
    TaskGroup tg;
    tg.Name = "g";
    tg.Count = static_cast<std::int64_t>(statuses.size());
    job.TaskGroups.push_back(tg);
    MustApply([&](WriteTxn& txn) {
      job.CreateIndex = job.ModifyIndex = job.JobModifyIndex = txn.index();
      txn.PutJob(job);
      int n = 0;
      for (const char* status : statuses) {
        Allocation a;
        a.ID = AllocId(ns, id, n);
        a.Namespace = ns;
        a.JobID = id;
        a.Job = job;
        a.Name = id + ".g[" + std::to_string(n++) + "]";
        a.TaskGroup = "g";
        a.NodeID = node_.ID;
        a.ClientStatus = status;
        a.DesiredStatus = kAllocDesiredRun;
        a.CreateIndex = a.ModifyIndex = txn.index();
        txn.PutAlloc(a);
        txn.AddEvent(AllocationEvent("PlanResult", a));
      }
      return Status::Ok();
    });
  }

  // A 36-character ID made of the namespace, job and number.
  static std::string AllocId(const std::string& ns, const std::string& job, int n) {
    std::string head = (ns + job + "00000000").substr(0, 8);
    return head + "-0000-4000-8000-00000000000" + std::to_string(n);
  }

  static std::shared_ptr<const Acl> ReadOnly(const std::string& ns) {
    auto rules = ParsePolicyRules("namespace \"" + ns + "\" { policy = \"read\" }");
    EXPECT_TRUE(rules.ok()) << rules.status().ToString();
    return Acl::FromPolicies({*rules});
  }

  static json::array Body(const QueryReply& reply) {
    json::value v = reply.text.empty() ? reply.body : json::parse(reply.text);
    return v.as_array();
  }

  std::string dir_;
  Node node_;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<Queries> queries_;
};

std::vector<std::string> Field(const json::array& items, const char* key) {
  std::vector<std::string> out;
  for (const json::value& v : items) out.emplace_back(v.at(key).as_string());
  return out;
}

TEST_F(QueriesTest, AllocListShowsOnlyWhatTheViewAllows) {
  PutJobWithAllocs("default", "web", {kAllocClientRunning});
  PutJobWithAllocs("other", "db", {kAllocClientRunning});

  AllocListRequest all{"", NamespaceView("*", Acl::Management(), "read-job"), {}, true, false};
  auto reply = queries_->ListAllocs(all);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(Field(Body(*reply), "Namespace"), (std::vector<std::string>{"default", "other"}));
  EXPECT_EQ(reply->index, store_->TableIndex(Table::kAllocs));

  // "*" with a token that reads "other" only.
  AllocListRequest scoped{"", NamespaceView("*", ReadOnly("other"), "read-job"), {}, true, false};
  reply = queries_->ListAllocs(scoped);
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(Field(Body(*reply), "JobID"), (std::vector<std::string>{"db"}));

  // The same through the decoding path (a filter), with a page of one.
  AllocListRequest filtered{"", NamespaceView("*", Acl::Management(), "read-job"), {}, true,
                            false};
  auto filter = Filter::Parse("ClientStatus == \"running\"");
  ASSERT_TRUE(filter.ok());
  filtered.list.filter = *filter;
  filtered.list.per_page = 1;
  reply = queries_->ListAllocs(filtered);
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(Field(Body(*reply), "JobID"), (std::vector<std::string>{"web"}));
  EXPECT_EQ(reply->next_token, "2." + AllocId("other", "db", 0));
}

TEST_F(QueriesTest, JobStubsCountTheirAllocationsByClientStatus) {
  PutJobWithAllocs("default", "web",
                   {kAllocClientRunning, kAllocClientRunning, kAllocClientFailed});
  auto reply = queries_->ListJobs("", NamespaceView("default", Acl::Management(), "list-jobs"), {});
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  json::array jobs = Body(*reply);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].at("Status"), "running");
  const json::value& g = jobs[0].at("JobSummary").at("Summary").at("g");
  EXPECT_EQ(g.at("Running").to_number<int>(), 2);
  EXPECT_EQ(g.at("Failed").to_number<int>(), 1);
  EXPECT_EQ(g.at("Starting").to_number<int>(), 0);

  auto missing = queries_->JobJson("default", "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "job not found");
}

TEST_F(QueriesTest, EventsAreReadPerSubscriptionAndTokenInWholeIndexes) {
  PutJobWithAllocs("default", "web", {kAllocClientRunning, kAllocClientRunning});  // index 1
  PutJobWithAllocs("other", "db", {kAllocClientRunning});                          // index 2
  PutJobWithAllocs("default", "api", {kAllocClientRunning});                       // index 3

  EventSubscription sub;
  sub.topics[kEventAll].push_back(kEventAll);
  sub.ns = kEventAll;
  sub.acl = ReadOnly("default");
  auto chunk = queries_->ReadEvents(sub, 0, 1 << 20);
  ASSERT_TRUE(chunk.ok()) << chunk.status().ToString();
  EXPECT_FALSE(chunk->full);
  EXPECT_EQ(chunk->next_index, 4u);
  std::vector<std::uint64_t> indexes;
  std::vector<std::size_t> sizes;
  std::size_t start = 0;
  for (std::size_t nl; (nl = chunk->ndjson.find('\n', start)) != std::string::npos; start = nl + 1) {
    json::value line = json::parse(chunk->ndjson.substr(start, nl - start));
    indexes.push_back(line.at("Index").to_number<std::uint64_t>());
    sizes.push_back(line.at("Events").as_array().size());
  }
  // Index 2 is in a namespace the token may not read.
  EXPECT_EQ(indexes, (std::vector<std::uint64_t>{1, 3}));
  EXPECT_EQ(sizes, (std::vector<std::size_t>{2, 1}));

  // A tiny budget stops after the first whole index.
  chunk = queries_->ReadEvents(sub, 0, 1);
  ASSERT_TRUE(chunk.ok());
  EXPECT_TRUE(chunk->full);
  EXPECT_EQ(chunk->next_index, 2u);
  EXPECT_EQ(std::count(chunk->ndjson.begin(), chunk->ndjson.end(), '\n'), 1);
}

TEST_F(QueriesTest, WatchFiresOnACommitAboveTheFloor) {
  const WatchSpec spec{{Table::kAllocs}, {}};
  const std::uint64_t floor = queries_->Floor(spec);
  std::atomic<int> fired{0};
  WatchId id = queries_->Watch(spec, floor, [&] { ++fired; });
  EXPECT_NE(id, 0u);
  EXPECT_EQ(fired.load(), 0);
  PutJobWithAllocs("default", "web", {kAllocClientPending});
  EXPECT_EQ(fired.load(), 1);
  EXPECT_GT(queries_->Floor(spec), floor);
}

TEST_F(QueriesTest, StatsOfAnUnknownAllocationAreNomadsNotFound) {
  auto usage = queries_->AllocStats("9d3b1f0e-0000-4000-8000-000000000000", "");
  ASSERT_FALSE(usage.ok());
  EXPECT_EQ(usage.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(usage.status().message(),
            "Unknown allocation \"9d3b1f0e-0000-4000-8000-000000000000\"");

  // A known allocation with no running task: no tasks, Nomad's Measured.
  PutJobWithAllocs("default", "web", {kAllocClientComplete});
  usage = queries_->AllocStats(AllocId("default", "web", 0), "");
  ASSERT_TRUE(usage.ok()) << usage.status().ToString();
  EXPECT_TRUE(usage->tasks.empty());
  EXPECT_EQ(usage->total.MemoryStats.Measured,
            (std::vector<std::string>{"RSS", "Swap", "Max Usage"}));
}

}  // namespace
}  // namespace drover
