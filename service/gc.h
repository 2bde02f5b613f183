// Garbage collection of allocation directories, as Nomad's client does it.
//
// Collecting an allocation destroys its directories (the allocation
// directory and its executors' directory); the allocation itself stays in
// the store and in every API answer. Only an allocation whose tasks are all
// dead (ClientStatus complete, failed or lost) is eligible.
//
// Besides the forced collections of the API, a collector thread keeps the
// number of allocation directories on disk at or below `max_allocs`
// (Nomad's gc_max_allocs), collecting the terminal allocations that
// finished longest ago first. It runs every `interval` and whenever it is
// kicked (an allocation became terminal).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/gotime.h"
#include "common/status.h"
#include "storage/model.h"
#include "storage/state_store.h"

namespace drover {

// Nomad's error for an allocation that is not eligible.
inline constexpr const char* kErrAllocNotEligibleForGC =
    "No such allocation on client, or allocation not eligible for GC";

struct GcOptions {
  std::string data_dir;
  std::size_t max_allocs = 50;  // Nomad's gc_max_allocs default
  Nanos interval = kMinute;     // Nomad's gc_interval default
};

// True if the allocation's tasks are all dead for good.
bool AllocGcEligible(const Allocation& alloc);

class AllocGarbageCollector {
 public:
  AllocGarbageCollector(StateStore& store, GcOptions options);
  ~AllocGarbageCollector();  // Stop()s
  AllocGarbageCollector(const AllocGarbageCollector&) = delete;
  AllocGarbageCollector& operator=(const AllocGarbageCollector&) = delete;

  void Start();
  void Stop();
  // Asks for a pass soon. Never blocks.
  void Kick();

  // GET /v1/client/allocation/:id/gc. NotFound for an unknown allocation,
  // Internal kErrAllocNotEligibleForGC for one that still runs or was
  // already collected.
  Status Collect(const std::string& alloc_id);
  // GET /v1/client/gc: every eligible allocation. Returns how many.
  Result<std::size_t> CollectAll();
  // One pass of the automatic collection. Returns how many were collected.
  Result<std::size_t> CollectOverLimit();

 private:
  // An allocation whose directory is still on disk.
  struct OnDisk {
    std::string id;
    Nanos modify_time = 0;
    bool eligible = false;  // AllocGcEligible
  };
  Result<std::vector<OnDisk>> ListOnDisk() const;
  bool HasDir(const std::string& alloc_id) const;
  Status Destroy(const std::string& alloc_id, const char* reason);
  void Run();

  StateStore& store_;
  GcOptions options_;
  std::mutex collect_mu_;  // one collection at a time

  std::mutex mu_;
  std::condition_variable wake_;
  bool kicked_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace drover
