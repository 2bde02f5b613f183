// The migration steps a store of an earlier schema version was written
// with: every step before the one under test, wherever later steps come.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "migrations/migrations.h"

namespace drover::testing {

// migrations::All() up to, not including, the step whose description is
// `description` (all of them if there is none).
inline std::vector<Migration> StepsBefore(const std::string& description) {
  std::vector<Migration> steps = migrations::All();
  auto it = std::find_if(steps.begin(), steps.end(),
                         [&](const Migration& m) { return m.description == description; });
  steps.erase(it, steps.end());
  return steps;
}

// The schema version a store written by StepsBefore(description) has.
inline int VersionBefore(const std::string& description) {
  std::vector<Migration> steps = StepsBefore(description);
  return steps.empty() ? 0 : steps.back().to_version;
}

}  // namespace drover::testing
