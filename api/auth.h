// Who is asking, and may they: the checks every request passes before its
// handler runs.
//
// 1. Browser and network guards, with ACLs on or off:
//    - DNS rebinding: the Host header must name this agent: an IP literal,
//      "localhost", the machine's host name, the node name, or a name in
//      http.allowed_hosts.
//    - Cross-site requests: an Origin that is not the agent's own, a
//      Sec-Fetch-Site other than same-origin/none, or a write with the
//      Content-Type of a simple form post (text/plain, form-urlencoded,
//      multipart) sent by a browser (it carries Origin, Referer or
//      Sec-Fetch-*). curl and API clients send none of these.
//    Refused with 403 before any handler runs.
// 2. ACLs: the token (X-Nomad-Token, or Authorization: Bearer) is resolved
//    (service/acl.h) and checked against the route's rule from the table
//    in auth.cc, which follows the "ACL Required" column of Nomad's API
//    docs. A missing capability is 403 "Permission denied".
#pragma once

#include <pistache/http.h>
#include <pistache/router.h>

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "service/acl.h"
#include "service/list_query.h"  // NamespaceView, which handlers build from `who.acl`

namespace drover {
class Agent;
}

namespace drover::api {

// What a request may do, handed to handlers that filter what they list.
struct RequestAuth {
  ResolvedToken who;
  // On routes that check their tokens themselves (Scope::kNone), why the
  // token did not resolve; `who` is then the anonymous nobody.
  Status error;
  // True if the token holds `capability` in namespace `ns`.
  bool Allows(std::string_view ns, std::string_view capability) const {
    return who.acl->AllowNamespaceOp(ns, capability);
  }
};

// The capability a route needs for one method.
struct AclRule {
  enum class Scope {
    kNone,       // anyone (status, bootstrap; the ACL endpoints check themselves)
    kNamespace,  // `any_of` in the request's namespace (?namespace=, default "default")
    kAllocNamespace,  // `any_of` in the namespace of the allocation :alloc_id
    kNodeRead,
    kNodeWrite,
    kAgentRead,
    kAgentWrite,
    kOperatorRead,
  };
  Scope scope = Scope::kNone;
  std::vector<std::string> any_of;
};

// The rule for a route pattern (as registered, e.g. "/v1/allocation/:alloc_id")
// and method. A route without a rule is a programming error: NotFound.
Result<AclRule> AclRuleFor(std::string_view path, Pistache::Http::Method method);

class RequestGuard {
 public:
  explicit RequestGuard(Agent& agent);

  // The browser and network guards; PermissionDenied with the reason.
  Status CheckOrigin(const Pistache::Rest::Request& req) const;
  // Resolves the token and checks `rule`. PermissionDenied "Permission
  // denied" / "ACL token not found" / "ACL token expired".
  Result<RequestAuth> Authorize(const Pistache::Rest::Request& req, const AclRule& rule) const;

  // True if `host` (a Host header value, port included or not) names this
  // agent.
  bool HostAllowed(std::string_view host) const;

 private:
  Agent& agent_;
  std::set<std::string, std::less<>> names_;  // lower-case
};

// The secret a request presents: X-Nomad-Token, else a Bearer token.
std::string RequestToken(const Pistache::Rest::Request& req);

}  // namespace drover::api
