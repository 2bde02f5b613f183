#include "api/list_query.h"

namespace drover::api {

Result<ListOptions> ParseListOptions(const Rest::Request& req) {
  ListOptions out;
  if (auto f = QueryParam(req, "filter"); f && !f->empty()) {
    auto filter = Filter::Parse(*f);
    if (!filter.ok()) {
      return InvalidArgument("failed to create result paginator: failed to read filter "
                             "expression: " + filter.status().message());
    }
    out.filter = std::move(filter).value();
  }
  if (auto p = QueryParam(req, "per_page"); p && !p->empty()) {
    ASSIGN_OR_RETURN(out.per_page, ParsePerPage(*p));
  }
  if (auto t = QueryParam(req, "next_token")) out.next_token = *t;
  ASSIGN_OR_RETURN(out.reverse, QueryBool(req, "reverse", false));
  return out;
}

}  // namespace drover::api
