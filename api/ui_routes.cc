// The web page (ui/ in the source tree, embedded at build time into the
// binary: api/ui_assets.h) and Nomad's redirect of "/" to it.
//
//   GET /            307 to /ui/ (the query kept), as Nomad's agent
//   GET /ui/...      an asset, or index.html for a client route
//
// The page holds no data: every call it makes goes to the API with the
// user's token, so its files need no ACL. The route table's browser guards
// (Host, Origin, Sec-Fetch-Site) apply to them as to the API.
#include <algorithm>

#include "api/routes.h"
#include "api/ui_assets.h"

namespace drover::api {
namespace {

constexpr std::size_t kMaxUiPath = 512;

// Scripts and styles only from the agent itself, no inline script, no
// framing, no plugins.
constexpr char kContentSecurityPolicy[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

const UiAsset* FindAsset(std::string_view name) {
  auto assets = UiAssets();
  auto it = std::lower_bound(assets.begin(), assets.end(), name,
                             [](const UiAsset& a, std::string_view n) { return a.name < n; });
  return it != assets.end() && it->name == name ? &*it : nullptr;
}

bool SegmentAllowed(std::string_view raw) {
  if (raw.empty()) return false;
  auto decoded = PathUnescape(raw);
  if (!decoded.ok()) return false;
  const std::string& s = *decoded;
  if (s == "." || s == "..") return false;
  return std::none_of(s.begin(), s.end(), [](unsigned char c) {
    return c < 0x20 || c == 0x7f || c == '\\' || c == '/';
  });
}

// True if one of the comma-separated entity tags of If-None-Match is
// `etag` (weakly compared, as RFC 9110 asks for If-None-Match) or "*".
bool EtagMatches(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    std::size_t comma = header.find(',');
    std::string_view tag = header.substr(0, comma);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

void SendAsset(const Rest::Request& req, Http::ResponseWriter& writer, const UiAsset& asset) {
  AddHeader(writer, "ETag", std::string(asset.etag));
  // Small files: the browser asks again each time and gets a 304.
  AddHeader(writer, "Cache-Control", "no-cache");
  AddHeader(writer, "X-Content-Type-Options", "nosniff");
  AddHeader(writer, "Content-Security-Policy", kContentSecurityPolicy);
  AddHeader(writer, "Referrer-Policy", "no-referrer");
  AddHeader(writer, "X-Frame-Options", "DENY");
  if (auto inm = req.headers().tryGetRaw("If-None-Match"); inm && EtagMatches(inm->value(), asset.etag)) {
    writer.send(Http::Code::Not_Modified);
    return;
  }
  AddHeader(writer, "Content-Type", std::string(asset.content_type));
  writer.send(Http::Code::Ok, asset.body.data(), asset.body.size());
}

void SendText(Http::ResponseWriter& writer, Http::Code code, const std::string& text) {
  writer.headers().add<Http::Header::ContentType>(MIME(Text, Plain));
  AddHeader(writer, "X-Content-Type-Options", "nosniff");
  writer.send(code, text);
}

}  // namespace

Result<const UiAsset*> ResolveUiPath(std::string_view tail) {
  if (tail.size() > kMaxUiPath) return InvalidArgument("Invalid UI path: too long");
  const UiAsset* index = FindAsset("index.html");
  if (index == nullptr) return Internal("the web page was not embedded (no index.html)");
  if (tail.empty()) return index;
  std::string_view rest = tail;
  if (rest.back() == '/') rest.remove_suffix(1);  // "jobs/" is the route "jobs"
  std::size_t segments = 0;
  for (std::string_view r = rest;; ++segments) {
    std::size_t slash = r.find('/');
    if (!SegmentAllowed(r.substr(0, slash))) return InvalidArgument("Invalid UI path");
    if (slash == std::string_view::npos) break;
    r.remove_prefix(slash + 1);
  }
  if (segments == 0) {
    if (const UiAsset* a = FindAsset(rest)) return a;
    // "app.js" names a file, "jobs" a client route.
    if (rest.find('.') != std::string_view::npos) return NotFound("404 page not found");
  }
  return index;
}

void AddUiRoutes(RouteTable& routes, ApiContext&) {
  routes.Add("/", {Http::Method::Get}, [](const Rest::Request& req, Http::ResponseWriter& writer) {
    std::string target = "/ui/";
    if (req.query().parameters_begin() != req.query().parameters_end()) target += req.query().as_str();
    AddHeader(writer, "Location", std::move(target));
    SendText(writer, Http::Code::Temporary_Redirect, "Temporary Redirect\n");
  });
  auto serve = [](const Rest::Request& req, Http::ResponseWriter& writer) {
    std::string_view path = req.resource();
    constexpr std::string_view kPrefix = "/ui";
    path.remove_prefix(std::min(path.size(), kPrefix.size()));
    if (path.empty()) {  // "/ui": the page's relative links want the slash
      AddHeader(writer, "Location", "/ui/");
      return SendText(writer, Http::Code::Moved_Permanently, "Moved Permanently\n");
    }
    path.remove_prefix(1);  // the '/'
    auto asset = ResolveUiPath(path);
    if (!asset.ok()) {
      return SendText(writer, static_cast<Http::Code>(HttpCodeFor(asset.status().code())),
                      asset.status().code() == StatusCode::kNotFound
                          ? "404 page not found\n"
                          : asset.status().message() + "\n");
    }
    SendAsset(req, writer, **asset);
  };
  routes.Add("/ui", {Http::Method::Get}, serve);
  routes.Add("/ui/**", {Http::Method::Get}, serve);
}

}  // namespace drover::api
