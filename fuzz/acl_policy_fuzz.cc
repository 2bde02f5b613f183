// Fuzzes the ACL policy parser (service/acl_policy.h) in both of its forms:
// any rules text parses or fails with InvalidArgument; parsed rules render
// as RulesJSON and compile into an Acl whose checks answer without
// crashing, with deny never granting a capability.
#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "service/acl_policy.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto rules = drover::ParsePolicyRules(text);
  if (!rules.ok()) {
    if (rules.status().code() != drover::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  (void)boost::json::serialize(drover::PolicyRulesJson(*rules));
  auto acl = drover::Acl::FromPolicies({*rules, *rules});
  for (const auto& ns : rules->namespaces) {
    std::string_view probe = ns.name;
    bool denied = false;
    for (const auto& cap : ns.capabilities) denied |= cap == "deny";
    // An exact (glob-free) namespace that denies grants nothing.
    if (denied && probe.find('*') == std::string_view::npos &&
        acl->AllowNamespaceOp(probe, "read-job")) {
      std::abort();
    }
    (void)acl->AllowNamespace(probe);
  }
  (void)acl->AllowNamespaceOp("default", "submit-job");
  (void)acl->AllowNodeWrite();
  (void)acl->AllowAgentRead();
  return 0;
}
