// GET /v1/client/allocation/:alloc_id/exec: Nomad's `alloc exec` over a
// WebSocket (api/exec_session.h). The route table's ACL rule lets every
// request through: the session checks the token after the upgrade, as
// Nomad's client does, since a browser sends it in the first message.
#include <pistache/router.h>

#include "api/exec_session.h"
#include "api/routes.h"
#include "api/websocket.h"
#include "common/text.h"

namespace drover::api {

namespace {

std::string RawHeaderValue(const Rest::Request& req, const char* name) {
  auto h = req.headers().tryGetRaw(name);
  return h ? h->value() : "";
}

// Pistache keeps only whether Connection says close or keep-alive (the rest
// of the value is dropped), so an upgrade is told by its Upgrade header.
bool IsWebSocketUpgrade(const Rest::Request& req) {
  auto connection = req.headers().tryGet<Http::Header::Connection>();
  if (connection && connection->control() == Http::ConnectionControl::Close) return false;
  return HeaderHasToken(RawHeaderValue(req, "Upgrade"), "websocket");
}

}  // namespace

void AddExecRoutes(RouteTable& routes, ApiContext& ctx, ExecSessions& sessions) {
  routes.Add("/v1/client/allocation/:alloc_id/exec", {Http::Method::Get},
             Handler([&ctx, &sessions](const Rest::Request& req, Http::ResponseWriter& writer) {
               if (!IsWebSocketUpgrade(req)) {
                 // Nomad's handler reads its parameters, then finds no
                 // WebSocket to serve.
                 auto command = ParseExecCommand(QueryParam(req, "command").value_or(""));
                 if (!command.ok()) {
                   SendError(writer, Internal("failed to marshal command into json: " +
                                              command.status().message()));
                   return;
                 }
                 const std::string tty = QueryParam(req, "tty").value_or("");
                 if (!tty.empty() && !GoParseBool(tty)) {
                   SendError(writer, Internal("tty value is not a boolean: strconv.ParseBool: "
                                              "parsing " + GoQuote(tty) + ": invalid syntax"));
                   return;
                 }
                 SendError(writer, Internal("websocket connection not found in context"));
                 return;
               }
               // The checks of Nomad's WebSocket library, with its answer.
               if (RawHeaderValue(req, "Sec-WebSocket-Version") != "13" ||
                   !ValidWebSocketKey(RawHeaderValue(req, "Sec-WebSocket-Key"))) {
                 writer.headers().addRaw(Http::Header::Raw("Sec-WebSocket-Version", "13"));
                 writer.headers().add<Http::Header::ContentType>(
                     Http::Mime::MediaType::fromString("text/plain; charset=utf-8"));
                 writer.send(Http::Code::Bad_Request, "Bad Request\n");
                 return;
               }
               StartExecSession(ctx.agent, sessions, req, writer);
             }));
}

}  // namespace drover::api
