// The namespace endpoints (command/agent/namespace_endpoint.go):
// GET /v1/namespaces, GET|POST|PUT|DELETE /v1/namespace/:name and
// POST|PUT /v1/namespace (the name in the body).
//
// As Nomad's Namespace RPCs: a list shows the namespaces where the token
// holds any capability, a read needs one in that namespace, and writes need
// a management token. The logic is service/namespaces.h.
#include <boost/json.hpp>

#include "api/routes.h"
#include "storage/codec.h"

namespace drover::api {
namespace {

namespace json = boost::json;
using M = Http::Method;

// Writes: a valid token, and a management one.
Status RequireManagement(const RequestAuth& auth) {
  if (!auth.error.ok()) return auth.error;
  if (!auth.who.acl->IsManagement()) return PermissionDenied(kErrPermissionDenied);
  return Status::Ok();
}

// Nomad's decodeBody: Go's json.Decoder on the body ("EOF" when empty).
Result<json::value> DecodeBody(const Rest::Request& req) {
  if (req.body().find_first_not_of(" \t\r\n") == std::string::npos) return InvalidArgument("EOF");
  auto body = ParseJson(req.body());
  if (!body.ok()) return InvalidArgument(body.status().message());
  return body;
}

void List(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& w,
          const RequestAuth& auth) {
  if (!auth.error.ok()) return SendError(w, auth.error);
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(w, opts.status());
  NamespaceService& namespaces = ctx.agent.namespaces();
  auto query = [&namespaces, acl = auth.who.acl, prefix = opts->prefix]() -> Result<Reply> {
    ASSIGN_OR_RETURN(std::vector<Namespace> all, namespaces.List(prefix));
    json::array out;
    for (const Namespace& ns : all) {
      if (acl->AllowNamespace(ns.Name)) out.push_back(NamespaceToJson(ns));
    }
    return Reply{namespaces.Index(), std::move(out)};
  };
  ctx.blocking.Serve(*opts, {Table::kNamespaces}, std::move(query), std::move(w));
}

void Read(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& w,
          const RequestAuth& auth, const std::string& name) {
  if (!auth.error.ok()) return SendError(w, auth.error);
  if (!auth.who.acl->AllowNamespace(name)) {
    return SendError(w, PermissionDenied(kErrPermissionDenied));
  }
  auto opts = ParseQueryOptions(req);
  if (!opts.ok()) return SendError(w, opts.status());
  NamespaceService& namespaces = ctx.agent.namespaces();
  auto query = [&namespaces, name]() -> Result<Reply> {
    ASSIGN_OR_RETURN(std::optional<Namespace> ns, namespaces.Get(name));
    if (!ns) return NotFound("Namespace not found");
    return Reply{ns->ModifyIndex, NamespaceToJson(*ns)};
  };
  ctx.blocking.Serve(*opts, {Table::kNamespaces}, std::move(query), std::move(w));
}

// `path_name` is "" for POST /v1/namespace.
void Upsert(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& w,
            const RequestAuth& auth, const std::string& path_name) {
  auto body = DecodeBody(req);
  if (!body.ok()) return SendError(w, body.status());
  auto ns = NamespaceFromJson(*body);
  if (!ns.ok()) return SendError(w, ns.status());
  if (!path_name.empty() && ns->Name != path_name) {
    return SendError(w, InvalidArgument("Namespace name does not match request path"));
  }
  if (Status st = RequireManagement(auth); !st.ok()) return SendError(w, st);
  auto index = ctx.agent.namespaces().Upsert(std::move(*ns));
  if (!index.ok()) return SendError(w, index.status());
  SendEmpty(w, *index);
}

void Delete(ApiContext& ctx, Http::ResponseWriter& w, const RequestAuth& auth,
            const std::string& name) {
  if (Status st = RequireManagement(auth); !st.ok()) return SendError(w, st);
  auto index = ctx.agent.namespaces().Delete(name);
  if (!index.ok()) return SendError(w, index.status());
  SendEmpty(w, *index);
}

}  // namespace

void AddNamespaceRoutes(RouteTable& routes, ApiContext& ctx) {
  routes.Add("/v1/namespaces", {M::Get},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w, const RequestAuth& auth) {
               List(ctx, req, w, auth);
             });
  routes.Add("/v1/namespace", {M::Post, M::Put},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w, const RequestAuth& auth) {
               Upsert(ctx, req, w, auth, "");
             });
  routes.Add("/v1/namespace/:name", {M::Get, M::Post, M::Put, M::Delete},
             [&ctx](const Rest::Request& req, Http::ResponseWriter& w, const RequestAuth& auth) {
               const std::string name = PathParam(req, ":name");
               if (name.empty()) return SendError(w, InvalidArgument("Missing Namespace Name"));
               switch (req.method()) {
                 case M::Get: return Read(ctx, req, w, auth, name);
                 case M::Delete: return Delete(ctx, w, auth, name);
                 default: return Upsert(ctx, req, w, auth, name);
               }
             });
}

}  // namespace drover::api
