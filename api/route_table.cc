#include "api/routes.h"

#include <pistache/router.h>

#include "common/log.h"

namespace drover::api {

void RouteTable::Add(const std::string& path, std::vector<Http::Method> methods,
                     Handler handler) {
  entries_.push_back({path, std::move(methods), std::move(handler)});
}

void RouteTable::Install(Rest::Router& router) const {
  static const Http::Method kAll[] = {Http::Method::Get, Http::Method::Post, Http::Method::Put,
                                      Http::Method::Delete, Http::Method::Patch,
                                      Http::Method::Head, Http::Method::Options};
  for (const Entry& e : entries_) {
    for (Http::Method m : kAll) {
      bool allowed = std::find(e.methods.begin(), e.methods.end(), m) != e.methods.end();
      Handler h = e.handler;
      router.addRoute(m, e.path,
                      [allowed, h](const Rest::Request& req, Http::ResponseWriter writer) {
                        if (!allowed) {
                          writer.headers().add<Http::Header::ContentType>(MIME(Text, Plain));
                          writer.send(Http::Code::Method_Not_Allowed, "Invalid method");
                          return Rest::Route::Result::Ok;
                        }
                        // The one edge where a stray exception becomes a 500.
                        try {
                          h(req, writer);
                        } catch (const std::exception& ex) {
                          log::Error(std::string("http: ") + req.resource() + ": " + ex.what());
                          if (writer.getPeer()) {  // not yet moved out or answered
                            SendError(writer, Internal(ex.what()));
                          }
                        }
                        return Rest::Route::Result::Ok;
                      });
    }
  }
}

std::string PathParam(const Rest::Request& req, const char* name) {
  // Pistache hands the segment over as it came on the wire; Go's router
  // decodes it (a job ID "a/b" arrives as "a%2Fb"). A broken escape is
  // kept as it came, so it names nothing.
  std::string raw = req.param(name).as<std::string>();
  auto decoded = PathUnescape(raw);
  return decoded.ok() ? std::move(decoded).value() : raw;
}

}  // namespace drover::api
