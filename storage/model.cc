#include "storage/model.h"

namespace drover {

const TaskGroup* GroupOf(const Allocation& alloc) {
  if (!alloc.Job) return nullptr;
  for (const TaskGroup& tg : alloc.Job->TaskGroups) {
    if (tg.Name == alloc.TaskGroup) return &tg;
  }
  return nullptr;
}

const Task* TaskOf(const Allocation& alloc, const std::string& task) {
  const TaskGroup* group = GroupOf(alloc);
  if (group == nullptr) return nullptr;
  for (const Task& t : group->Tasks) {
    if (t.Name == task) return &t;
  }
  return nullptr;
}

Event MakeEvent(const std::string& topic, const std::string& type, const std::string& key,
                const std::string& ns, const std::string& object_json,
                std::vector<std::string> filter_keys) {
  Event e;
  e.Topic = topic;
  e.Type = type;
  e.Key = key;
  e.Namespace = ns;
  e.FilterKeys = std::move(filter_keys);
  e.Payload.text = "{\"" + topic + "\":" + object_json + "}";
  return e;
}

AllocListStub MakeAllocListStub(const Allocation& a) {
  AllocListStub s;
  s.ID = a.ID;
  s.EvalID = a.EvalID;
  s.Name = a.Name;
  s.Namespace = a.Namespace;
  s.NodeID = a.NodeID;
  s.NodeName = a.NodeName;
  s.JobID = a.JobID;
  if (a.Job) {
    s.JobType = a.Job->Type;
    s.JobVersion = a.Job->Version;
  }
  s.TaskGroup = a.TaskGroup;
  s.AllocatedResources = a.AllocatedResources;
  s.DesiredStatus = a.DesiredStatus;
  s.DesiredDescription = a.DesiredDescription;
  s.DesiredTransition = a.DesiredTransition;
  s.ClientStatus = a.ClientStatus;
  s.ClientDescription = a.ClientDescription;
  s.TaskStates = a.TaskStates;
  s.DeploymentStatus = a.DeploymentStatus;
  s.FollowupEvalID = a.FollowupEvalID;
  s.NextAllocation = a.NextAllocation;
  s.PreviousAllocation = a.PreviousAllocation;
  s.RescheduleTracker = a.RescheduleTracker;
  s.PreemptedAllocations = a.PreemptedAllocations;
  s.PreemptedByAllocation = a.PreemptedByAllocation;
  s.CreateIndex = a.CreateIndex;
  s.ModifyIndex = a.ModifyIndex;
  s.CreateTime = a.CreateTime;
  s.ModifyTime = a.ModifyTime;
  return s;
}

}  // namespace drover
