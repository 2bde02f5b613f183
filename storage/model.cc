#include "storage/model.h"

namespace drover {

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
