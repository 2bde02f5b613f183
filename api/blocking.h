// Blocking queries (Nomad's `?index=N&wait=D`).
//
// A query whose result index has not passed `index` is parked: its
// ResponseWriter is moved out of the Pistache worker (which goes back to
// serving), a store watch is registered on the query's tables, and a timer
// is armed for `wait`. Whichever comes first re-runs the query on the
// hub's own thread: a result past `index` (or the deadline) answers it;
// otherwise it waits again. No thread waits per query.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "api/http_util.h"
#include "storage/state_store.h"

namespace drover::api {

struct Reply {
  std::uint64_t index = 0;  // X-Nomad-Index, as Nomad computes it for the endpoint
  boost::json::value body;
  std::string next_token;   // X-Nomad-NextToken of a paged list; "" for none
};
using QueryFn = std::function<Result<Reply>()>;

class BlockingQueries {
 public:
  explicit BlockingQueries(StateStore& store);
  ~BlockingQueries();
  BlockingQueries(const BlockingQueries&) = delete;
  BlockingQueries& operator=(const BlockingQueries&) = delete;

  // Answers through `writer` now or later. `tables` are those whose changes
  // can change the result.
  void Serve(const QueryOptions& opts, std::vector<Table> tables, QueryFn query,
             Http::ResponseWriter writer);

  // Answers every parked query with its current result and stops the
  // thread; must run before the HTTP endpoint shuts down.
  void Shutdown();

 private:
  class Hub;
  std::unique_ptr<Hub> hub_;
};

}  // namespace drover::api
