#include "cli/lookup.h"

#include <boost/json.hpp>
#include <iostream>

#include "cli/format.h"
#include "client/http_client.h"

namespace drover::cli {

namespace json = boost::json;

namespace {

// Nomad's sanitizeUUIDPrefix: an odd count of hex digits loses the last
// one (the agent takes whole bytes).
std::string SanitizeUuidPrefix(std::string prefix) {
  std::size_t hyphens = 0;
  for (char c : prefix) hyphens += c == '-';
  if ((prefix.size() - hyphens) % 2 != 0) prefix.pop_back();
  return prefix;
}

bool IsHexPrefix(const std::string& s) {
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c)) && c != '-') return false;
  }
  return true;
}

}  // namespace

Result<json::value> AllocByPrefix(Meta& meta, const std::string& given, std::size_t id_length) {
  if (given.size() == 1) return InvalidArgument("Identifier must contain at least two characters.");
  const std::string prefix = SanitizeUuidPrefix(given);
  json::value allocs = json::array();
  if (IsHexPrefix(prefix)) {
    auto list = meta.Get("/v1/allocations?prefix=" + client::PercentEncode(prefix));
    if (!list.ok()) return InvalidArgument("Error querying allocation: " + list.status().message());
    allocs = std::move(list).value();
  }
  if (!allocs.is_array() || allocs.get_array().empty()) {
    return NotFound("No allocation(s) with prefix or id \"" + prefix + "\" found");
  }
  if (allocs.get_array().size() > 1) {
    return FailedPrecondition("Prefix matched multiple allocations\n\n" +
                              FormatAllocStubs(allocs, false, id_length));
  }
  const std::string id = Str(allocs.get_array()[0], "ID");
  auto alloc = meta.Get("/v1/allocation/" + client::PercentEncode(id));
  if (!alloc.ok()) return InvalidArgument("Error querying allocation: " + alloc.status().message());
  return alloc;
}

Result<std::string> JobIdByPrefix(Meta& meta, const std::string& prefix) {
  auto list = meta.Get("/v1/jobs?per_page=20&prefix=" + client::PercentEncode(prefix));
  if (!list.ok()) {
    return InvalidArgument("Error querying job prefix \"" + prefix + "\": " + list.status().message());
  }
  const json::array* jobs = list->if_array();
  if (jobs == nullptr || jobs->empty()) {
    return NotFound("No job(s) with prefix or ID \"" + prefix + "\" found");
  }
  if (jobs->size() > 1 && Str((*jobs)[0], "ID") != prefix) {
    return FailedPrecondition("Prefix \"" + prefix + "\" matched multiple jobs\n\n" +
                              FormatJobStubs(*list));
  }
  return Str((*jobs)[0], "ID");
}

Result<json::value> NodeByPrefix(Meta& meta, const std::string& given) {
  if (given.size() == 1) return InvalidArgument("Identifier must contain at least two characters.");
  const std::string prefix = SanitizeUuidPrefix(given);
  json::value nodes = json::array();
  if (IsHexPrefix(prefix)) {
    auto list = meta.Get("/v1/nodes?prefix=" + client::PercentEncode(prefix));
    if (!list.ok()) return InvalidArgument("Error querying node info: " + list.status().message());
    nodes = std::move(list).value();
  }
  if (!nodes.is_array() || nodes.get_array().empty()) {
    return NotFound("No node(s) with prefix \"" + prefix + "\" found");
  }
  if (nodes.get_array().size() > 1) {
    std::vector<std::string> rows{"ID|Name|Status"};
    for (const json::value& n : nodes.get_array()) {
      rows.push_back(Limit(Str(n, "ID"), kShortId) + "|" + Str(n, "Name") + "|" + Str(n, "Status"));
    }
    return FailedPrecondition("Prefix matched multiple nodes\n\n" + FormatList(rows));
  }
  auto node = meta.Get("/v1/node/" + client::PercentEncode(Str(nodes.get_array()[0], "ID")));
  if (!node.ok()) return InvalidArgument("Error querying node info: " + node.status().message());
  return node;
}

int StatusLookupFailure(const Status& st) {
  if (st.code() != StatusCode::kFailedPrecondition) return Fail(st.message());
  std::cout << st.message() << "\n";
  return 0;
}

std::string FormatAllocStubs(const json::value& stubs, bool verbose, std::size_t n) {
  const json::array* list = stubs.if_array();
  if (list == nullptr || list->empty()) return "No allocations placed";
  std::vector<std::string> rows;
  if (verbose) {
    rows.push_back("ID|Eval ID|Node ID|Node Name|Task Group|Version|Desired|Status|Created|Modified");
    for (const json::value& a : *list) {
      rows.push_back(Limit(Str(a, "ID"), n) + "|" + Limit(Str(a, "EvalID"), n) + "|" +
                     Limit(Str(a, "NodeID"), n) + "|" + Str(a, "NodeName") + "|" +
                     Str(a, "TaskGroup") + "|" + std::to_string(Int(a, "JobVersion")) + "|" +
                     Str(a, "DesiredStatus") + "|" + Str(a, "ClientStatus") + "|" +
                     FormatUnixNano(Int(a, "CreateTime")) + "|" + FormatUnixNano(Int(a, "ModifyTime")));
    }
  } else {
    rows.push_back("ID|Node ID|Task Group|Version|Desired|Status|Created|Modified");
    for (const json::value& a : *list) {
      rows.push_back(Limit(Str(a, "ID"), n) + "|" + Limit(Str(a, "NodeID"), n) + "|" +
                     Str(a, "TaskGroup") + "|" + std::to_string(Int(a, "JobVersion")) + "|" +
                     Str(a, "DesiredStatus") + "|" + Str(a, "ClientStatus") + "|" +
                     PrettyTimeDiff(Int(a, "CreateTime")) + "|" + PrettyTimeDiff(Int(a, "ModifyTime")));
    }
  }
  return FormatList(rows);
}

std::string FormatJobStubs(const json::value& stubs) {
  std::vector<std::string> rows{"ID|Type|Priority|Status|Submit Date"};
  if (const json::array* list = stubs.if_array()) {
    for (const json::value& j : *list) {
      std::string status = Str(j, "Status");
      if (Bool(j, "Stop")) status += " (stopped)";
      rows.push_back(Str(j, "ID") + "|" + Str(j, "Type") + "|" + std::to_string(Int(j, "Priority")) +
                     "|" + status + "|" + FormatUnixNano(Int(j, "SubmitTime")));
    }
  }
  return FormatList(rows);
}

}  // namespace drover::cli
