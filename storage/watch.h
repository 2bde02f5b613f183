// The vocabulary of watching the store: its indexed tables and the keys of
// single objects, shared by the store and the blocking queries above it.
#pragma once

#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

namespace drover {

// Tables that carry a Nomad index ("X-Nomad-Index" of list endpoints).
// The journaled tables come first: arrays over kAllTables index by Table.
enum class Table { kJobs, kEvals, kAllocs, kNodes, kAclTokens, kAclPolicies, kNamespaces,
                   kVariables, kScalingEvents, kDeployments };
const char* TableName(Table t);
// The tables whose objects the event journal carries.
inline constexpr Table kAllTables[] = {Table::kJobs, Table::kEvals, Table::kAllocs,
                                       Table::kNodes};
// The ACL tables: indexed, never journaled (their objects are secrets or
// guard them).
inline constexpr Table kAclTables[] = {Table::kAclTokens, Table::kAclPolicies};

// An object a blocking query can watch by itself.
std::string AllocWatchKey(const std::string& alloc_id);
std::string JobWatchKey(const std::string& ns, const std::string& job_id);
std::string VariableWatchKey(const std::string& ns, const std::string& path);

using WatchId = std::uint64_t;

struct WatchSpec {
  std::vector<Table> tables;
  // AllocWatchKey / JobWatchKey of the objects the query reads; empty: the
  // waiter fires on any write of its tables. With keys, `tables` must name
  // the keys' tables (a commit that raced the registration is detected by
  // their indexes, which may wake the waiter once for nothing).
  std::vector<std::string> keys;
};

}  // namespace drover
