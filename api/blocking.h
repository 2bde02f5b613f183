// Blocking queries (Nomad's `?index=N&wait=D`).
//
// A query whose result index has not passed `index` is parked: its
// ResponseWriter is moved out of the Pistache worker (which goes back to
// serving) into the blocking hub (api/blocking_hub.h), which runs on its
// own thread: queries asking the same thing share one store watch, one run
// per change and one encoded body. No thread waits per query.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/http_util.h"
#include "storage/watch.h"

namespace drover {
class StateStore;
}

namespace drover::api {

struct Reply {
  std::uint64_t index = 0;  // X-Nomad-Index, as Nomad computes it for the endpoint
  boost::json::value body;
  std::string next_token;   // X-Nomad-NextToken of a paged list; "" for none
  std::string text;         // the body already encoded; used instead of `body` when set
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
             Http::ResponseWriter writer) {
    Serve(opts, WatchSpec{std::move(tables), {}}, "", std::move(query), std::move(writer));
  }
  // `identity` names what the query asks (route, parameters but `index`,
  // `wait` and `pretty`, and the token's scope where the result depends on
  // it): parked queries with the same identity share their runs. "" is
  // never shared.
  void Serve(const QueryOptions& opts, WatchSpec watch, std::string identity, QueryFn query,
             Http::ResponseWriter writer);

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
