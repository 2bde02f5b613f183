// A data dir written by a real schema-v3 Drover (the baseline build, when
// the machine has one) is migrated to v4 and served byte for byte as the
// v3 agent served it.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>

#include "tests/support/agent_process.h"
#include "tests/support/http_client.h"

namespace drover {
namespace {

namespace json = boost::json;
using testing::AgentOptions;
using testing::AgentProcess;

// The v3 build to write the store; the test is skipped without it.
constexpr const char* kV3Binary = "/work/baseline/drover";

std::string JobBody(const std::string& command, int count) {
  json::object task{{"Name", "t"},
                    {"Driver", "raw_exec"},
                    {"Config", json::object{{"command", command}}},
                    {"Resources", json::object{{"CPU", 10}, {"MemoryMB", 10}}}};
  json::object group{{"Name", "g"}, {"Count", count}, {"Tasks", json::array{task}}};
  return json::serialize(json::object{
      {"Job", json::object{{"ID", "web"}, {"Type", "batch"}, {"Datacenters", json::array{"dc1"}},
                           {"TaskGroups", json::array{group}}}}});
}

struct Served {
  std::string list;
  std::string list_resources;
  std::vector<std::pair<std::string, std::string>> allocs;  // id, body
  std::string versions_job;
};

Served Read(testing::HttpClient& http) {
  Served out;
  auto list = http.Get("/v1/allocations");
  EXPECT_TRUE(list.ok() && list->status == 200);
  if (!list.ok()) return out;
  out.list = list->body;
  auto res = http.Get("/v1/allocations?resources=true&task_states=false");
  if (res.ok()) out.list_resources = res->body;
  auto parsed = testing::ParseJson(out.list);
  if (!parsed.ok()) return out;
  for (const auto& stub : parsed->as_array()) {
    std::string id(stub.at("ID").as_string());
    auto one = http.Get("/v1/allocation/" + id);
    EXPECT_TRUE(one.ok() && one->status == 200);
    if (one.ok()) out.allocs.emplace_back(id, one->body);
  }
  return out;
}

TEST(SchemaV4E2ETest, RealV3DataDirIsServedByteForByteAfterMigration) {
  if (!std::filesystem::exists(kV3Binary)) GTEST_SKIP() << "no v3 build at " << kV3Binary;
  AgentOptions old_options;
  old_options.binary = kV3Binary;
  auto old_agent = AgentProcess::Launch(old_options);
  ASSERT_TRUE(old_agent.ok()) << old_agent.status().ToString();
  auto http = (*old_agent)->Client(std::chrono::seconds(30));
  // Two versions of a batch job whose tasks finish at once, so nothing is
  // left running when the store moves to the new agent.
  auto settled = [&](std::size_t complete) {
    return testing::WaitFor(
        [&] {
          auto r = http.Get("/v1/allocations");
          if (!r.ok() || r->body.find("\"pending\"") != std::string::npos ||
              r->body.find("\"running\"") != std::string::npos) {
            return false;
          }
          std::size_t n = 0;
          for (std::size_t at = 0; (at = r->body.find("\"ClientStatus\":\"complete\"", at)) !=
                                   std::string::npos;
               ++at) {
            ++n;
          }
          return n >= complete;
        },
        std::chrono::seconds(30));
  };
  ASSERT_EQ(http.Put("/v1/jobs", JobBody("/bin/true", 2))->status, 200);
  ASSERT_TRUE(settled(2));
  ASSERT_EQ(http.Put("/v1/jobs", JobBody("/usr/bin/true", 1))->status, 200);
  ASSERT_TRUE(settled(3));
  // What v3 served, after a restart (its restore is part of the state).
  ASSERT_TRUE((*old_agent)->Stop().ok());
  ASSERT_TRUE((*old_agent)->Restart().ok());
  Served before = Read(http);
  ASSERT_GE(before.allocs.size(), 3u);
  ASSERT_TRUE((*old_agent)->Stop().ok());

  const std::filesystem::path old_state = (*old_agent)->data_dir() / "state";
  AgentOptions new_options;
  new_options.prepare_data_dir = [&](const std::filesystem::path& dir) -> Status {
    std::error_code ec;
    std::filesystem::copy(old_state, dir / "state", std::filesystem::copy_options::recursive, ec);
    return ec ? Internal("copy the v3 store: " + ec.message()) : Status::Ok();
  };
  auto agent = AgentProcess::Launch(new_options);
  ASSERT_TRUE(agent.ok()) << agent.status().ToString();
  auto http4 = (*agent)->Client(std::chrono::seconds(30));
  Served after = Read(http4);
  EXPECT_EQ(after.list, before.list);
  EXPECT_EQ(after.list_resources, before.list_resources);
  ASSERT_EQ(after.allocs.size(), before.allocs.size());
  for (std::size_t i = 0; i < before.allocs.size(); ++i) {
    EXPECT_EQ(after.allocs[i], before.allocs[i]);
  }
}

}  // namespace
}  // namespace drover
