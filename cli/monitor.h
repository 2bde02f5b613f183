// Following an evaluation and the allocations it placed, as `nomad job run`
// does without -detach: the evaluation's lines, then its deployment until
// it ends (a job with an update block), or else the allocations until each
// is running (service) or finished (batch), or one fails. On a terminal
// the table is redrawn in place; otherwise each change is printed.
#pragma once

#include <string>

#include "cli/meta.h"

namespace drover::cli {

// Exit code: 0 done, 1 an allocation or the deployment failed or an error, 2 placement
// failures (Nomad's "Evaluation ... finished with status ... but failed to
// place all allocations").
int MonitorEvaluation(Meta& meta, const std::string& eval_id, bool follow_allocs);

// The end of a command that created an evaluation: with `detach` (or no
// evaluation) prints `before_id` and the ID and returns 0, else follows it.
int AfterEvaluation(Meta& meta, const std::string& eval_id, bool detach, bool follow_allocs,
                    const std::string& before_id);

}  // namespace drover::cli
