#include "service/evals.h"

#include "common/uuid.h"
#include "storage/codec.h"

namespace drover {

Evaluation CompleteEval(const Job& job, const std::string& triggered_by, std::uint64_t index,
                        Nanos now) {
  Evaluation e;
  e.ID = NewUUID();
  e.Namespace = job.Namespace;
  e.Priority = job.Priority;
  e.Type = job.Type;
  e.TriggeredBy = triggered_by;
  e.JobID = job.ID;
  e.JobModifyIndex = job.ModifyIndex;
  e.Status = "complete";
  e.CreateIndex = e.ModifyIndex = e.SnapshotIndex = index;
  e.CreateTime = e.ModifyTime = now;
  return e;
}

void PutEvalWithEvent(WriteTxn& txn, const Evaluation& eval) {
  txn.PutEval(eval);
  txn.AddEvent(MakeEvent("Evaluation", "EvaluationUpdated", eval.ID, eval.Namespace,
                         EncodeJson(eval), {eval.JobID}));
}

}  // namespace drover
