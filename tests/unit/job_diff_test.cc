// Nomad's JobDiff shape from service/job_diff.h.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "service/job_diff.h"

namespace drover {
namespace {

Job BaseJob() {
  Job job;
  job.ID = job.Name = "web";
  job.Namespace = "default";
  job.Type = kJobTypeService;
  job.Priority = 50;
  job.Datacenters = {"dc1"};
  TaskGroup tg;
  tg.Name = "g";
  tg.Count = 1;
  tg.RestartPolicy = RestartPolicy{2, 1800, 15, "fail", false};
  Task t;
  t.Name = "t";
  t.Driver = "raw_exec";
  t.Config.text = R"({"command":"/bin/sleep","args":["600"]})";
  t.KillTimeout = 5;
  tg.Tasks.push_back(t);
  job.TaskGroups.push_back(tg);
  return job;
}

const FieldDiff* FindField(const std::vector<FieldDiff>& fields, const std::string& name) {
  for (const FieldDiff& f : fields) {
    if (f.Name == name) return &f;
  }
  return nullptr;
}

const ObjectDiff* FindObject(const std::vector<ObjectDiff>& objects, const std::string& name) {
  for (const ObjectDiff& o : objects) {
    if (o.Name == name) return &o;
  }
  return nullptr;
}

TEST(JobDiffTest, SameJobIsNone) {
  Job a = BaseJob(), b = BaseJob();
  b.Version = 3;  // filtered, as Nomad filters it
  b.ModifyIndex = 99;
  JobDiff d = DiffJobs(&a, &b);
  EXPECT_EQ(d.Type, kDiffNone);
  EXPECT_TRUE(d.Fields.empty());
  ASSERT_EQ(d.TaskGroups.size(), 1u);
  EXPECT_EQ(d.TaskGroups[0].Type, kDiffNone);
}

TEST(JobDiffTest, NewJobIsAdded) {
  Job b = BaseJob();
  JobDiff d = DiffJobs(nullptr, &b);
  EXPECT_EQ(d.Type, kDiffAdded);
  EXPECT_EQ(d.ID, "web");
  const FieldDiff* priority = FindField(d.Fields, "Priority");
  ASSERT_NE(priority, nullptr);
  EXPECT_EQ(priority->Type, kDiffAdded);
  EXPECT_EQ(priority->New, "50");
  ASSERT_EQ(d.TaskGroups.size(), 1u);
  EXPECT_EQ(d.TaskGroups[0].Type, kDiffAdded);
  ASSERT_EQ(d.TaskGroups[0].Tasks.size(), 1u);
  EXPECT_EQ(d.TaskGroups[0].Tasks[0].Type, kDiffAdded);
}

TEST(JobDiffTest, CountAndConfigEditsWithAnnotations) {
  Job a = BaseJob(), b = BaseJob();
  b.TaskGroups[0].Count = 3;
  b.TaskGroups[0].Tasks[0].Config.text = R"({"command":"/bin/sleep","args":["700"]})";
  b.Meta = StringMap{{"owner", "ops"}};
  JobDiff d = DiffJobs(&a, &b);
  EXPECT_EQ(d.Type, kDiffEdited);
  const FieldDiff* meta = FindField(d.Fields, "Meta[owner]");
  ASSERT_NE(meta, nullptr);
  EXPECT_EQ(meta->Type, kDiffAdded);

  const TaskGroupDiff& g = d.TaskGroups[0];
  EXPECT_EQ(g.Type, kDiffEdited);
  const FieldDiff* count = FindField(g.Fields, "Count");
  ASSERT_NE(count, nullptr);
  EXPECT_EQ(count->Type, kDiffEdited);
  EXPECT_EQ(count->Old, "1");
  EXPECT_EQ(count->New, "3");

  const TaskDiff& t = g.Tasks[0];
  EXPECT_EQ(t.Type, kDiffEdited);
  const ObjectDiff* config = FindObject(t.Objects, "Config");
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->Type, kDiffEdited);
  const FieldDiff* arg = FindField(config->Fields, "args[0]");
  ASSERT_NE(arg, nullptr);
  EXPECT_EQ(arg->Old, "600");
  EXPECT_EQ(arg->New, "700");
  // Contextual: the unchanged key is listed as None.
  const FieldDiff* command = FindField(config->Fields, "command");
  ASSERT_NE(command, nullptr);
  EXPECT_EQ(command->Type, kDiffNone);

  DesiredUpdates u;
  u.Place = 2;
  u.DestructiveUpdate = 1;
  AnnotateDiff(d, {{"g", u}});
  EXPECT_EQ(d.TaskGroups[0].Updates.at("create"), 2u);
  EXPECT_EQ(d.TaskGroups[0].Updates.at("create/destroy update"), 1u);
  EXPECT_EQ(FindField(d.TaskGroups[0].Fields, "Count")->Annotations,
            std::vector<std::string>{"forces create"});
  EXPECT_EQ(d.TaskGroups[0].Tasks[0].Annotations,
            std::vector<std::string>{"forces create/destroy update"});
}

TEST(JobDiffTest, KillTimeoutAloneIsAnInPlaceUpdate) {
  Job a = BaseJob(), b = BaseJob();
  b.TaskGroups[0].Tasks[0].KillTimeout = 10;
  JobDiff d = DiffJobs(&a, &b);
  AnnotateDiff(d, {});
  EXPECT_EQ(d.TaskGroups[0].Tasks[0].Annotations,
            std::vector<std::string>{"forces in-place update"});
}

TEST(JobDiffTest, ObjectDiffsAndJsonShape) {
  Job a = BaseJob(), b = BaseJob();
  b.TaskGroups[0].RestartPolicy->Attempts = 5;
  b.Datacenters = {"dc1", "dc2"};
  JobDiff d = DiffJobs(&a, &b);
  const ObjectDiff* dcs = FindObject(d.Objects, "Datacenters");
  ASSERT_NE(dcs, nullptr);
  EXPECT_EQ(dcs->Type, kDiffAdded);
  const ObjectDiff* restart = FindObject(d.TaskGroups[0].Objects, "RestartPolicy");
  ASSERT_NE(restart, nullptr);
  EXPECT_EQ(restart->Type, kDiffEdited);
  EXPECT_EQ(FindField(restart->Fields, "Attempts")->Old, "2");
  EXPECT_EQ(FindField(restart->Fields, "Mode")->Type, kDiffNone);

  boost::json::value v = JobDiffJson(d);
  const auto& o = v.as_object();
  EXPECT_EQ(o.at("Type").as_string(), "Edited");
  EXPECT_EQ(o.at("ID").as_string(), "web");
  EXPECT_TRUE(o.at("Fields").is_null());  // no primitive change at the top
  const auto& group = o.at("TaskGroups").as_array()[0].as_object();
  EXPECT_EQ(group.at("Name").as_string(), "g");
  EXPECT_TRUE(group.contains("Updates"));
  EXPECT_TRUE(group.at("Tasks").as_array()[0].as_object().contains("Annotations"));
}

}  // namespace
}  // namespace drover
