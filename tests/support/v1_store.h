// A Drover schema-v1 state store, written as the v1 binary wrote it, for
// the migration tests. v1 had no `eval_create` index: an evaluation was
// only its entry in `evals` (<eval id> -> Evaluation JSON).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "storage/model.h"

namespace drover::testing {

struct V1Contents {
  std::vector<Job> jobs;
  std::vector<Evaluation> evals;
  std::vector<Allocation> allocs;
};

// Creates a v1 store in `dir` holding `contents`, every object written in
// v1's layout directly (allocations embed their Job, as up to v3).
Status WriteV1Store(const std::string& dir, const V1Contents& contents);

}  // namespace drover::testing
