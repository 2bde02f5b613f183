// List queries at the HTTP edge: parses `filter`, `per_page`, `next_token`
// and `reverse` into the service layer's ListOptions (service/list_query.h,
// which also has NamespaceView). Included only by route files.
#pragma once

#include "api/http_util.h"
#include "service/list_query.h"
#include "service/page_objects.h"

namespace drover::api {

// Parses the list parameters; errors carry Nomad's texts.
Result<ListOptions> ParseListOptions(const Rest::Request& req);

}  // namespace drover::api
