// A connection that left HTTP (a WebSocket after its 101): the edge handler
// (api/edge_handler.h) hands every byte it reads afterwards to the object
// stored on the peer under kUpgradedPeerKey, instead of to the HTTP framer.
#pragma once

#include <string_view>

namespace drover::api {

inline constexpr const char* kUpgradedPeerKey = "drover.upgraded";

class UpgradedConnection {
 public:
  virtual ~UpgradedConnection() = default;
  // Bytes read from the connection, on its worker thread.
  virtual void OnInput(std::string_view bytes) = 0;
  // The connection closed, on its worker thread. (Pistache's own idle
  // timeout closes connections without telling: check the peer too.)
  virtual void OnDisconnect() = 0;
};

}  // namespace drover::api
