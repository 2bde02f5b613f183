// The HTTP server: Pistache on one address, Nomad's routes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "service/agent.h"

namespace drover::api {

class Server {
 public:
  explicit Server(Agent& agent);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds `addr` ("127.0.0.1:4646") and serves in background threads.
  Status Start(const std::string& addr, int threads = 2);
  // Answers parked queries, then stops serving.
  void Shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace drover::api
