// Where the engine's allocations come from and where their task states go.
//
// The engine does not read or write the state store itself: it takes its
// allocations from an AllocationSource and reports task states through an
// UpdateSink. Today one adapter implements both over the local StateStore
// (the local planner places allocations there); a Nomad client would
// implement them over Node.GetClientAllocs and Node.UpdateAlloc instead
// (docs/scale-out.md). The source tells the engine of changed allocations
// by calling Engine::AllocsUpdated.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/gotime.h"
#include "common/status.h"
#include "storage/model.h"

namespace drover {

class StateStore;

class AllocationSource {
 public:
  virtual ~AllocationSource() = default;
  // The allocation with its job; empty once it is gone (purged).
  virtual Result<std::optional<Allocation>> GetAlloc(const std::string& id) = 0;
  // The allocations the restore at start looks at, in placement order:
  // at least every one whose ClientStatus is not terminal, each with its
  // job. More is allowed (the engine keeps those AllocNeedsRunner wants),
  // but on a node with many finished allocations a source should leave
  // them out: they need no runner, and decoding them all is what made
  // start-up slow and big.
  virtual Result<std::vector<Allocation>> ListAllocsToRestore() = 0;
  // A task's local state (the engine's own record, see TaskLocalState) as
  // the last update wrote it.
  virtual Result<std::optional<std::string>> GetTaskLocal(const std::string& alloc_id,
                                                          const std::string& task) = 0;
};

// What changed about one allocation in one loop turn.
struct AllocUpdate {
  std::string alloc_id;
  std::map<std::string, TaskState> states;  // every task's state
  std::string client_status;
  std::string client_description;
  Nanos modify_time = 0;
  // (task, encoded TaskLocalState) for the tasks that changed.
  std::vector<std::pair<std::string, std::string>> task_locals;
};

class UpdateSink {
 public:
  virtual ~UpdateSink() = default;
  // Records every update durably, all or none, in one write. Returns one
  // status per update: OK, NotFound for an allocation that is gone (its
  // update is dropped, the others are written), or the write's error.
  virtual std::vector<Status> Commit(const std::vector<AllocUpdate>& updates) = 0;
};

// Both over the local StateStore: one synced batch per Commit, an
// "AllocationUpdated" journal event per allocation.
class StoreAllocBackend : public AllocationSource, public UpdateSink {
 public:
  explicit StoreAllocBackend(StateStore& store) : store_(store) {}
  Result<std::optional<Allocation>> GetAlloc(const std::string& id) override;
  // Reads only the list stubs to choose, then the chosen allocations.
  Result<std::vector<Allocation>> ListAllocsToRestore() override;
  Result<std::optional<std::string>> GetTaskLocal(const std::string& alloc_id,
                                                  const std::string& task) override;
  std::vector<Status> Commit(const std::vector<AllocUpdate>& updates) override;
  // Number of Commit calls that wrote (for tests and stats).
  std::uint64_t commits() const { return commits_; }

 private:
  StateStore& store_;
  std::uint64_t commits_ = 0;
};

}  // namespace drover
