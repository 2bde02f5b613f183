// `drover state check`: the invariants of a state store, verified on a
// (read-only) store and reported in words a person can act on.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/state_store.h"

namespace drover {

struct CheckReport {
  struct Problem {
    std::string key;          // the object ("allocation <id>", "table allocs", ...)
    std::uint64_t index = 0;  // where it first shows: the index of the change
                              // that wrote the offending object (0: unknown)
    std::string text;
  };
  struct Invariant {
    std::string name;               // what must hold
    std::vector<Problem> problems;  // empty: it holds
  };
  std::vector<Invariant> invariants;
  // The journal could not be read; its invariant says why.
  bool journal_unreadable = false;

  bool ok() const;
  // One line per invariant ("ok" / "FAILED"), problems indented below it
  // with their index.
  std::string Format() const;
};

// Called with what the check is doing now ("replaying the journal"), for a
// progress line on a terminal.
using CheckProgress = std::function<void(const std::string& phase)>;

// Checks, against the store and its event journal, in one pass over each
// table and one over the journal (linear in both):
//  - every allocation's job exists, unless the journal records its purge;
//  - the global index is >= every object's ModifyIndex and every table
//    index; each table index equals the largest ModifyIndex in its table
//    (or, after a deletion, the journal's latest change of that table);
//  - every object equals the one rebuilt from the journal, so task states
//    match the latest journal event of their allocation;
//  - every task_local entry belongs to an existing allocation and task;
//  - both allocation listing indexes (by creation, by job) cover every
//    allocation.
// An error is returned only when the store's tables cannot be read.
Result<CheckReport> CheckState(const StateStore& store, const CheckProgress& progress = {});

}  // namespace drover
