// Nomad-native service registrations (services with provider "nomad").
//
// Drover derives the registrations from the allocations as they stand
// instead of storing them: a task's service is registered while the task
// runs, a group's while any task of the allocation runs, and neither once
// the allocation is to stop. The allocation's state is already written in
// one store change with every task state, so registrations can never
// disagree with it, need no cleanup after a crash, and need no schema.
// Their indexes are the allocation's: CreateIndex when it was placed,
// ModifyIndex of its latest change.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/model.h"

namespace drover {

// Nomad's ServiceRegistration.
struct ServiceRegistration {
  std::string ID;  // _nomad-task-<alloc>-<task | group-<group>>-<service>-<port label>
  std::string ServiceName;
  std::string Namespace;
  std::string NodeID;
  std::string Datacenter;
  std::string JobID;
  std::string AllocID;
  std::vector<std::string> Tags;
  std::string Address;
  std::int64_t Port = 0;
  std::uint64_t CreateIndex = 0;
  std::uint64_t ModifyIndex = 0;
};

// The registrations of `alloc` now, on `node`: group services first, then
// each task's, in job order.
std::vector<ServiceRegistration> AllocServiceRegistrations(const Allocation& alloc,
                                                           const Node& node);

}  // namespace drover
