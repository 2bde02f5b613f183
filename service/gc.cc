#include "service/gc.h"

#include <algorithm>
#include <filesystem>

#include "common/log.h"
#include "lifecycle/alloc_dir.h"
#include "storage/alloc_record.h"

namespace drover {

bool AllocGcEligible(const Allocation& alloc) {
  if (!ClientTerminal(alloc.ClientStatus)) return false;
  if (!alloc.TaskStates) return true;
  return std::all_of(alloc.TaskStates->begin(), alloc.TaskStates->end(),
                     [](const auto& kv) { return kv.second.State == kTaskStateDead; });
}

AllocGarbageCollector::AllocGarbageCollector(StateStore& store, GcOptions options)
    : store_(store), options_(std::move(options)) {}

AllocGarbageCollector::~AllocGarbageCollector() { Stop(); }

void AllocGarbageCollector::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
}

void AllocGarbageCollector::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AllocGarbageCollector::Kick() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    kicked_ = true;
  }
  wake_.notify_all();
}

bool AllocGarbageCollector::HasDir(const std::string& alloc_id) const {
  std::error_code ec;
  return std::filesystem::exists(AllocDirOf(options_.data_dir, alloc_id), ec);
}

Status AllocGarbageCollector::Destroy(const std::string& alloc_id, const char* reason) {
  RETURN_IF_ERROR(DestroyAllocDir(options_.data_dir, alloc_id));
  log::Info("gc: destroyed the directory of alloc " + alloc_id + " (" + reason + ")");
  return Status::Ok();
}

Status AllocGarbageCollector::Collect(const std::string& alloc_id) {
  std::lock_guard<std::mutex> lock(collect_mu_);
  ASSIGN_OR_RETURN(std::optional<Allocation> alloc, store_.GetAlloc(alloc_id));
  if (!alloc) return NotFound("Unknown allocation \"" + alloc_id + "\"");
  if (!AllocGcEligible(*alloc) || !HasDir(alloc_id)) return Internal(kErrAllocNotEligibleForGC);
  return Destroy(alloc_id, "forced collection");
}

Result<std::vector<AllocGarbageCollector::OnDisk>> AllocGarbageCollector::ListOnDisk() const {
  // A node keeps the records of many more allocations than directories:
  // the stubs and a stat choose, and only an allocation with a directory
  // left is decoded (without its job).
  std::vector<OnDisk> out;
  Status error;
  RETURN_IF_ERROR(store_.ScanAllocStubs(false, nullptr, [&](const StateStore::StubEntry& e) {
    std::string id(e.id);
    if (!HasDir(id)) return true;
    auto status = ReadStubStatus(e.stub);
    if (!status.ok()) {
      error = status.status().Annotate("allocation " + id);
      return false;
    }
    OnDisk entry{id, status->modify_time, false};
    if (ClientTerminal(status->client_status)) {
      auto stored = store_.GetAllocWithoutJob(id);
      if (!stored.ok()) {
        error = stored.status();
        return false;
      }
      entry.eligible = *stored && AllocGcEligible((*stored)->alloc);
      if (*stored) entry.modify_time = (*stored)->alloc.ModifyTime;
    }
    out.push_back(std::move(entry));
    return true;
  }));
  RETURN_IF_ERROR(error);
  return out;
}

Result<std::size_t> AllocGarbageCollector::CollectAll() {
  std::lock_guard<std::mutex> lock(collect_mu_);
  ASSIGN_OR_RETURN(std::vector<OnDisk> on_disk, ListOnDisk());
  std::size_t collected = 0;
  for (const OnDisk& a : on_disk) {
    if (!a.eligible) continue;
    RETURN_IF_ERROR(Destroy(a.id, "forced full node collection"));
    ++collected;
  }
  return collected;
}

Result<std::size_t> AllocGarbageCollector::CollectOverLimit() {
  std::lock_guard<std::mutex> lock(collect_mu_);
  ASSIGN_OR_RETURN(std::vector<OnDisk> all, ListOnDisk());
  std::size_t on_disk = all.size();
  std::vector<const OnDisk*> eligible;
  for (const OnDisk& a : all) {
    if (a.eligible) eligible.push_back(&a);
  }
  // Oldest first: the allocations that finished longest ago.
  std::stable_sort(eligible.begin(), eligible.end(), [](const OnDisk* x, const OnDisk* y) {
    return x->modify_time < y->modify_time;
  });
  std::size_t collected = 0;
  for (const OnDisk* a : eligible) {
    if (on_disk <= options_.max_allocs) break;
    RETURN_IF_ERROR(Destroy(a->id, "number of allocations exceeds gc_max_allocs"));
    --on_disk;
    ++collected;
  }
  return collected;
}

void AllocGarbageCollector::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    wake_.wait_for(lock, std::chrono::nanoseconds(options_.interval),
                   [this] { return stopping_ || kicked_; });
    if (stopping_) return;
    kicked_ = false;
    lock.unlock();
    auto collected = CollectOverLimit();
    if (!collected.ok()) log::Error("gc: " + collected.status().ToString());
    lock.lock();
  }
}

}  // namespace drover
