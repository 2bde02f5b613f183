// WatchSource: how a layer above the store learns that what it read may
// have changed, without holding the store. The service layer implements it
// (Queries, service/queries.h); the blocking queries (api/blocking.h) and
// the event stream wait through it.
#pragma once

#include <cstdint>
#include <functional>

#include "storage/watch.h"

namespace drover {

class WatchSource {
 public:
  virtual ~WatchSource() = default;
  // The highest index of `spec`'s tables: a result computed after reading
  // this reflects every change up to it.
  virtual std::uint64_t Floor(const WatchSpec& spec) const = 0;
  // Calls `fired` once when a change of `spec` lands above `floor`: from
  // the committing thread, or from this call if one already has. The
  // callback must only hand work over (post it), never block. Returns 0
  // when it fired within the call.
  virtual WatchId Watch(const WatchSpec& spec, std::uint64_t floor,
                        std::function<void()> fired) = 0;
  // Drops a watch that has not fired; a no-op once it has.
  virtual void CancelWatch(WatchId id) = 0;
};

}  // namespace drover
