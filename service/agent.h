// Agent: the composition root. It opens the state store (running
// migrations), identifies this node, restores and runs the lifecycle
// engine, and offers the operations the HTTP API needs. Every write is one
// store change; the engine is told about the allocations it touched.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "lifecycle/engine.h"
#include "service/node.h"
#include "storage/model.h"
#include "storage/state_store.h"

namespace drover {

struct AgentConfig {
  std::string data_dir;
  std::string http_addr = "127.0.0.1:4646";
  std::string region = "global";
  std::string datacenter = "dc1";
  std::string node_name;  // default: the host name
  std::string node_class;
  StringMap meta;
  bool dev = false;  // a throw-away data dir; tasks are stopped on exit
  std::string version;
};

struct JobRegisterResult {
  std::string EvalID;
  std::uint64_t EvalCreateIndex = 0;
  std::uint64_t JobModifyIndex = 0;
  std::string Warnings;
  std::uint64_t Index = 0;
};

struct JobDeregisterResult {
  std::string EvalID;
  std::uint64_t EvalCreateIndex = 0;
  std::uint64_t JobModifyIndex = 0;
  std::uint64_t Index = 0;
};

class Agent {
 public:
  static Result<std::unique_ptr<Agent>> Create(AgentConfig config);
  ~Agent();

  // Stops the engine; tasks keep running unless the agent is in dev mode.
  void Shutdown();

  const AgentConfig& config() const { return config_; }
  const Node& node() const { return node_; }
  StateStore& store() { return *store_; }
  std::size_t RunningAllocs() const;

  // PUT /v1/jobs. The job is canonicalized and validated; an unchanged job
  // keeps its version and places nothing new.
  Result<JobRegisterResult> RegisterJob(Job job);
  // DELETE /v1/job/:id: stops the job's allocations; `purge` removes it.
  Result<JobDeregisterResult> DeregisterJob(const std::string& ns, const std::string& id,
                                            bool purge);

  // The job's Status as Nomad derives it from its allocations: "running"
  // while one is live, "dead" once stopped or all done, else "pending".
  Result<std::string> JobStatus(const Job& job) const;

 private:
  Agent(AgentConfig config, std::unique_ptr<StateStore> store, Node node, NodeCapacity cap);

  AgentConfig config_;
  std::unique_ptr<StateStore> store_;
  Node node_;
  NodeCapacity capacity_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace drover
