// End-to-end: POST /v1/node/:id/eligibility, /drain and /purge against the
// binary: eligibility stored and shown, placements waiting while the node
// is ineligible, a drain stopping allocations in Nomad's order and marking
// them for migration, and bad input answered as Nomad answers it.
#include <boost/json.hpp>

#include <gtest/gtest.h>

#include "common/gotime.h"
#include "tests/support/agent_process.h"
#include "tests/support/http_client.h"

namespace drover::testing {
namespace {

namespace json = boost::json;
using std::chrono::seconds;

json::value Job(const std::string& id, const std::string& type, std::int64_t count) {
  json::object task{{"Name", "t"},
                    {"Driver", "raw_exec"},
                    {"Config", json::object{{"command", "/bin/sh"},
                                            {"args", json::array{"-c", "sleep 600"}}}},
                    {"Resources", json::object{{"CPU", 20}, {"MemoryMB", 16}}},
                    {"KillTimeout", kSecond}};
  json::object group{{"Name", "g"}, {"Count", count}, {"Tasks", json::array{task}}};
  return json::object{{"Job", json::object{{"ID", id},
                                           {"Name", id},
                                           {"Type", type},
                                           {"Datacenters", json::array{"dc1"}},
                                           {"TaskGroups", json::array{group}}}}};
}

class NodeDrainE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto agent = AgentProcess::Launch();
    ASSERT_TRUE(agent.ok()) << agent.status().ToString();
    agent_ = std::move(agent).value();
    json::value nodes = GetJson("/v1/nodes");
    ASSERT_EQ(nodes.as_array().size(), 1u);
    node_ = std::string(nodes.at(0).at("ID").as_string());
  }
  HttpResponse Call(const std::string& method, const std::string& path,
                    const std::string& body = "") {
    auto r = agent_->Client().Request(method, path, body);
    EXPECT_TRUE(r.ok()) << method << " " << path << ": " << r.status().ToString();
    return r.ok() ? *r : HttpResponse{};
  }
  json::value GetJson(const std::string& path) {
    HttpResponse r = Call("GET", path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    auto v = ParseJson(r.body);
    return v.ok() ? *v : json::value();
  }
  json::value Node() { return GetJson("/v1/node/" + node_); }
  json::value Allocs(const std::string& job) { return GetJson("/v1/job/" + job + "/allocations"); }
  bool WaitClient(const std::string& job, const std::string& status, std::size_t n) {
    return WaitFor(
        [&] {
          auto v = ParseJson(Call("GET", "/v1/job/" + job + "/allocations").body);
          if (!v.ok()) return false;
          std::size_t matching = 0;
          for (const json::value& a : v->as_array()) {
            if (a.at("ClientStatus").as_string() == status) ++matching;
          }
          return matching == n;
        },
        seconds(30));
  }

  std::unique_ptr<AgentProcess> agent_;
  std::string node_;
};

TEST_F(NodeDrainE2ETest, IneligibleNodeHoldsNewPlacementsUntilEligibleAgain) {
  HttpResponse r = Call("POST", "/v1/node/" + node_ + "/eligibility",
                        R"({"Eligibility": "ineligible"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_GT(json::parse(r.body).at("Index").to_number<std::uint64_t>(), 0u);
  EXPECT_EQ(Node().at("SchedulingEligibility").as_string(), "ineligible");
  EXPECT_EQ(GetJson("/v1/nodes").at(0).at("SchedulingEligibility").as_string(), "ineligible");
  json::value events = Node().at("Events");
  ASSERT_TRUE(events.is_array());
  EXPECT_EQ(events.as_array().back().at("Message").as_string(),
            "Node marked as ineligible for scheduling");

  // Setting it again changes nothing (Nomad's all-zero answer).
  r = Call("PUT", "/v1/node/" + node_ + "/eligibility", R"({"Eligibility": "ineligible"})");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body).at("Index").to_number<std::uint64_t>(), 0u);

  ASSERT_EQ(Call("PUT", "/v1/jobs", json::serialize(Job("waits", "service", 1))).status, 200);
  EXPECT_TRUE(Allocs("waits").as_array().empty());
  json::value summary = GetJson("/v1/job/waits/summary");
  EXPECT_EQ(summary.at("Summary").at("g").at("Queued").to_number<int>(), 1);
  bool blocked = false;
  const json::value evals = GetJson("/v1/job/waits/evaluations");
  for (const json::value& e : evals.as_array()) {
    if (e.at("Status").as_string() == "blocked") blocked = true;
  }
  EXPECT_TRUE(blocked);

  r = Call("POST", "/v1/node/" + node_ + "/eligibility", R"({"Eligibility": "eligible"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(json::parse(r.body).at("EvalIDs").is_array());
  EXPECT_TRUE(WaitClient("waits", "running", 1)) << agent_->LogTail();
  EXPECT_EQ(Node().at("SchedulingEligibility").as_string(), "eligible");
  EXPECT_EQ(GetJson("/v1/job/waits/summary").at("Summary").at("g").at("Queued").to_number<int>(), 0);
}

TEST_F(NodeDrainE2ETest, EligibilityBadInputIsAnsweredAsNomad) {
  struct Case {
    std::string node, body;
    int status;
    std::string text;
  } cases[] = {
      {node_, R"({"Eligibility": "maybe"})", 500, "invalid scheduling eligibility \"maybe\""},
      {node_, R"({})", 500, "invalid scheduling eligibility \"\""},
      {"00000000-0000-4000-8000-000000000000", R"({"Eligibility": "eligible"})", 500,
       "node not found"},
      {node_, R"({"Eligibility": 1})", 400,
       "json: cannot unmarshal number 1 into Go struct field "
       "NodeUpdateEligibilityRequest.Eligibility of type string"},
      {node_, "", 400, "Request body is empty"},
  };
  for (const Case& c : cases) {
    HttpResponse r = Call("POST", "/v1/node/" + c.node + "/eligibility", c.body);
    EXPECT_EQ(r.status, c.status) << c.body << ": " << r.body;
    EXPECT_EQ(r.body, c.text) << c.body;
  }
  EXPECT_EQ(Node().at("SchedulingEligibility").as_string(), "eligible");
  EXPECT_EQ(Call("GET", "/v1/node/" + node_ + "/eligibility").status, 405);
}

TEST_F(NodeDrainE2ETest, DrainStopsServiceAllocationsMarkedForMigrationThenBatchAtTheDeadline) {
  ASSERT_EQ(Call("PUT", "/v1/jobs", json::serialize(Job("web", "service", 2))).status, 200);
  ASSERT_EQ(Call("PUT", "/v1/jobs", json::serialize(Job("report", "batch", 1))).status, 200);
  ASSERT_TRUE(WaitClient("web", "running", 2)) << agent_->LogTail();
  ASSERT_TRUE(WaitClient("report", "running", 1)) << agent_->LogTail();

  HttpResponse r = Call("POST", "/v1/node/" + node_ + "/drain",
                        R"({"DrainSpec": {"Deadline": 3600000000000, "IgnoreSystemJobs": false},
                            "Meta": {"reason": "kernel upgrade"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  json::value reply = json::parse(r.body);
  EXPECT_EQ(reply.at("NodeModifyIndex").to_number<std::uint64_t>(),
            reply.at("Index").to_number<std::uint64_t>());

  json::value node = Node();
  EXPECT_TRUE(node.at("Drain").as_bool());
  EXPECT_EQ(node.at("SchedulingEligibility").as_string(), "ineligible");
  EXPECT_EQ(node.at("DrainStrategy").at("Deadline").to_number<std::int64_t>(), 3600 * kSecond);
  EXPECT_FALSE(node.at("DrainStrategy").at("IgnoreSystemJobs").as_bool());
  EXPECT_NE(node.at("DrainStrategy").at("ForceDeadline").as_string(), "0001-01-01T00:00:00Z");
  EXPECT_EQ(node.at("LastDrain").at("Status").as_string(), "draining");
  EXPECT_EQ(node.at("LastDrain").at("Meta").at("reason").as_string(), "kernel upgrade");

  // Service allocations stop, marked for migration; nothing replaces them
  // on the ineligible node.
  ASSERT_TRUE(WaitClient("web", "complete", 2)) << agent_->LogTail();
  const json::value stopped = Allocs("web");
  for (const json::value& a : stopped.as_array()) {
    EXPECT_EQ(a.at("DesiredStatus").as_string(), "stop");
    EXPECT_EQ(a.at("DesiredDescription").as_string(), "alloc is being migrated");
    EXPECT_TRUE(a.at("DesiredTransition").at("Migrate").as_bool());
  }
  EXPECT_EQ(Allocs("web").as_array().size(), 2u);
  // The batch allocation may finish until the deadline: the drain lasts.
  json::value batch = Allocs("report").at(0);
  EXPECT_EQ(batch.at("DesiredStatus").as_string(), "run");
  EXPECT_EQ(batch.at("ClientStatus").as_string(), "running");
  EXPECT_FALSE(Node().at("DrainStrategy").is_null());

  // The drain survives an agent restart.
  ASSERT_TRUE(agent_->Restart().ok()) << agent_->LogTail();
  EXPECT_FALSE(Node().at("DrainStrategy").is_null());
  EXPECT_EQ(Node().at("SchedulingEligibility").as_string(), "ineligible");

  // A negative deadline forces the rest at once; the drain completes.
  r = Call("POST", "/v1/node/" + node_ + "/drain", R"({"DrainSpec": {"Deadline": -1}})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(WaitFor([&] { return Node().at("DrainStrategy").is_null(); }, seconds(30)))
      << agent_->LogTail();
  EXPECT_EQ(Allocs("report").at(0).at("DesiredStatus").as_string(), "stop");
  node = Node();
  EXPECT_FALSE(node.at("Drain").as_bool());
  EXPECT_EQ(node.at("SchedulingEligibility").as_string(), "ineligible");
  EXPECT_EQ(node.at("LastDrain").at("Status").as_string(), "complete");
  EXPECT_EQ(node.at("LastDrain").at("Meta").at("reason").as_string(), "kernel upgrade");
  const json::array& events = node.at("Events").as_array();
  EXPECT_EQ(events.back().at("Message").as_string(), "Node drain complete");
  EXPECT_EQ(events.back().at("Details").at("deadline_reached").as_string(), "true");
}

TEST_F(NodeDrainE2ETest, DrainWithoutDeadlineCompletesOnceAllocationsStopped) {
  ASSERT_EQ(Call("PUT", "/v1/jobs", json::serialize(Job("api", "service", 1))).status, 200);
  ASSERT_TRUE(WaitClient("api", "running", 1)) << agent_->LogTail();
  HttpResponse r = Call("PUT", "/v1/node/" + node_ + "/drain",
                        R"({"DrainSpec": {"Deadline": 0, "IgnoreSystemJobs": true}})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(WaitFor([&] { return Node().at("DrainStrategy").is_null(); }, seconds(30)))
      << agent_->LogTail();
  EXPECT_EQ(Allocs("api").at(0).at("ClientStatus").as_string(), "complete");
  json::value node = Node();
  EXPECT_EQ(node.at("LastDrain").at("Status").as_string(), "complete");
  EXPECT_TRUE(node.at("Events").as_array().back().at("Details").is_null());

  // Making the node eligible places the service job again.
  r = Call("POST", "/v1/node/" + node_ + "/eligibility", R"({"Eligibility": "eligible"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(WaitClient("api", "running", 1)) << agent_->LogTail();
}

TEST_F(NodeDrainE2ETest, CancelledDrainAndBadDrainInput) {
  // A batch allocation keeps the drain going until its deadline.
  ASSERT_EQ(Call("PUT", "/v1/jobs", json::serialize(Job("report", "batch", 1))).status, 200);
  ASSERT_TRUE(WaitClient("report", "running", 1)) << agent_->LogTail();
  HttpResponse r = Call("POST", "/v1/node/" + node_ + "/drain",
                        R"({"DrainSpec": {"Deadline": 3600000000000}})");
  ASSERT_EQ(r.status, 200) << r.body;
  r = Call("POST", "/v1/node/" + node_ + "/eligibility", R"({"Eligibility": "eligible"})");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "can not set node's scheduling eligibility to eligible while it is draining");

  r = Call("POST", "/v1/node/" + node_ + "/drain", R"({"DrainSpec": null, "MarkEligible": true})");
  ASSERT_EQ(r.status, 200) << r.body;
  json::value node = Node();
  EXPECT_TRUE(node.at("DrainStrategy").is_null());
  EXPECT_EQ(node.at("SchedulingEligibility").as_string(), "eligible");
  EXPECT_EQ(node.at("LastDrain").at("Status").as_string(), "canceled");
  EXPECT_EQ(node.at("Events").as_array().back().at("Message").as_string(), "Node drain disabled");

  struct Case {
    std::string node, body;
    int status;
    std::string text;
  } cases[] = {
      {"00000000-0000-4000-8000-000000000000", R"({"DrainSpec": {"Deadline": 1}})", 500,
       "node not found"},
      {node_, R"({"DrainSpec": {"Deadline": "1h"}})", 400,
       "json: cannot unmarshal string into Go struct field DrainSpec.DrainSpec.Deadline of type "
       "time.Duration"},
      {node_, R"({"DrainSpec": true})", 400,
       "json: cannot unmarshal bool into Go struct field NodeUpdateDrainRequest.DrainSpec of type "
       "*api.DrainSpec"},
      {node_, R"({"Meta": {"a": 1}})", 400,
       "json: cannot unmarshal number 1 into Go struct field NodeUpdateDrainRequest.Meta of type "
       "string"},
      {node_, "", 400, "Request body is empty"},
  };
  const std::uint64_t before = Node().at("ModifyIndex").to_number<std::uint64_t>();
  for (const Case& c : cases) {
    r = Call("POST", "/v1/node/" + c.node + "/drain", c.body);
    EXPECT_EQ(r.status, c.status) << c.body << ": " << r.body;
    EXPECT_EQ(r.body, c.text) << c.body;
  }
  EXPECT_EQ(Node().at("ModifyIndex").to_number<std::uint64_t>(), before);
}

TEST_F(NodeDrainE2ETest, PurgeRegistersTheNodeAgainAndKeepsItsAllocations) {
  ASSERT_EQ(Call("PUT", "/v1/jobs", json::serialize(Job("kept", "service", 1))).status, 200);
  ASSERT_TRUE(WaitClient("kept", "running", 1)) << agent_->LogTail();
  ASSERT_EQ(Call("POST", "/v1/node/" + node_ + "/eligibility", R"({"Eligibility": "ineligible"})")
                .status,
            200);
  HttpResponse r = Call("POST", "/v1/node/" + node_ + "/purge");
  ASSERT_EQ(r.status, 200) << r.body;
  json::value reply = json::parse(r.body);
  ASSERT_TRUE(reply.at("EvalIDs").is_array());
  EXPECT_GE(reply.at("EvalIDs").as_array().size(), 1u);
  EXPECT_GT(reply.at("NodeModifyIndex").to_number<std::uint64_t>(), 0u);
  json::value node = Node();
  EXPECT_EQ(node.at("SchedulingEligibility").as_string(), "eligible");
  EXPECT_EQ(node.at("Status").as_string(), "ready");
  EXPECT_EQ(GetJson("/v1/nodes").as_array().size(), 1u);
  EXPECT_EQ(Allocs("kept").at(0).at("ClientStatus").as_string(), "running");

  r = Call("POST", "/v1/node/00000000-0000-4000-8000-000000000000/purge");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "node not found");
  EXPECT_EQ(Call("GET", "/v1/node/" + node_ + "/purge").status, 405);
}

}  // namespace
}  // namespace drover::testing
