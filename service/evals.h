// Writing evaluations and allocations the way every scheduler path does:
// a completed evaluation for a job, and each write with its journal event.
#pragma once

#include <cstdint>

#include "storage/model.h"
#include "storage/state_store.h"

namespace drover {

// A completed evaluation of `job` (Nomad's fields), created at `index`.
Evaluation NewEval(const Job& job, const char* triggered_by, std::uint64_t index, Nanos now,
                   const std::string& node_id);

Event EvaluationEvent(const Evaluation& e);

// Writes the allocation with its "PlanResult" journal event.
void PutAllocWithEvent(WriteTxn& txn, const Allocation& a);

// Writes the evaluation with its journal event.
void PutEvalWithEvent(WriteTxn& txn, const Evaluation& e);

}  // namespace drover
