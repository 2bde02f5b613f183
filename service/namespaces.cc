#include "service/namespaces.h"

#include <algorithm>
#include <cctype>
#include <boost/json.hpp>

#include "common/log.h"
#include "common/text.h"

namespace drover {
namespace {

constexpr std::size_t kMaxNameLength = 128;
constexpr std::size_t kMaxDescriptionLength = 256;
constexpr const char* kNameRegex = "^[a-zA-Z0-9-]{1,128}$";

bool ValidNamespaceName(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '-';
  });
}

bool Contains(const std::vector<std::string>& list, const std::string& s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

// Nomad's taskValidateDriver / taskValidateNetworkMode.
bool Allowed(const std::vector<std::string>& enabled, const std::vector<std::string>& disabled,
             const std::string& what) {
  bool allow = enabled.empty() || Contains(enabled, what);
  return allow && !Contains(disabled, what);
}

// The network modes of a group's networks ("host" when unset).
std::vector<std::string> NetworkModes(const TaskGroup& tg) {
  std::vector<std::string> modes;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(tg.Networks.text, ec);
  if (ec || !v.is_array()) return modes;
  for (const boost::json::value& n : v.get_array()) {
    std::string mode = "host";
    if (const auto* obj = n.if_object()) {
      if (const auto* m = obj->if_contains("Mode"); m && m->is_string() && !m->get_string().empty())
        mode = std::string(m->get_string());
    }
    modes.push_back(std::move(mode));
  }
  return modes;
}

// Go's %q of a []string: ["a" "b"].
std::string QuoteList(const std::vector<std::string>& list) {
  std::string out = "[";
  for (std::size_t i = 0; i < list.size(); ++i) out += (i ? " " : "") + GoQuote(list[i]);
  return out + "]";
}

}  // namespace

std::vector<std::string> NamespaceErrors(const Namespace& ns) {
  std::vector<std::string> errors;
  if (!ValidNamespaceName(ns.Name)) {
    errors.push_back("invalid name " + GoQuote(ns.Name) + ". Must match regex " + kNameRegex);
  }
  if (ns.Description.size() > kMaxDescriptionLength) {
    errors.push_back("description longer than " + std::to_string(kMaxDescriptionLength));
  }
  if (ns.HasNodePoolConfiguration) {
    errors.push_back("invalid node pool configuration: Node Pools Governance is unlicensed.");
  }
  if (ns.HasVaultConfiguration) {
    errors.push_back("invalid vault configuration: Multi-Cluster Vault is unlicensed.");
  }
  if (ns.HasConsulConfiguration) {
    errors.push_back("invalid consul configuration: Multi-Cluster Consul is unlicensed.");
  }
  return errors;
}

NamespaceService::NamespaceService(StateStore& store, std::string region,
                                   std::function<Result<std::string>(const Job&)> job_status)
    : store_(store), region_(std::move(region)), job_status_(std::move(job_status)) {}

Result<std::vector<Namespace>> NamespaceService::List(const std::string& prefix) const {
  std::vector<Namespace> out;
  Status error;
  RETURN_IF_ERROR(store_.ScanNamespaces([&](std::string_view json) {
    auto ns = DecodeNamespace(json);
    if (!ns.ok()) {
      error = ns.status();
      return false;
    }
    if (ns->Name.rfind(prefix, 0) == 0) out.push_back(std::move(ns).value());
    return true;
  }));
  RETURN_IF_ERROR(error);
  return out;
}

Result<std::optional<Namespace>> NamespaceService::Get(const std::string& name) const {
  ASSIGN_OR_RETURN(std::optional<std::string> json, store_.GetNamespaceJson(name));
  if (!json) return std::optional<Namespace>();
  ASSIGN_OR_RETURN(Namespace ns, DecodeNamespace(*json));
  return std::optional<Namespace>(std::move(ns));
}

std::uint64_t NamespaceService::Index() const {
  return std::max<std::uint64_t>(store_.TableIndex(Table::kNamespaces), 1);
}

Result<std::uint64_t> NamespaceService::Upsert(Namespace ns) {
  std::vector<std::string> errors = NamespaceErrors(ns);
  if (!errors.empty()) {
    return InvalidArgument("Invalid namespace " + GoQuote(ns.Name) + ": " + GoMultiError(errors));
  }
  // Nomad CE has no quota specifications: any quota is unknown.
  if (!ns.Quota.empty()) {
    return InvalidArgument("namespace " + GoQuote(ns.Name) + " using non-existent quota " +
                           GoQuote(ns.Quota));
  }
  auto index = store_.Apply([&](WriteTxn& txn) -> Status {
    ASSIGN_OR_RETURN(std::optional<Namespace> existing, Get(ns.Name));
    ns.CreateIndex = existing ? existing->CreateIndex : txn.index();
    ns.ModifyIndex = txn.index();
    txn.PutNamespace(ns.Name, EncodeNamespace(ns));
    return Status::Ok();
  });
  if (index.ok()) log::Info("namespaces: " + ns.Name + " written at index " + std::to_string(*index));
  return index;
}

Result<std::uint64_t> NamespaceService::Delete(const std::string& name) {
  if (name == kDefaultNamespace) return InvalidArgument("can not delete default namespace");
  auto index = store_.Apply([&](WriteTxn& txn) -> Status {
    ASSIGN_OR_RETURN(std::optional<std::string> existing, store_.GetNamespaceJson(name));
    if (!existing) return NotFound("namespace not found");
    // Nomad's checks, each naming the regions that still hold something
    // (here: this agent's).
    std::vector<std::string> errors;
    auto in_use = [&](const char* what) {
      errors.push_back("namespace " + GoQuote(name) + " has " + what + " in regions: [" +
                       region_ + "]");
    };
    ASSIGN_OR_RETURN(std::vector<Job> jobs, store_.ListJobs());
    for (const Job& job : jobs) {
      if (job.Namespace != name) continue;
      ASSIGN_OR_RETURN(std::string status, job_status_(job));
      if (status != "dead") {
        in_use("non-terminal jobs");
        break;
      }
    }
    ASSIGN_OR_RETURN(std::vector<Allocation> allocs, store_.ListAllocs());
    if (std::any_of(allocs.begin(), allocs.end(), [&](const Allocation& a) {
          return a.Namespace == name && !ClientTerminal(a.ClientStatus);
        })) {
      in_use("non-terminal allocations");
    }
    bool has_vars = false;
    RETURN_IF_ERROR(store_.ScanVariables(name, [&](std::string_view) {
      has_vars = true;
      return false;
    }));
    if (has_vars) in_use("variables associated with it");
    if (!errors.empty()) return Status(StatusCode::kAlreadyExists, GoMultiError(errors));
    txn.DeleteNamespace(name);
    return Status::Ok();
  });
  if (index.ok()) log::Info("namespaces: " + name + " deleted at index " + std::to_string(*index));
  return index;
}

Status NamespaceService::CheckJob(const Job& job) const {
  const std::string& name = job.Namespace.empty() ? std::string(kDefaultNamespace) : job.Namespace;
  ASSIGN_OR_RETURN(std::optional<Namespace> ns, Get(name));
  if (!ns) {
    return InvalidArgument(GoMultiError({"job " + GoQuote(job.ID) + " is in nonexistent namespace " +
                                         GoQuote(name)}));
  }
  if (!ns->Capabilities) return Status::Ok();
  const NamespaceCapabilities& caps = *ns->Capabilities;
  std::vector<std::string> drivers, modes;
  for (const TaskGroup& tg : job.TaskGroups) {
    for (const Task& t : tg.Tasks) {
      if (!Allowed(caps.EnabledTaskDrivers, caps.DisabledTaskDrivers, t.Driver))
        drivers.push_back(t.Driver);
    }
  }
  if (!drivers.empty()) {
    return InvalidArgument(GoMultiError(
        {drivers.size() == 1 ? "used task driver " + GoQuote(drivers[0]) +
                                   " is not allowed in namespace " + GoQuote(name)
                             : "used task drivers " + QuoteList(drivers) +
                                   " are not allowed in namespace " + GoQuote(name)}));
  }
  for (const TaskGroup& tg : job.TaskGroups) {
    for (const std::string& mode : NetworkModes(tg)) {
      if (!Allowed(caps.EnabledNetworkModes, caps.DisabledNetworkModes, mode))
        modes.push_back(mode);
    }
  }
  if (!modes.empty()) {
    return InvalidArgument(GoMultiError(
        {modes.size() == 1 ? "used group network mode " + GoQuote(modes[0]) +
                                 " is not allowed in namespace " + GoQuote(name)
                           : "used group network modes " + QuoteList(modes) +
                                 " are not allowed in namespace " + GoQuote(name)}));
  }
  return Status::Ok();
}

}  // namespace drover
