// The tests' name for the product's WebSocket client (client/ws_client.h).
#pragma once

#include "client/ws_client.h"

namespace drover::testing {
using client::WsClient;
}  // namespace drover::testing
