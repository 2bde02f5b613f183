// This node: its identity (a UUID kept in the store so it survives
// restarts), its fingerprinted capacity, and its Nomad Node object.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "storage/model.h"
#include "storage/state_store.h"

namespace drover {

struct NodeCapacity {
  std::int64_t cpu_mhz = 0;  // total compute: cores x MHz
  std::int64_t cores = 0;
  std::int64_t memory_mb = 0;
  std::int64_t disk_mb = 0;
};

// Reads /proc/cpuinfo, /proc/meminfo and the data dir's file system.
NodeCapacity FingerprintCapacity(const std::string& data_dir);

struct NodeSettings {
  std::string name;        // defaults to the host name
  std::string datacenter;  // "dc1"
  std::string node_class;
  std::string http_addr;   // "127.0.0.1:4646"
  StringMap meta;
};

// Returns the node ID stored in `store`, creating one on first start.
Result<std::string> LoadOrCreateNodeID(StateStore& store);

Node BuildNode(const std::string& id, const NodeSettings& settings, const NodeCapacity& cap,
               const std::string& version, Nanos now);

std::string HostName();

}  // namespace drover
