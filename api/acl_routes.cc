// The ACL endpoints: /v1/acl/bootstrap, /v1/acl/policies, /v1/acl/policy/:name,
// /v1/acl/tokens, /v1/acl/token, /v1/acl/token/self, /v1/acl/token/:accessor.
//
// They check their tokens themselves, as Nomad's ACL RPCs do: writes and
// token reads need a management token; a policy can be read by the tokens
// that carry it; token/self by any valid token. With ACLs off each answers
// 400 "ACL support disabled".
#include <boost/json.hpp>

#include "api/routes.h"
#include "storage/codec.h"

namespace drover::api {
namespace {

namespace json = boost::json;
using M = Http::Method;

// A token as the API shows it: never its digest, and its SecretID only
// where the reply may carry it (it is empty otherwise).
json::value TokenJson(const ACLToken& token) {
  json::value v = ToJson(token);
  json::object out;
  for (auto& kv : v.get_object()) {
    if (kv.key() != "SecretHash") out.emplace(kv.key(), std::move(kv.value()));
  }
  out["Roles"] = json::array();
  return out;
}

json::value TokenStub(const ACLToken& token) {
  json::array policies;
  for (const std::string& p : token.Policies) policies.emplace_back(p);
  return json::object{{"AccessorID", token.AccessorID},
                      {"Name", token.Name},
                      {"Type", token.Type},
                      {"Policies", policies.empty() ? json::value(nullptr) : json::value(policies)},
                      {"Roles", json::array()},
                      {"Global", token.Global},
                      {"CreateTime", FormatRFC3339Nano(token.CreateTime)},
                      {"ExpirationTime", token.ExpirationTime
                                             ? json::value(FormatRFC3339Nano(*token.ExpirationTime))
                                             : json::value(nullptr)},
                      {"CreateIndex", token.CreateIndex},
                      {"ModifyIndex", token.ModifyIndex}};
}

json::value PolicyStub(const ACLPolicy& p) {
  return json::object{{"Name", p.Name},
                      {"Description", p.Description},
                      {"CreateIndex", p.CreateIndex},
                      {"ModifyIndex", p.ModifyIndex}};
}

// Nomad's anonymous token, as token/self shows it to a request without one.
json::value AnonymousTokenJson() {
  return json::object{{"AccessorID", "anonymous"},
                      {"SecretID", "anonymous"},
                      {"Name", "Anonymous Token"},
                      {"Type", kAclTokenClient},
                      {"Policies", json::array{"anonymous"}},
                      {"Roles", json::array()},
                      {"Global", false},
                      {"CreateTime", FormatRFC3339Nano(GoTime::Zero())},
                      {"ExpirationTime", nullptr},
                      {"CreateIndex", 0},
                      {"ModifyIndex", 0}};
}

// The common preamble: ACLs on, and (for `management`) a management token.
Status Require(ApiContext& ctx, const RequestAuth& auth, bool management) {
  if (!ctx.agent.acl().enabled()) return InvalidArgument(kErrAclDisabled);
  if (!auth.error.ok()) return auth.error;
  if (management && !auth.who.acl->IsManagement()) return PermissionDenied(kErrPermissionDenied);
  return Status::Ok();
}

void Bootstrap(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& w) {
  if (!ctx.agent.acl().enabled()) return SendError(w, InvalidArgument(kErrAclDisabled));
  std::string secret;
  if (!req.body().empty()) {
    auto body = ParseJson(req.body());
    if (!body.ok() || !body->is_object()) {
      return SendError(w, InvalidArgument("failed to decode request body: " +
                                          (body.ok() ? std::string("not an object")
                                                     : body.status().message())));
    }
    if (const json::value* s = body->get_object().if_contains("BootstrapSecret")) {
      if (!s->is_string()) {
        return SendError(w, InvalidArgument("failed to decode request body: BootstrapSecret "
                                            "must be a string"));
      }
      secret = std::string(s->get_string());
    }
  }
  auto token = ctx.agent.acl().Bootstrap(secret);
  if (!token.ok()) return SendError(w, token.status());
  SendJson(w, TokenJson(*token), false, token->ModifyIndex);
}

void ListPolicies(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& w,
                  const RequestAuth& auth) {
  if (Status st = Require(ctx, auth, false); !st.ok()) return SendError(w, st);
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(w, opts.status());
  AclService& acl = ctx.agent.acl();
  std::string prefix = opts->prefix;
  auto query = [&acl, who = auth.who, prefix]() -> Result<Reply> {
    ASSIGN_OR_RETURN(std::vector<ACLPolicy> policies, acl.ListPolicies());
    json::array out;
    for (const ACLPolicy& p : policies) {
      if (p.Name.rfind(prefix, 0) != 0 || !acl.MayReadPolicy(who, p.Name)) continue;
      out.push_back(PolicyStub(p));
    }
    return Reply{std::max<std::uint64_t>(acl.PoliciesIndex(), 1), std::move(out)};
  };
  ctx.blocking.Serve(*opts, {Table::kAclPolicies}, std::move(query), std::move(w));
}

void ReadPolicy(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& w,
                const RequestAuth& auth, const std::string& name) {
  if (!ctx.agent.acl().MayReadPolicy(auth.who, name)) {
    return SendError(w, PermissionDenied(kErrPermissionDenied));
  }
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(w, opts.status());
  AclService& acl = ctx.agent.acl();
  auto query = [&acl, name]() -> Result<Reply> {
    ASSIGN_OR_RETURN(std::optional<ACLPolicy> policy, acl.GetPolicy(name));
    if (!policy) return NotFound("ACL policy not found");
    json::value v = ToJson(*policy);
    auto rules = ParsePolicyRules(policy->Rules);
    v.get_object()["RulesJSON"] = rules.ok() ? PolicyRulesJson(*rules) : json::value(nullptr);
    return Reply{policy->ModifyIndex, std::move(v)};
  };
  ctx.blocking.Serve(*opts, {Table::kAclPolicies}, std::move(query), std::move(w));
}

void PolicyRequest(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& w,
                   const RequestAuth& auth) {
  std::string name = PathParam(req, ":name");
  bool write = req.method() != M::Get;
  if (Status st = Require(ctx, auth, write); !st.ok()) return SendError(w, st);
  if (req.method() == M::Get) return ReadPolicy(ctx, req, w, auth, name);
  if (req.method() == M::Delete) {
    auto index = ctx.agent.acl().DeletePolicy(name);
    if (!index.ok()) return SendError(w, index.status());
    return SendEmpty(w, *index);
  }
  auto policy = DecodeJson<ACLPolicy>(req.body(), "ACLPolicy");
  if (!policy.ok()) return SendError(w, policy.status());
  if (policy->Name != name) {
    return SendError(w, InvalidArgument("ACL policy name does not match request path"));
  }
  auto index = ctx.agent.acl().UpsertPolicy(std::move(policy).value());
  if (!index.ok()) return SendError(w, index.status());
  SendEmpty(w, *index);
}

void ListTokens(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& w,
                const RequestAuth& auth) {
  if (Status st = Require(ctx, auth, true); !st.ok()) return SendError(w, st);
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(w, opts.status());
  AclService& acl = ctx.agent.acl();
  std::string prefix = opts->prefix;
  auto query = [&acl, prefix]() -> Result<Reply> {
    ASSIGN_OR_RETURN(std::vector<ACLToken> tokens, acl.ListTokens());
    json::array out;
    for (const ACLToken& t : tokens) {
      if (t.AccessorID.rfind(prefix, 0) == 0) out.push_back(TokenStub(t));
    }
    return Reply{acl.TokensIndex(), std::move(out)};
  };
  ctx.blocking.Serve(*opts, {Table::kAclTokens}, std::move(query), std::move(w));
}

// Decodes a token from a request body; what the store keeps for itself is
// never taken from a client.
Result<ACLToken> TokenFromBody(const Rest::Request& req) {
  ASSIGN_OR_RETURN(ACLToken token, DecodeJson<ACLToken>(req.body(), "ACLToken"));
  token.SecretHash.clear();
  token.SecretID.clear();
  token.CreateIndex = token.ModifyIndex = 0;
  return token;
}

void CreateToken(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& w,
                 const RequestAuth& auth) {
  if (Status st = Require(ctx, auth, true); !st.ok()) return SendError(w, st);
  auto token = TokenFromBody(req);
  if (!token.ok()) return SendError(w, token.status());
  auto created = ctx.agent.acl().UpsertToken(std::move(token).value());
  if (!created.ok()) return SendError(w, created.status());
  SendJson(w, TokenJson(*created), false, created->ModifyIndex);
}

void TokenSelf(ApiContext& ctx, const Rest::Request&, Http::ResponseWriter& w,
               const RequestAuth& auth) {
  if (Status st = Require(ctx, auth, false); !st.ok()) return SendError(w, st);
  if (!auth.who.token) return SendJson(w, AnonymousTokenJson(), false, 0);
  // The caller presented this secret: it may see it.
  SendJson(w, TokenJson(*auth.who.token), false, auth.who.token->ModifyIndex);
}

void TokenRequest(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& w,
                  const RequestAuth& auth) {
  if (Status st = Require(ctx, auth, false); !st.ok()) return SendError(w, st);
  std::string accessor = PathParam(req, ":accessor");
  bool management = auth.who.acl->IsManagement();
  if (req.method() == M::Get) {
    bool own = auth.who.token && auth.who.token->AccessorID == accessor;
    if (!management && !own) return SendError(w, PermissionDenied(kErrPermissionDenied));
    if (own) return SendJson(w, TokenJson(*auth.who.token), false, auth.who.token->ModifyIndex);
    auto token = ctx.agent.acl().GetToken(accessor);
    if (!token.ok()) return SendError(w, token.status());
    if (!*token) return SendError(w, NotFound("ACL token not found"));
    return SendJson(w, TokenJson(**token), false, (*token)->ModifyIndex);
  }
  if (Status st = Require(ctx, auth, true); !st.ok()) return SendError(w, st);
  if (req.method() == M::Delete) {
    auto index = ctx.agent.acl().DeleteToken(accessor);
    if (!index.ok()) return SendError(w, index.status());
    return SendEmpty(w, *index);
  }
  auto token = TokenFromBody(req);
  if (!token.ok()) return SendError(w, token.status());
  if (token->AccessorID != accessor) {
    return SendError(w, InvalidArgument("ACL token accessor does not match request path"));
  }
  auto updated = ctx.agent.acl().UpsertToken(std::move(token).value());
  if (!updated.ok()) return SendError(w, updated.status());
  SendJson(w, TokenJson(*updated), false, updated->ModifyIndex);
}

}  // namespace

void AddAclRoutes(RouteTable& routes, ApiContext& ctx) {
  const std::vector<M> write = {M::Post, M::Put};
  routes.Add("/v1/acl/bootstrap", write,
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w) { Bootstrap(ctx, req, w); });
  routes.Add("/v1/acl/policies", {M::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w, const RequestAuth& a) {
               ListPolicies(ctx, req, w, a);
             });
  routes.Add("/v1/acl/policy/:name", {M::Get, M::Post, M::Put, M::Delete},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w, const RequestAuth& a) {
               PolicyRequest(ctx, req, w, a);
             });
  routes.Add("/v1/acl/tokens", {M::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w, const RequestAuth& a) {
               ListTokens(ctx, req, w, a);
             });
  routes.Add("/v1/acl/token", write,
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w, const RequestAuth& a) {
               CreateToken(ctx, req, w, a);
             });
  routes.Add("/v1/acl/token/self", {M::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w, const RequestAuth& a) {
               TokenSelf(ctx, req, w, a);
             });
  routes.Add("/v1/acl/token/:accessor", {M::Get, M::Post, M::Put, M::Delete},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w, const RequestAuth& a) {
               TokenRequest(ctx, req, w, a);
             });
}

}  // namespace drover::api
