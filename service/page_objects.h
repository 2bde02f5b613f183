// Filtering and paging a listing of model objects, as Nomad's paginator
// does (service/paginate.h), for the list queries (service/queries.h).
#pragma once

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "service/list_query.h"
#include "service/paginate.h"
#include "storage/codec.h"

namespace drover {

struct ListPage {
  boost::json::array items;
  std::string next_token;  // X-Nomad-NextToken; "" on the last page
};

// Filters and pages `objects` (already in listing order, reversed if asked).
// The filter sees each object's full JSON, as Nomad's sees the full struct;
// `token_of(obj)` gives its PageToken and `render(obj)` what is listed.
template <typename T, typename TokenFn, typename RenderFn>
Result<ListPage> PageObjects(const std::vector<T>& objects, const ListOptions& opts,
                             TokenFn token_of, RenderFn render) {
  std::vector<boost::json::value> full;
  if (opts.filter) {
    full.reserve(objects.size());
    for (const T& o : objects) full.push_back(ToJson(o));
  }
  std::vector<PageItem> items;
  items.reserve(objects.size());
  for (std::size_t i = 0; i < objects.size(); ++i) {
    items.push_back(PageItem{token_of(objects[i]), opts.filter ? &full[i] : nullptr});
  }
  PageOptions page_opts{opts.per_page, opts.next_token, opts.reverse,
                        opts.filter ? &*opts.filter : nullptr};
  auto page = Paginate(items, page_opts);
  if (!page.ok()) return InvalidArgument("failed to read result page: " + page.status().message());
  ListPage out;
  out.items.reserve(page->items.size());
  for (std::size_t i : page->items) out.items.push_back(render(objects[i]));
  out.next_token = std::move(page->next_token);
  return out;
}

}  // namespace drover
