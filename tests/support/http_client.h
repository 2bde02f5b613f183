// The tests' names for the product's HTTP client (client/http_client.h).
#pragma once

#include "client/http_client.h"

namespace drover::testing {
using client::HttpClient;
using client::HttpHeaders;
using client::HttpResponse;
using client::PercentEncode;
}  // namespace drover::testing
