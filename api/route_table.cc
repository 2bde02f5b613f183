#include "api/routes.h"

#include <pistache/router.h>

#include <chrono>

#include "common/log.h"
#include "common/metrics.h"

namespace drover::api {
namespace {

// A path that ends in "/**" takes one to kMaxTailSegments segments there
// (Pistache's "*" takes one): it is installed once per depth.
constexpr int kMaxTailSegments = 64;

std::vector<std::string> RouterPatterns(const std::string& path) {
  constexpr std::string_view kTail = "/**";
  if (path.size() < kTail.size() || path.compare(path.size() - kTail.size(), kTail.size(), kTail) != 0) {
    return {path};
  }
  std::vector<std::string> out;
  std::string pattern = path.substr(0, path.size() - kTail.size());
  for (int depth = 1; depth <= kMaxTailSegments; ++depth) {
    pattern += "/*";
    out.push_back(pattern);
  }
  return out;
}

}  // namespace

void RouteTable::Add(const std::string& path, std::vector<Http::Method> methods,
                     Handler handler) {
  entries_.push_back({path, std::move(methods),
                      [h = std::move(handler)](const Rest::Request& req,
                                               Http::ResponseWriter& writer,
                                               const RequestAuth&) { h(req, writer); }});
}

void RouteTable::Add(const std::string& path, std::vector<Http::Method> methods,
                     AuthHandler handler) {
  entries_.push_back({path, std::move(methods), std::move(handler)});
}

Status RouteTable::Install(Rest::Router& router, const RequestGuard& guard) const {
  static const Http::Method kAll[] = {Http::Method::Get, Http::Method::Post, Http::Method::Put,
                                      Http::Method::Delete, Http::Method::Patch,
                                      Http::Method::Head, Http::Method::Options};
  for (const Entry& e : entries_) {
    for (Http::Method m : kAll) {
      bool allowed = std::find(e.methods.begin(), e.methods.end(), m) != e.methods.end();
      AclRule rule;
      if (allowed) {
        auto r = AclRuleFor(e.path, m);
        if (!r.ok()) return Internal("http: route " + e.path + ": " + r.status().message());
        rule = std::move(r).value();
      }
      AuthHandler h = e.handler;
      // What the handler's own thread spends (a parked or streamed answer
      // goes on elsewhere), per route pattern: never the raw path, whose
      // IDs would make a series per allocation.
      const metrics::SampleSeries timing = metrics::RegisterSample(
          "drover.http.handler_ms", {{"method", Http::methodString(m)}, {"route", e.path}});
      auto handler = [allowed, h, rule, timing, &guard](const Rest::Request& req,
                                                         Http::ResponseWriter writer) {
        const auto start = std::chrono::steady_clock::now();
        if (!allowed) {
          writer.headers().add<Http::Header::ContentType>(MIME(Text, Plain));
          writer.send(Http::Code::Method_Not_Allowed, "Invalid method");
          return Rest::Route::Result::Ok;
        }
        // The one edge where a stray exception becomes a 500.
        try {
          if (Status st = guard.CheckOrigin(req); !st.ok()) {
            SendError(writer, st);
            return Rest::Route::Result::Ok;
          }
          auto auth = guard.Authorize(req, rule);
          if (!auth.ok()) {
            SendError(writer, auth.status());
            return Rest::Route::Result::Ok;
          }
          h(req, writer, *auth);
          timing.Add(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                               start)
                         .count());
        } catch (const std::exception& ex) {
          log::Error(std::string("http: ") + req.resource() + ": " + ex.what());
          if (writer.getPeer()) {  // not yet moved out or answered
            SendError(writer, Internal(ex.what()));
          }
        }
        return Rest::Route::Result::Ok;
      };
      for (const std::string& pattern : RouterPatterns(e.path)) router.addRoute(m, pattern, handler);
    }
  }
  return Status::Ok();
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
