// End-to-end: list queries (filter, per_page, next_token, reverse, prefix)
// on the real agent.
#include <algorithm>
#include <boost/json.hpp>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/agent_process.h"
#include "tests/support/http_client.h"

namespace drover::testing {
namespace {

namespace json = boost::json;

// A batch job of `count` allocations whose task exits at once: `exit_code`
// decides whether they complete or fail.
std::string BatchJob(const std::string& id, int count, int exit_code) {
  json::object task{{"Name", "t"},
                    {"Driver", "raw_exec"},
                    {"Config", json::object{{"command", "/bin/sh"},
                                            {"args", json::array{"-c", "exit " +
                                                                 std::to_string(exit_code)}}}},
                    {"Resources", json::object{{"CPU", 10}, {"MemoryMB", 10}}}};
  json::object group{{"Name", "g"},
                     {"Count", count},
                     {"RestartPolicy", json::object{{"Attempts", 0}, {"Mode", "fail"},
                                                    {"Interval", 60000000000},
                                                    {"Delay", 100000000}}},
                     {"ReschedulePolicy", json::object{{"Attempts", 0}, {"Unlimited", false}}},
                     {"Tasks", json::array{task}}};
  return json::serialize(json::object{
      {"Job", json::object{{"ID", id}, {"Type", "batch"}, {"TaskGroups", json::array{group}}}}});
}

class ListQueryE2ETest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto agent = AgentProcess::Launch();
    ASSERT_TRUE(agent.ok()) << agent.status().ToString();
    agent_ = std::move(agent).value().release();
    HttpClient http = agent_->Client();
    ASSERT_EQ(http.Put("/v1/jobs", BatchJob("ok", 6, 0))->status, 200);
    ASSERT_EQ(http.Put("/v1/jobs", BatchJob("bad", 5, 3))->status, 200);
    // Wait until all eleven allocations are terminal.
    ASSERT_TRUE(WaitFor(
        [&] {
          auto r = http.Get("/v1/allocations?filter=" +
                            PercentEncode("ClientStatus != \"complete\" and ClientStatus != \"failed\""));
          return r.ok() && r->status == 200 && json::parse(r->body).as_array().empty();
        },
        std::chrono::seconds(60)));
  }
  static void TearDownTestSuite() { delete agent_; }

  // Follows next_token until the last page; returns the IDs in order and
  // how many pages it took.
  static std::vector<std::string> AllPages(const std::string& query, int* pages) {
    HttpClient http = agent_->Client();
    std::vector<std::string> ids;
    std::string token;
    *pages = 0;
    for (;;) {
      std::string path =
          "/v1/allocations?" + query + (token.empty() ? "" : "&next_token=" + token);
      auto r = http.Get(path);
      EXPECT_TRUE(r.ok() && r->status == 200) << path << ": " << (r.ok() ? r->body : "");
      if (!r.ok() || r->status != 200) return ids;
      ++*pages;
      json::value page = json::parse(r->body);
      for (const auto& a : page.as_array()) ids.emplace_back(a.at("ID").as_string());
      auto next = r->headers.Get("X-Nomad-NextToken");
      if (!next) return ids;
      token = std::string(*next);
      if (*pages > 50) {
        ADD_FAILURE() << "pagination does not end";
        return ids;
      }
    }
  }

  static AgentProcess* agent_;
};

AgentProcess* ListQueryE2ETest::agent_ = nullptr;

TEST_F(ListQueryE2ETest, FilterSelectsOnTheFullAllocation) {
  HttpClient http = agent_->Client();
  auto failed = http.Get("/v1/allocations?filter=" + PercentEncode("ClientStatus == \"failed\""));
  ASSERT_EQ(failed->status, 200);
  EXPECT_EQ(json::parse(failed->body).as_array().size(), 5u);
  auto by_task = http.Get("/v1/allocations?filter=" +
                          PercentEncode("TaskStates.t.State == \"dead\" and JobID == \"ok\""));
  ASSERT_EQ(by_task->status, 200);
  EXPECT_EQ(json::parse(by_task->body).as_array().size(), 6u);
  auto regex = http.Get("/v1/allocations?filter=" + PercentEncode("Name matches \"^bad\\\\.g\\\\[[0-2]\\\\]$\""));
  ASSERT_EQ(regex->status, 200) << regex->body;
  EXPECT_EQ(json::parse(regex->body).as_array().size(), 3u);
}

// Unfiltered pages are read from the chronological index alone; they must
// agree with the whole list, forwards and in reverse.
TEST_F(ListQueryE2ETest, PagesCoverEveryMatchOnceInChronologicalOrder) {
  int pages = 0;
  std::vector<std::string> all = AllPages("", &pages);
  ASSERT_EQ(all.size(), 11u);
  EXPECT_EQ(pages, 1);
  std::vector<std::string> paged = AllPages("per_page=3", &pages);
  EXPECT_EQ(paged, all);
  EXPECT_EQ(pages, 4);
  std::vector<std::string> reversed = AllPages("per_page=4&reverse=true", &pages);
  EXPECT_EQ(pages, 3);
  std::reverse(reversed.begin(), reversed.end());
  EXPECT_EQ(reversed, all);
}

TEST_F(ListQueryE2ETest, FilterAndReverseTogetherAcrossPages) {
  int pages = 0;
  std::string filter = "filter=" + PercentEncode("JobID == \"bad\"");
  std::vector<std::string> forward = AllPages(filter, &pages);
  ASSERT_EQ(forward.size(), 5u);
  std::vector<std::string> reversed = AllPages(filter + "&reverse=true&per_page=2", &pages);
  EXPECT_EQ(pages, 3);
  std::reverse(reversed.begin(), reversed.end());
  EXPECT_EQ(reversed, forward);
}

TEST_F(ListQueryE2ETest, BadFilterIs400WithThePosition) {
  HttpClient http = agent_->Client();
  auto r = http.Get("/v1/allocations?filter=" + PercentEncode("ClientStatus = \"failed\""));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("failed to read filter expression"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("1:"), std::string::npos) << "the error names its position: " << r->body;
}

TEST_F(ListQueryE2ETest, OddLengthPrefixIs400WithNomadsText) {
  HttpClient http = agent_->Client();
  auto r = http.Get("/v1/allocations?prefix=abc");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("must be even length"), std::string::npos) << r->body;
}

TEST_F(ListQueryE2ETest, PrefixPagesUsePlainIDTokens) {
  HttpClient http = agent_->Client();
  auto r = http.Get("/v1/allocations");
  ASSERT_EQ(r->status, 200);
  std::string first = std::string(json::parse(r->body).as_array()[0].at("ID").as_string());
  auto one = http.Get("/v1/allocations?prefix=" + first.substr(0, 8) + "&per_page=1");
  ASSERT_EQ(one->status, 200) << one->body;
  EXPECT_EQ(json::parse(one->body).as_array().size(), 1u);
}

TEST_F(ListQueryE2ETest, JobsAndEvaluationsPage) {
  HttpClient http = agent_->Client();
  auto jobs = http.Get("/v1/jobs?per_page=1");
  ASSERT_EQ(jobs->status, 200);
  EXPECT_EQ(json::parse(jobs->body).as_array().size(), 1u);
  auto token = jobs->headers.Get("X-Nomad-NextToken");
  ASSERT_TRUE(token.has_value());
  EXPECT_EQ(*token, "default.ok") << "jobs page by <Namespace>.<ID>";
  auto rest = http.Get("/v1/jobs?per_page=1&next_token=" + std::string(*token));
  ASSERT_EQ(rest->status, 200);
  EXPECT_EQ(json::parse(rest->body).as_array()[0].at("ID").as_string(), "ok");
  auto evals = http.Get("/v1/evaluations?per_page=1");
  ASSERT_EQ(evals->status, 200);
  EXPECT_TRUE(evals->headers.Get("X-Nomad-NextToken").has_value());
}

}  // namespace
}  // namespace drover::testing
