// Variables, as Nomad's Variables RPCs and state store keep them
// (nomad/variables_endpoint.go, nomad/state/state_store_variables.go,
// nomad/locks.go): paths, check-and-set, and locks with a TTL.
//
// Every write is one store change that also journals a "Variable" event
// carrying the metadata only (Nomad's VariableEvent: {"Metadata": ...,
// "Deleted": ...}); Items never reach the journal or the log.
//
// Locks: an acquire sets Lock{ID, TTL, LockDelay} (defaults 15 s / 15 s;
// TTL between 10 s and 24 h). The holder renews within 2 x TTL; once that
// passes without a renewal the lock waits LockDelay more (nobody may take
// it, the holder may not renew) and is then removed by a write. An agent
// that starts re-arms a full 2 x TTL for every lock it finds, as a Nomad
// leader does.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/gotime.h"
#include "common/status.h"
#include "storage/namespace_model.h"
#include "storage/state_store.h"

namespace drover {

enum class VarOp { kSet, kCas, kDelete, kDeleteCas, kLockAcquire, kLockRelease };

// The outcome of a write that did not fail: either done (`output`: the
// written variable with the request's Items; empty for a delete) or a
// conflict (`conflict`: the variable as stored, Items included, or only its
// Namespace and Path, as Nomad's zero value, when there is none or it is
// locked by another holder).
struct VarApplyResult {
  std::optional<Variable> output;
  std::optional<Variable> conflict;
  std::uint64_t index = 0;  // the change's index (the latest, for a conflict)
};

// Runs `fn` after `delay` on some other thread (the agent's Timers, which
// stop before the service goes away).
using AfterFn = std::function<void(Nanos delay, std::function<void()> fn)>;

class VariableService {
 public:
  VariableService(StateStore& store, AfterFn after);
  ~VariableService();

  // Metadata of the variables of `ns` ("*": every namespace), by namespace
  // then path, whose path starts with `prefix`.
  Result<std::vector<VariableMeta>> List(const std::string& ns, const std::string& prefix) const;
  Result<std::optional<Variable>> Read(const std::string& ns, const std::string& path) const;
  // The variables table's index, at least 1.
  std::uint64_t Index() const;

  // Set, check-and-set (`var.Meta.ModifyIndex` is the expected index, 0:
  // must not exist), delete, delete-if-index, lock acquire and release,
  // with Nomad's checks and texts: InvalidArgument (400) for bad input,
  // NotFound "variable doesn't exist", AlreadyExists (409) "variable
  // doesn't hold a lock".
  Result<VarApplyResult> Apply(VarOp op, Variable var);

  // Extends the holder's lease: NotFound "variable doesn't exist";
  // AlreadyExists "variable doesn't hold a lock" or "attempting to modify
  // locked variable" (another holder, or the lease ran out).
  Result<VariableMeta> RenewLock(const std::string& ns, const std::string& path,
                                 const std::string& lock_id);

  // Arms the lease of every stored lock (agent start).
  Status RestoreLocks();

  // Nomad's ValidatePath.
  static Status ValidatePath(const std::string& path);

 private:
  struct Lease {
    std::string ns, path;
    Nanos ttl = 0, delay = 0;
    std::uint64_t generation = 0;  // bumped by each renewal
  };

  // Starts (or, if armed, keeps) the lease of `meta`'s lock.
  void Arm(const VariableMeta& meta);
  void Disarm(const std::string& lock_id);
  void Expired(const std::string& lock_id, std::uint64_t generation);
  // Removes the lock `lock_id` if it still holds `ns`/`path`.
  void Invalidate(const std::string& ns, const std::string& path, const std::string& lock_id);
  Result<std::uint64_t> Write(const Variable& v, bool deleted);

  StateStore& store_;
  AfterFn after_;
  std::mutex mu_;
  std::map<std::string, Lease> leases_;  // by lock ID
  std::uint64_t next_generation_ = 1;
};

}  // namespace drover
