// Evaluations the scheduler side writes: Drover plans while it writes, so
// an evaluation is created complete, with its journal event.
#pragma once

#include <string>

#include "storage/model.h"
#include "storage/state_store.h"

namespace drover {

// A complete evaluation of `job` created at `index`.
Evaluation CompleteEval(const Job& job, const std::string& triggered_by, std::uint64_t index,
                        Nanos now);

// Writes the evaluation and its EvaluationUpdated journal event.
void PutEvalWithEvent(WriteTxn& txn, const Evaluation& eval);

}  // namespace drover
