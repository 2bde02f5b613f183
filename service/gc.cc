#include "service/gc.h"

#include <algorithm>
#include <filesystem>

#include "common/log.h"
#include "lifecycle/alloc_dir.h"

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

Status AllocGarbageCollector::Destroy(const Allocation& alloc, const char* reason) {
  RETURN_IF_ERROR(DestroyAllocDir(options_.data_dir, alloc.ID));
  log::Info("gc: destroyed the directory of alloc " + alloc.ID + " (" + reason + ")");
  return Status::Ok();
}

Status AllocGarbageCollector::Collect(const std::string& alloc_id) {
  std::lock_guard<std::mutex> lock(collect_mu_);
  ASSIGN_OR_RETURN(std::optional<Allocation> alloc, store_.GetAlloc(alloc_id));
  if (!alloc) return NotFound("Unknown allocation \"" + alloc_id + "\"");
  if (!AllocGcEligible(*alloc) || !HasDir(alloc_id)) return Internal(kErrAllocNotEligibleForGC);
  return Destroy(*alloc, "forced collection");
}

Result<std::size_t> AllocGarbageCollector::CollectAll() {
  std::lock_guard<std::mutex> lock(collect_mu_);
  ASSIGN_OR_RETURN(std::vector<Allocation> allocs, store_.ListAllocs());
  std::size_t collected = 0;
  for (const Allocation& a : allocs) {
    if (!AllocGcEligible(a) || !HasDir(a.ID)) continue;
    RETURN_IF_ERROR(Destroy(a, "forced full node collection"));
    ++collected;
  }
  return collected;
}

Result<std::size_t> AllocGarbageCollector::CollectOverLimit() {
  std::lock_guard<std::mutex> lock(collect_mu_);
  ASSIGN_OR_RETURN(std::vector<Allocation> allocs, store_.ListAllocs());
  std::size_t on_disk = 0;
  std::vector<const Allocation*> eligible;
  for (const Allocation& a : allocs) {
    if (!HasDir(a.ID)) continue;
    ++on_disk;
    if (AllocGcEligible(a)) eligible.push_back(&a);
  }
  // Oldest first: the allocations that finished longest ago.
  std::sort(eligible.begin(), eligible.end(), [](const Allocation* x, const Allocation* y) {
    return x->ModifyTime < y->ModifyTime;
  });
  std::size_t collected = 0;
  for (const Allocation* a : eligible) {
    if (on_disk <= options_.max_allocs) break;
    RETURN_IF_ERROR(Destroy(*a, "number of allocations exceeds gc_max_allocs"));
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
