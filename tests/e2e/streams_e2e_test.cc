// End-to-end: the event stream over a journal far larger than what one
// streaming step reads (64 KiB) or what may be queued on a client (1 MiB).
// The stream must deliver it in order, every index once, and then follow
// new commits.
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/agent_process.h"
#include "tests/support/http_client.h"
#include "tests/support/shared_agent.h"
#include "tests/support/stream_reader.h"

namespace drover::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr int kJobs = 160;
constexpr std::size_t kMetaBytes = 8 << 10;  // 160 jobs: about 1.3 MiB of events

// A service job with no allocations to place and a large meta value.
std::string BigJob(const std::string& id) {
  json::object task{{"Name", "t"},
                    {"Driver", "raw_exec"},
                    {"Config", json::object{{"command", "/bin/true"}}}};
  json::object group{{"Name", "g"}, {"Count", 0}, {"Tasks", json::array{task}}};
  return json::serialize(json::object{
      {"Job", json::object{{"ID", id},
                           {"Meta", json::object{{"pad", std::string(kMetaBytes, 'x')}}},
                           {"TaskGroups", json::array{group}}}}});
}

class StreamsE2ETest : public SharedAgentTest<StreamsE2ETest> {};

// Reads the Job topic's lines; returns the job IDs of JobRegistered events
// in the order they came, and fails on an index that goes backwards.
std::vector<std::string> RegisteredJobs(const std::vector<std::string>& lines) {
  std::vector<std::string> ids;
  std::uint64_t last_index = 0;
  for (const std::string& l : lines) {
    auto v = json::parse(l);
    const auto* events = v.as_object().if_contains("Events");
    if (events == nullptr) continue;  // a heartbeat
    const std::uint64_t index = v.at("Index").to_number<std::uint64_t>();
    EXPECT_GT(index, last_index) << "indexes must grow: " << l.substr(0, 200);
    last_index = index;
    for (const auto& e : events->as_array()) {
      if (e.at("Type").as_string() == "JobRegistered") ids.emplace_back(e.at("Key").as_string());
    }
  }
  return ids;
}

TEST_F(StreamsE2ETest, EventStreamDeliversAJournalLargerThanItsBuffersInOrderThenFollows) {
  HttpClient http = agent_->Client();
  for (int i = 0; i < kJobs; ++i) {
    auto r = http.Put("/v1/jobs", BigJob("big-" + std::to_string(i)));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->status, 200) << r->body;
  }

  StreamReader stream(agent_->port(), "/v1/event/stream?topic=Job&index=1");
  ASSERT_TRUE(stream.connected());
  ASSERT_TRUE(stream.ReadUntil(
      [](const std::vector<std::string>& lines) {
        return RegisteredJobs(lines).size() >= static_cast<std::size_t>(kJobs);
      },
      60s))
      << "got " << RegisteredJobs(stream.lines()).size() << " of " << kJobs;
  EXPECT_EQ(stream.status(), 200);

  std::vector<std::string> ids = RegisteredJobs(stream.lines());
  ASSERT_EQ(ids.size(), static_cast<std::size_t>(kJobs));
  for (int i = 0; i < kJobs; ++i) EXPECT_EQ(ids[i], "big-" + std::to_string(i));

  // Caught up, the same stream follows the next commit.
  ASSERT_EQ(http.Put("/v1/jobs", BigJob("after"))->status, 200);
  ASSERT_TRUE(stream.ReadUntil(
      [](const std::vector<std::string>& lines) {
        auto got = RegisteredJobs(lines);
        return !got.empty() && got.back() == "after";
      },
      30s));
  EXPECT_EQ(RegisteredJobs(stream.lines()).size(), static_cast<std::size_t>(kJobs) + 1);
}

}  // namespace
}  // namespace drover::testing
