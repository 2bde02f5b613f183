// `drover state check`: the invariants of a state store, verified on a
// (read-only) store and reported in words a person can act on.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "storage/state_store.h"

namespace drover {

struct CheckReport {
  struct Invariant {
    std::string name;                   // what must hold
    std::vector<std::string> problems;  // empty: it holds
  };
  std::vector<Invariant> invariants;

  bool ok() const;
  // One line per invariant ("ok" / "FAILED"), problems indented below it.
  std::string Format() const;
};

// Checks, against the store and its event journal:
//  - every allocation's job exists, unless the journal records its purge;
//  - the global index is >= every object's ModifyIndex and every table
//    index; each table index equals the largest ModifyIndex in its table
//    (or, after a deletion, the journal's latest change of that table);
//  - every object equals the one rebuilt from the journal, so task states
//    match the latest journal event of their allocation;
//  - every task_local entry belongs to an existing allocation and task;
//  - both allocation listing indexes (by creation, by job) cover every
//    allocation.
// An error is returned only when the store cannot be read at all.
Result<CheckReport> CheckState(const StateStore& store);

}  // namespace drover
