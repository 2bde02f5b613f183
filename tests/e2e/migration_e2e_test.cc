// A data dir written by a schema-v1 Drover is served unchanged by this one.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>

#include "storage/codec.h"
#include "tests/support/agent_process.h"
#include "tests/support/http_client.h"
#include "tests/support/v1_store.h"

namespace drover {
namespace {

namespace json = boost::json;
using testing::AgentProcess;

Evaluation Eval(const std::string& id, std::uint64_t index) {
  Evaluation e;
  e.ID = id;
  e.Namespace = "default";
  e.JobID = "web";
  e.Type = "service";
  e.TriggeredBy = "job-register";
  e.Status = "complete";
  e.CreateIndex = e.ModifyIndex = index;
  return e;
}

TEST(MigrationE2ETest, V1DataDirIsServedUnchangedAfterUpgrade) {
  auto agent = AgentProcess::Launch();
  ASSERT_TRUE(agent.ok()) << agent.status().ToString();
  ASSERT_TRUE((*agent)->Stop().ok());

  // Replace the state with what a v1 agent left: a stopped job, its
  // completed allocation and two evaluations created out of ID order.
  Job job;
  job.ID = job.Name = "web";
  job.Namespace = "default";
  job.Region = "global";
  job.Type = "service";
  job.Priority = 50;
  job.Stop = true;
  job.CreateIndex = job.ModifyIndex = job.JobModifyIndex = 1;
  Allocation alloc;
  alloc.ID = "5457f16d-0f87-8e6b-5e91-0c7da3a41eb7";
  alloc.Namespace = "default";
  alloc.JobID = "web";
  alloc.Job = job;
  alloc.Name = "web.g[0]";
  alloc.TaskGroup = "g";
  alloc.DesiredStatus = "stop";
  alloc.ClientStatus = "complete";
  alloc.CreateIndex = alloc.ModifyIndex = alloc.AllocModifyIndex = 1;
  std::vector<Evaluation> evals = {Eval("ffff0000-0000-4000-8000-000000000001", 1),
                                   Eval("0000ffff-0000-4000-8000-000000000002", 1)};
  evals[1].CreateIndex = evals[1].ModifyIndex = 2;
  std::filesystem::path state = (*agent)->data_dir() / "state";
  std::filesystem::remove_all(state);
  ASSERT_TRUE(testing::WriteV1Store(state.string(), {{job}, evals, {alloc}}).ok());

  ASSERT_TRUE((*agent)->Restart().ok()) << (*agent)->LogTail();
  testing::HttpClient http = (*agent)->Client();

  auto got = http.Get("/v1/allocation/" + alloc.ID);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->status, 200) << got->body;
  auto decoded = DecodeJson<Allocation>(got->body, "Allocation");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, alloc);

  auto list = http.Get("/v1/evaluations");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->status, 200) << list->body;
  json::value v = json::parse(list->body);
  ASSERT_EQ(v.as_array().size(), 2u);
  EXPECT_EQ(v.as_array()[0].at("ID").as_string(), evals[0].ID) << "chronological, not by ID";
  EXPECT_EQ(v.as_array()[1].at("ID").as_string(), evals[1].ID);

  auto j = http.Get("/v1/job/web");
  ASSERT_TRUE(j.ok());
  ASSERT_EQ(j->status, 200) << j->body;
  EXPECT_TRUE(json::parse(j->body).at("Stop").as_bool());
}

}  // namespace
}  // namespace drover
