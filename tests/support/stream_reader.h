// The tests' name for the product's stream reader (client/stream_reader.h).
#pragma once

#include "client/stream_reader.h"

namespace drover::testing {
using client::StreamReader;
}  // namespace drover::testing
