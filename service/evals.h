// Writing evaluations and allocations the way every scheduler path does:
// a completed evaluation for a job, and each write with its journal event.
#pragma once

#include <cstdint>
#include <string>

#include "storage/model.h"
#include "storage/state_store.h"

namespace drover {

// A completed evaluation of `job` (Nomad's fields), created at `index`.
Evaluation NewEval(const Job& job, const char* triggered_by, std::uint64_t index, Nanos now,
                   const std::string& node_id);

Event EvaluationEvent(const Evaluation& e);

// NewEval without a node: the evaluations of job-level requests (scale,
// evaluate).
Evaluation CompleteEval(const Job& job, const std::string& triggered_by, std::uint64_t index,
                        Nanos now);

// Writes the allocation with its "PlanResult" journal event.
void PutAllocWithEvent(WriteTxn& txn, const Allocation& a);

// Writes the evaluation with its journal event.
void PutEvalWithEvent(WriteTxn& txn, const Evaluation& e);

}  // namespace drover
