#include "lifecycle/alloc_backend.h"

#include "storage/alloc_record.h"
#include "storage/codec.h"
#include "storage/state_store.h"

namespace drover {

Result<std::optional<Allocation>> StoreAllocBackend::GetAlloc(const std::string& id) {
  return store_.GetAlloc(id);
}

Result<std::vector<Allocation>> StoreAllocBackend::ListAllocsToRestore() {
  // The stubs first (one small segment each), then the full records of the
  // few that may still run: a node's history of finished allocations costs
  // a scan, not a decode and a copy of its job each.
  std::vector<std::string> ids;
  Status bad;
  RETURN_IF_ERROR(store_.ScanAllocStubs(false, nullptr, [&](const StateStore::StubEntry& e) {
    auto status = ReadStubStatus(e.stub);
    if (!status.ok()) {
      bad = status.status().Annotate("allocation " + std::string(e.id));
      return false;
    }
    if (!ClientTerminal(status->client_status)) ids.emplace_back(e.id);
    return true;
  }));
  RETURN_IF_ERROR(bad);
  std::vector<Allocation> out;
  out.reserve(ids.size());
  for (const std::string& id : ids) {
    ASSIGN_OR_RETURN(std::optional<Allocation> alloc, store_.GetAlloc(id));
    if (alloc) out.push_back(std::move(*alloc));
  }
  return out;
}

Result<std::optional<std::string>> StoreAllocBackend::GetTaskLocal(const std::string& alloc_id,
                                                                   const std::string& task) {
  return store_.GetTaskLocal(alloc_id, task);
}

std::vector<Status> StoreAllocBackend::Commit(const std::vector<AllocUpdate>& updates) {
  std::vector<Status> out(updates.size(), Status::Ok());
  bool any = false;
  auto result = store_.Apply([&](WriteTxn& txn) -> Status {
    any = false;
    for (std::size_t i = 0; i < updates.size(); ++i) {
      const AllocUpdate& u = updates[i];
      // Read inside the change so that a concurrent scheduler update (a
      // stop) is kept, not overwritten. The Job is neither read nor
      // written: the record keeps its reference to the job version.
      ASSIGN_OR_RETURN(std::optional<StoredAlloc> stored, store_.GetAllocWithoutJob(u.alloc_id));
      if (!stored) {
        out[i] = NotFound("alloc purged");
        continue;
      }
      out[i] = Status::Ok();
      Allocation* current = &stored->alloc;
      current->TaskStates = u.states;
      current->ClientStatus = u.client_status;
      current->ClientDescription = u.client_description;
      current->ModifyIndex = txn.index();
      current->ModifyTime = u.modify_time;
      txn.PutAllocWithoutJob(*stored);
      for (const auto& [task, json] : u.task_locals) txn.PutTaskLocal(u.alloc_id, task, json);
      txn.AddEvent(AllocationEvent("AllocationUpdated", *current));
      any = true;
    }
    // Nothing left to write: commit nothing (no index is used up).
    if (!any) return NotFound("every allocation purged");
    return Status::Ok();
  });
  if (result.ok()) {
    ++commits_;
  } else if (any || result.status().code() != StatusCode::kNotFound) {
    for (Status& st : out) st = result.status();
  }
  return out;
}

}  // namespace drover
