#include "api/auth.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "api/http_util.h"
#include "api/routes.h"
#include "service/agent.h"

namespace drover::api {
namespace {

namespace Http = Pistache::Http;
using M = Http::Method;
using Scope = AclRule::Scope;

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// A header value fit to quote in an error: printable ASCII, at most 100
// characters.
std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 100)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out;
}

std::optional<std::string> RawHeader(const Pistache::Rest::Request& req, const char* name) {
  auto raw = req.headers().tryGetRaw(name);
  if (!raw) return std::nullopt;
  return raw->value();
}

bool IsIpLiteral(std::string_view host) {
  std::string h(host);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  unsigned char buf[16];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

// Splits "host:port", "[v6]:port", "host" into the host part.
std::string_view HostPart(std::string_view hostport) {
  if (!hostport.empty() && hostport.front() == '[') {
    std::size_t close = hostport.find(']');
    return close == std::string_view::npos ? hostport : hostport.substr(0, close + 1);
  }
  std::size_t colon = hostport.rfind(':');
  if (colon != std::string_view::npos && hostport.find(':') == colon) {
    return hostport.substr(0, colon);
  }
  return hostport;
}

bool IsSimpleFormType(std::string_view content_type) {
  std::string t = Lower(content_type.substr(0, content_type.find(';')));
  t.erase(std::remove_if(t.begin(), t.end(), [](char c) { return c == ' ' || c == '\t'; }),
          t.end());
  return t == "text/plain" || t == "application/x-www-form-urlencoded" ||
         t == "multipart/form-data";
}

bool IsWrite(M m) { return m == M::Post || m == M::Put || m == M::Delete || m == M::Patch; }

AclRule Ns(std::vector<std::string> caps) { return {Scope::kNamespace, std::move(caps)}; }
AclRule AllocNs(std::vector<std::string> caps) {
  return {Scope::kAllocNamespace, std::move(caps)};
}
AclRule Only(Scope s) { return {s, {}}; }

std::string RequestNamespace(const Pistache::Rest::Request& req) {
  auto ns = QueryParam(req, "namespace");
  return ns && !ns->empty() ? *ns : "default";
}

}  // namespace

// The "ACL Required" column of Nomad's API docs, route by route.
Result<AclRule> AclRuleFor(std::string_view path, M method) {
  bool write = IsWrite(method);
  const std::string p(path);
  // Status and the ACL endpoints (which check their tokens themselves).
  if (p == "/v1/status/leader" || p == "/v1/status/peers" || p.rfind("/v1/acl/", 0) == 0) {
    return Only(Scope::kNone);
  }
  if (p == "/v1/agent/self") return Only(Scope::kAgentRead);
  // As Nomad: health and the region list are open, members need node:read,
  // the raft configuration operator:read.
  if (p == "/v1/agent/health" || p == "/v1/regions" || p == "/v1/metrics") {
    return Only(Scope::kNone);
  }
  // The web page's files hold no data (every call it makes is an API call
  // with the user's token), as Nomad serves /ui/ to anyone.
  if (p == "/" || p == "/ui" || p == "/ui/**") return Only(Scope::kNone);
  if (p == "/v1/agent/members") return Only(Scope::kNodeRead);
  if (p == "/v1/operator/raft/configuration") return Only(Scope::kOperatorRead);
  if (p == "/v1/jobs") return write ? Ns({"submit-job"}) : Ns({"list-jobs"});
  if (p == "/v1/jobs/parse") return Ns({"parse-job", "submit-job"});
  if (p == "/v1/job/:job_id") return write ? Ns({"submit-job"}) : Ns({"read-job"});
  if (p == "/v1/job/:job_id/scale") {
    return write ? Ns({"scale-job", "submit-job"}) : Ns({"read-job-scaling", "read-job"});
  }
  if (p == "/v1/job/:job_id/evaluate") return Ns({"submit-job", "evaluate-job"});
  if (p == "/v1/node/:node_id/eligibility" || p == "/v1/node/:node_id/drain" ||
      p == "/v1/node/:node_id/purge") {
    return Only(Scope::kNodeWrite);
  }
  if (p == "/v1/job/:job_id/summary" || p == "/v1/job/:job_id/services" ||
      p == "/v1/job/:job_id/allocations" || p == "/v1/job/:job_id/evaluations" ||
      p == "/v1/evaluations" || p == "/v1/evaluation/:eval_id" || p == "/v1/allocations" ||
      p == "/v1/services" || p == "/v1/service/:service_name") {
    return Ns({"read-job"});
  }
  // Deployments, job versions, revert and plan (the deployment routes also
  // check the deployment's own namespace).
  if (p == "/v1/deployments" || p == "/v1/deployment/:deployment_id" ||
      p == "/v1/deployment/allocations/:deployment_id" || p == "/v1/job/:job_id/deployments" ||
      p == "/v1/job/:job_id/deployment" || p == "/v1/job/:job_id/versions") {
    return Ns({"read-job"});
  }
  if (p == "/v1/deployment/fail/:deployment_id" || p == "/v1/deployment/pause/:deployment_id" ||
      p == "/v1/deployment/promote/:deployment_id" ||
      p == "/v1/deployment/allocation-health/:deployment_id" || p == "/v1/job/:job_id/revert" ||
      p == "/v1/job/:job_id/plan") {
    return Ns({"submit-job"});
  }
  if (p == "/v1/allocation/:alloc_id" || p == "/v1/allocation/:alloc_id/services" ||
      p == "/v1/client/allocation/:alloc_id/stats") {
    return AllocNs({"read-job"});
  }
  if (p == "/v1/allocation/:alloc_id/stop" || p == "/v1/client/allocation/:alloc_id/restart" ||
      p == "/v1/client/allocation/:alloc_id/signal") {
    return AllocNs({"alloc-lifecycle"});
  }
  if (p == "/v1/client/allocation/:alloc_id/gc") return AllocNs({"submit-job"});
  // Drover's history endpoints read what the allocation and job reads show.
  if (p == "/v1/drover/allocation/:alloc_id/history") return AllocNs({"read-job"});
  if (p == "/v1/drover/job/:job_id/history") return Ns({"read-job"});
  // Exec checks its token after the WebSocket upgrade (a browser sends it
  // in the first message), as Nomad's client does: alloc-exec, and
  // alloc-node-exec for raw_exec's tasks (api/exec_session.cc).
  if (p == "/v1/client/allocation/:alloc_id/exec") return Only(Scope::kNone);
  if (p == "/v1/client/fs/logs/:alloc_id") return AllocNs({"read-logs", "read-fs"});
  if (p.rfind("/v1/client/fs/", 0) == 0) return AllocNs({"read-fs"});
  if (p == "/v1/client/gc") return Only(Scope::kNodeWrite);
  if (p == "/v1/client/metadata") return Only(write ? Scope::kNodeWrite : Scope::kNodeRead);
  if (p == "/v1/client/stats" || p == "/v1/nodes" || p == "/v1/node/:node_id" ||
      p == "/v1/node/:node_id/allocations") {
    return Only(Scope::kNodeRead);
  }
  // The event stream filters each event by its topic and namespace.
  if (p == "/v1/event/stream") return Only(Scope::kNone);
  // Namespaces: a list shows what the token may see, a read needs any
  // capability in the namespace, writes a management token; variables:
  // capabilities on their paths. Their handlers check (Nomad checks in the
  // RPCs).
  if (p == "/v1/namespaces" || p == "/v1/namespace" || p == "/v1/namespace/:name" ||
      p == "/v1/vars" || p == "/v1/var/**") {
    return Only(Scope::kNone);
  }
  return NotFound("no ACL rule for " + p);
}

std::string RequestToken(const Pistache::Rest::Request& req) {
  if (auto token = RawHeader(req, "X-Nomad-Token")) return *token;
  if (auto auth = req.headers().tryGet<Http::Header::Authorization>()) {
    std::string v = auth->value();
    constexpr std::string_view kBearer = "Bearer ";
    if (v.size() > kBearer.size() && Lower(v.substr(0, kBearer.size())) == "bearer ") {
      return v.substr(kBearer.size());
    }
  }
  return "";
}

RequestGuard::RequestGuard(Agent& agent) : agent_(agent) {
  names_.insert("localhost");
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) == 0 && host[0] != '\0') names_.insert(Lower(host));
  if (!agent.node().Name.empty()) names_.insert(Lower(agent.node().Name));
  for (const std::string& h : agent.config().allowed_hosts) names_.insert(Lower(h));
}

bool RequestGuard::HostAllowed(std::string_view hostport) const {
  std::string_view host = HostPart(hostport);
  if (IsIpLiteral(host)) return true;
  std::string lower = Lower(host);
  if (!lower.empty() && lower.back() == '.') lower.pop_back();  // "localhost."
  return names_.contains(lower);
}

Status RequestGuard::CheckOrigin(const Pistache::Rest::Request& req) const {
  std::string host;
  if (auto h = req.headers().tryGet<Http::Header::Host>()) {
    host = h->host();
    if (h->port() != 0) host += ":" + h->port().toString();
    if (!HostAllowed(h->host())) {
      return PermissionDenied("Forbidden: Host \"" + Printable(h->host()) +
                              "\" is not an address or name of this agent (DNS rebinding "
                              "guard; add it to http.allowed_hosts to allow it)");
    }
  }
  auto origin = RawHeader(req, "Origin");
  if (origin) {
    // The agent's own pages are served from the address asked for.
    std::string own_http = "http://" + host;
    if (host.empty() || Lower(*origin) != Lower(own_http)) {
      return PermissionDenied("Forbidden: cross-origin request from " + Printable(*origin) +
                              " refused");
    }
  }
  if (auto site = RawHeader(req, "Sec-Fetch-Site")) {
    std::string s = Lower(*site);
    if (s != "same-origin" && s != "none") {
      return PermissionDenied("Forbidden: cross-site request (Sec-Fetch-Site: " + Printable(s) +
                              ") refused");
    }
  }
  if (IsWrite(req.method()) && !origin) {
    bool from_browser = RawHeader(req, "Referer") || RawHeader(req, "Sec-Fetch-Mode") ||
                        RawHeader(req, "Sec-Fetch-Dest");
    auto type = req.headers().tryGet<Http::Header::ContentType>();
    if (from_browser && type && IsSimpleFormType(type->mime().toString())) {
      return PermissionDenied(
          "Forbidden: a browser form post cannot change state; send JSON from the agent's own "
          "origin");
    }
  }
  return Status::Ok();
}

Result<RequestAuth> RequestGuard::Authorize(const Pistache::Rest::Request& req,
                                            const AclRule& rule) const {
  auto who = agent_.acl().Resolve(RequestToken(req));
  if (!who.ok()) {
    if (rule.scope != Scope::kNone) return who.status();
    return RequestAuth{ResolvedToken{Acl::FromPolicies({}), std::nullopt}, who.status()};
  }
  RequestAuth auth{std::move(who).value()};
  const Acl& acl = *auth.who.acl;
  auto deny = [] { return PermissionDenied(kErrPermissionDenied); };
  auto any_cap = [&](std::string_view ns) {
    return std::any_of(rule.any_of.begin(), rule.any_of.end(),
                       [&](const std::string& cap) { return acl.AllowNamespaceOp(ns, cap); });
  };
  switch (rule.scope) {
    case Scope::kNone:
      break;
    case Scope::kNamespace: {
      std::string ns = RequestNamespace(req);
      // "*" lists every namespace the token may read: the handler filters.
      if (ns != "*" && !any_cap(ns)) return deny();
      break;
    }
    case Scope::kAllocNamespace: {
      // Management (and every request with ACLs off) may act anywhere: no
      // need to read the allocation on this hot path.
      if (acl.IsManagement()) break;
      auto alloc = agent_.queries().GetAlloc(PathParam(req, ":alloc_id"));
      if (!alloc.ok()) return alloc.status();
      // A known allocation is checked in its own namespace; an unknown one
      // is the handler's 404 for a token that could read it in the
      // request's namespace, and no hint to any other.
      if (!any_cap(*alloc ? (*alloc)->Namespace : RequestNamespace(req))) return deny();
      break;
    }
    case Scope::kNodeRead:
      if (!acl.AllowNodeRead()) return deny();
      break;
    case Scope::kNodeWrite:
      if (!acl.AllowNodeWrite()) return deny();
      break;
    case Scope::kAgentRead:
      if (!acl.AllowAgentRead()) return deny();
      break;
    case Scope::kAgentWrite:
      if (!acl.AllowAgentWrite()) return deny();
      break;
    case Scope::kOperatorRead:
      if (!acl.AllowOperatorRead()) return deny();
      break;
  }
  return auth;
}

}  // namespace drover::api
