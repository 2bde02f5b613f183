// End-to-end: the cluster views of a one-node cluster, as Nomad's CLI reads
// them (`nomad server members`, `nomad operator raft list-peers`, health
// checks, region lists).
#include <boost/json.hpp>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/agent_process.h"
#include "tests/support/http_client.h"
#include "tests/support/shared_agent.h"

namespace drover::testing {
namespace {

namespace json = boost::json;

class ClusterE2ETest : public SharedAgentTest<ClusterE2ETest> {
 protected:
  json::value Get(const std::string& path, int want = 200) {
    auto r = agent_->Client().Get(path);
    EXPECT_TRUE(r.ok()) << path;
    if (!r.ok()) return nullptr;
    EXPECT_EQ(r->status, want) << path << ": " << r->body;
    auto v = ParseJson(r->body);
    return v.ok() ? *v : json::value(r->body);
  }
};

TEST_F(ClusterE2ETest, MembersListThisAgentAsTheOneAliveServer) {
  json::value self = Get("/v1/agent/self");
  const std::string node_name(self.at("config").at("NodeName").as_string());
  json::value m = Get("/v1/agent/members");
  EXPECT_EQ(m.at("ServerRegion"), "global");
  EXPECT_EQ(m.at("ServerDC"), "dc1");
  EXPECT_EQ(m.at("ServerName").as_string(), node_name);
  const json::array& members = m.at("Members").as_array();
  ASSERT_EQ(members.size(), 1u);
  EXPECT_EQ(members[0].at("Name").as_string(), node_name + ".global");
  EXPECT_EQ(members[0].at("Status"), "alive");
  EXPECT_EQ(members[0].at("Addr"), "127.0.0.1");
  EXPECT_EQ(members[0].at("Port").to_number<int>(), agent_->port());
  EXPECT_EQ(members[0].at("Tags").at("region"), "global");
  EXPECT_EQ(members[0].at("Tags").at("role"), "nomad");
}

TEST_F(ClusterE2ETest, HealthAnswersBothSidesOrTheOneAskedFor) {
  json::value both = Get("/v1/agent/health");
  EXPECT_EQ(both, json::parse(R"({"client":{"ok":true,"message":"ok"},
                                  "server":{"ok":true,"message":"ok"}})"));
  json::value client = Get("/v1/agent/health?type=client");
  EXPECT_TRUE(client.as_object().contains("client"));
  EXPECT_FALSE(client.as_object().contains("server"));
}

TEST_F(ClusterE2ETest, RegionsAndRaftConfigurationDescribeOneVoter) {
  EXPECT_EQ(Get("/v1/regions"), json::parse(R"(["global"])"));
  json::value raft = Get("/v1/operator/raft/configuration");
  const json::array& servers = raft.at("Servers").as_array();
  ASSERT_EQ(servers.size(), 1u);
  EXPECT_EQ(servers[0].at("Leader"), true);
  EXPECT_EQ(servers[0].at("Voter"), true);
  EXPECT_EQ(servers[0].at("RaftProtocol"), "3");
  json::value self = Get("/v1/agent/self");
  json::value node = Get("/v1/node/" + std::string(servers[0].at("ID").as_string()));
  EXPECT_EQ(node.at("Name"), self.at("config").at("NodeName"));
}

}  // namespace
}  // namespace drover::testing
