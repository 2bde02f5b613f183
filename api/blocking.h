// Blocking queries (Nomad's `?index=N&wait=D`).
//
// A query whose result index has not passed `index` is parked: its
// ResponseWriter is moved out of the Pistache worker (which goes back to
// serving) into the blocking hub (api/blocking_hub.h), which runs on its
// own thread: queries asking the same thing share one store watch, one run
// per change and one encoded body. No thread waits per query.
//
// A list's first run can take milliseconds to seconds (10,000 stubs are
// 19 MB); run on one of Pistache's two I/O workers it would hold up every
// request queued behind it. Lists therefore run on a small query pool of
// their own, and point reads (one object, microseconds) stay inline.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/http_util.h"
#include "service/queries.h"
#include "service/watch_source.h"

namespace drover::api {

// What a query answers: the service layer's QueryReply (service/queries.h).
using Reply = QueryReply;
using QueryFn = std::function<Result<Reply>()>;

// Where a query's first run happens: inline on the I/O worker (a point
// read of one object) or on the query pool (a list, whose cost grows with
// the store).
enum class QueryCost { kPoint, kList };

class BlockingQueries {
 public:
  // `watches` (the Agent's Queries) tells when a parked query may have a
  // new answer; `list_threads`: the query pool's size.
  explicit BlockingQueries(WatchSource& watches, unsigned list_threads = 2);
  ~BlockingQueries();
  BlockingQueries(const BlockingQueries&) = delete;
  BlockingQueries& operator=(const BlockingQueries&) = delete;

  // Answers through `writer` now or later. `tables` are those whose changes
  // can change the result.
  void Serve(const QueryOptions& opts, std::vector<Table> tables, QueryFn query,
             Http::ResponseWriter writer, QueryCost cost = QueryCost::kPoint) {
    Serve(opts, WatchSpec{std::move(tables), {}}, "", std::move(query), std::move(writer), cost);
  }
  // `identity` names what the query asks (route, parameters but `index`,
  // `wait` and `pretty`, and the token's scope where the result depends on
  // it): parked queries with the same identity share their runs. "" is
  // never shared.
  void Serve(const QueryOptions& opts, WatchSpec watch, std::string identity, QueryFn query,
             Http::ResponseWriter writer, QueryCost cost = QueryCost::kPoint);

  // How many queries wait now (any thread).
  std::size_t Parked() const;

  // Answers every parked query with its current result and stops the
  // thread; must run before the HTTP endpoint shuts down.
  void Shutdown();

 private:
  class Loop;
  std::unique_ptr<Loop> loop_;
};

}  // namespace drover::api
