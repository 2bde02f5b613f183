// The web page's files as the agent serves them (api/ui_routes.cc): content
// types, ETag and 304, the security headers, the SPA fallback, the redirect
// of "/", refused paths, and the same browser guards as the API.
#include <gtest/gtest.h>

#include <string>

#include "tests/support/agent_process.h"
#include "tests/support/http_client.h"
#include "tests/support/raw_http.h"
#include "tests/support/shared_agent.h"

namespace drover::testing {
namespace {

using namespace std::string_literals;

class UiE2ETest : public SharedAgentTest<UiE2ETest> {
 protected:
  // One raw request (so that nothing normalizes the path) and its answer.
  static RawResponse Raw(const std::string& target, const std::string& extra_headers = "",
                         const std::string& host = "127.0.0.1") {
    auto c = RawConnection::Connect(agent_->port());
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    if (!c.ok()) return {};
    const std::string wire = "GET " + target + " HTTP/1.1\r\nHost: " + host +
                             "\r\nConnection: close\r\n" + extra_headers + "\r\n";
    EXPECT_TRUE(c->Send(wire).ok());
    auto r = c->ReadResponse();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : RawResponse{};
  }

  // The value of header `name` (case-insensitive) in `head`, or "".
  static std::string Header(const RawResponse& r, const std::string& name) {
    std::string lower_head = r.head;
    for (char& ch : lower_head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::string key = "\r\n" + name + ":";
    for (char& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::size_t at = lower_head.find(key);
    if (at == std::string::npos) return "";
    std::size_t start = at + key.size();
    std::size_t end = r.head.find("\r\n", start);
    std::string v = r.head.substr(start, end - start);
    while (!v.empty() && v.front() == ' ') v.erase(v.begin());
    return v;
  }
};

TEST_F(UiE2ETest, IndexIsHtmlWithStrictHeaders) {
  RawResponse r = Raw("/ui/");
  ASSERT_EQ(r.status, 200) << r.head;
  EXPECT_EQ(Header(r, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(Header(r, "Cache-Control"), "no-cache");
  EXPECT_EQ(Header(r, "X-Content-Type-Options"), "nosniff");
  const std::string csp = Header(r, "Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-eval"), std::string::npos) << csp;
  EXPECT_NE(r.body.find("<script type=\"module\" src=\"/ui/app.js\"></script>"), std::string::npos);
  // No inline script: every <script> has a src.
  for (std::size_t at = r.body.find("<script"); at != std::string::npos;
       at = r.body.find("<script", at + 1)) {
    EXPECT_NE(r.body.substr(at, r.body.find('>', at) - at).find(" src="), std::string::npos);
  }
}

TEST_F(UiE2ETest, EachAssetHasItsContentType) {
  EXPECT_EQ(Header(Raw("/ui/app.js"), "Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(Header(Raw("/ui/timeline.js"), "Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(Header(Raw("/ui/style.css"), "Content-Type"), "text/css; charset=utf-8");
  EXPECT_EQ(Header(Raw("/ui/favicon.svg"), "Content-Type"), "image/svg+xml");
  RawResponse js = Raw("/ui/timeline.js");
  EXPECT_NE(js.body.find("export class Timeline"), std::string::npos);
  EXPECT_EQ(Header(js, "X-Content-Type-Options"), "nosniff");
}

TEST_F(UiE2ETest, MatchingEtagAnswers304WithoutBody) {
  RawResponse first = Raw("/ui/app.js");
  ASSERT_EQ(first.status, 200);
  const std::string etag = Header(first, "ETag");
  ASSERT_EQ(etag.size(), 18u) << etag;  // a quoted 16-digit digest
  EXPECT_EQ(etag.front(), '"');
  RawResponse again = Raw("/ui/app.js", "If-None-Match: " + etag + "\r\n");
  EXPECT_EQ(again.status, 304) << again.head;
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(Header(again, "ETag"), etag);
  EXPECT_EQ(Raw("/ui/app.js", "If-None-Match: \"x\", W/" + etag + "\r\n").status, 304);
  // Another file's tag, or a stale one, gets the bytes.
  EXPECT_EQ(Raw("/ui/style.css", "If-None-Match: " + etag + "\r\n").status, 200);
  EXPECT_EQ(Raw("/ui/app.js", "If-None-Match: \"0000000000000000\"\r\n").status, 200);
}

TEST_F(UiE2ETest, ClientRoutesServeThePageAndMissingAssets404) {
  RawResponse index = Raw("/ui/");
  for (const char* route : {"/ui/jobs/web", "/ui/allocations/0b7c9f3e-1234", "/ui/jobs/web.v2/",
                            "/ui/jobs/a%20b?namespace=default"}) {
    RawResponse r = Raw(route);
    EXPECT_EQ(r.status, 200) << route;
    EXPECT_EQ(r.body, index.body) << route;
  }
  for (const char* missing : {"/ui/missing.js", "/ui/app.js.map", "/ui/.env"}) {
    RawResponse r = Raw(missing);
    EXPECT_EQ(r.status, 404) << missing;
    EXPECT_EQ(r.body, "404 page not found\n") << missing;
  }
}

TEST_F(UiE2ETest, RootRedirectsToTheUi) {
  RawResponse r = Raw("/");
  EXPECT_EQ(r.status, 307);
  EXPECT_EQ(Header(r, "Location"), "/ui/");
  RawResponse bare = Raw("/ui");
  EXPECT_EQ(bare.status, 301);
  EXPECT_EQ(Header(bare, "Location"), "/ui/");
}

TEST_F(UiE2ETest, TraversalAndHostilePathsAreRefused) {
  for (const std::string& target :
       {"/ui/../v1/jobs"s, "/ui/%2e%2e/v1/jobs"s, "/ui/%2E%2E/%2e%2e/etc/passwd"s,
        "/ui/jobs/../../v1/agent/self"s, "/ui/./app.js"s, "/ui/jobs/%00"s, "/ui/%5c..%5capp.js"s,
        "/ui/jobs/%2f..%2f"s, "/ui/jobs/%zz"s, "/ui/" + std::string(600, 'a')}) {
    RawResponse r = Raw(target);
    EXPECT_EQ(r.status, 400) << target << "\n" << r.head << r.body;
    EXPECT_EQ(r.body.find("<html"), std::string::npos) << target;
  }
  // A NUL on the wire never reaches a handler.
  RawResponse nul = Raw("/ui/app.js\0x"s);
  EXPECT_GE(nul.status, 400);
  EXPECT_LT(nul.status, 500);
  // The agent still serves.
  EXPECT_EQ(Raw("/ui/app.js").status, 200);
}

TEST_F(UiE2ETest, BrowserGuardsApplyToThePage) {
  RawResponse rebinding = Raw("/ui/", "", "attacker.example");
  EXPECT_EQ(rebinding.status, 403);
  EXPECT_NE(rebinding.body.find("DNS rebinding"), std::string::npos) << rebinding.body;
  EXPECT_EQ(Raw("/ui/app.js", "Sec-Fetch-Site: cross-site\r\n").status, 403);
  EXPECT_EQ(Raw("/ui/app.js", "Origin: http://attacker.example\r\n").status, 403);
  // The page's own requests pass.
  const std::string own = "http://127.0.0.1:" + std::to_string(agent_->port());
  EXPECT_EQ(Raw("/ui/app.js", "Origin: " + own + "\r\nSec-Fetch-Site: same-origin\r\n",
                "127.0.0.1:" + std::to_string(agent_->port()))
                .status,
            200);
  EXPECT_EQ(Raw("/ui/", "Sec-Fetch-Site: none\r\n").status, 200);
}

TEST_F(UiE2ETest, OnlyGetIsServed) {
  auto c = RawConnection::Connect(agent_->port());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->Send("POST /ui/app.js HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n"
                      "Connection: close\r\n\r\n")
                  .ok());
  auto r = c->ReadResponse();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 405);
}

TEST(UiAclE2ETest, PageNeedsNoTokenWhileTheApiDoes) {
  AgentOptions options;
  options.extra_args = {"--acl-enabled"};
  auto agent = AgentProcess::Launch(options);
  ASSERT_TRUE(agent.ok()) << agent.status().ToString();
  HttpClient client = (*agent)->Client();
  auto page = client.Get("/ui/");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->status, 200);
  auto jobs = client.Get("/v1/jobs");
  ASSERT_TRUE(jobs.ok());
  EXPECT_EQ(jobs->status, 403);
  EXPECT_EQ(jobs->body, "Permission denied");
}

}  // namespace
}  // namespace drover::testing
