#include "service/evals.h"

#include "common/uuid.h"
#include "storage/codec.h"

namespace drover {

Event EvaluationEvent(const Evaluation& e) {
  return MakeEvent("Evaluation", "EvaluationUpdated", e.ID, e.Namespace, EncodeJson(e), {e.JobID});
}

void PutAllocWithEvent(WriteTxn& txn, const Allocation& a) {
  txn.PutAlloc(a);
  txn.AddEvent(AllocationEvent("PlanResult", a));
}

void PutEvalWithEvent(WriteTxn& txn, const Evaluation& e) {
  txn.PutEval(e);
  txn.AddEvent(EvaluationEvent(e));
}

Evaluation NewEval(const Job& job, const char* triggered_by, std::uint64_t index, Nanos now,
                   const std::string& node_id) {
  Evaluation e;
  e.ID = NewUUID();
  e.Namespace = job.Namespace;
  e.Priority = job.Priority;
  e.Type = job.Type;
  e.TriggeredBy = triggered_by;
  e.JobID = job.ID;
  e.JobModifyIndex = job.JobModifyIndex;
  e.NodeID = node_id;
  e.Status = "complete";
  e.CreateIndex = e.ModifyIndex = e.SnapshotIndex = index;
  e.CreateTime = e.ModifyTime = now;
  return e;
}

Evaluation CompleteEval(const Job& job, const std::string& triggered_by, std::uint64_t index,
                        Nanos now) {
  return NewEval(job, triggered_by.c_str(), index, now, "");
}

}  // namespace drover
