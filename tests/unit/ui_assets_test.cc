// The embedded web page (cmake/embed_assets.cmake) and how a path under
// /ui/ resolves (api/ui_assets.h).
#include "api/ui_assets.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace drover::api {
namespace {

TEST(UiAssetsTest, TableIsSortedTypedAndTagged) {
  auto assets = UiAssets();
  ASSERT_FALSE(assets.empty());
  EXPECT_TRUE(std::is_sorted(assets.begin(), assets.end(),
                             [](const UiAsset& a, const UiAsset& b) { return a.name < b.name; }));
  for (const UiAsset& a : assets) {
    EXPECT_FALSE(a.body.empty()) << a.name;
    EXPECT_FALSE(a.content_type.empty()) << a.name;
    EXPECT_EQ(a.etag.size(), 18u) << a.name;
    if (a.name.ends_with(".js")) EXPECT_EQ(a.content_type, "text/javascript; charset=utf-8");
    if (a.name.ends_with(".svg")) EXPECT_EQ(a.content_type, "image/svg+xml");
  }
  // Different bytes, different tags.
  for (std::size_t i = 1; i < assets.size(); ++i) EXPECT_NE(assets[i].etag, assets[i - 1].etag);
}

std::string Resolved(std::string_view tail) {
  auto r = ResolveUiPath(tail);
  if (!r.ok()) return r.status().code() == StatusCode::kNotFound ? "404" : "400";
  return std::string((*r)->name);
}

TEST(UiAssetsTest, PathsResolveToAssetsOrThePage) {
  EXPECT_EQ(Resolved(""), "index.html");
  EXPECT_EQ(Resolved("app.js"), "app.js");
  EXPECT_EQ(Resolved("style.css"), "style.css");
  EXPECT_EQ(Resolved("jobs"), "index.html");
  EXPECT_EQ(Resolved("jobs/"), "index.html");
  EXPECT_EQ(Resolved("jobs/web.v2"), "index.html");
  EXPECT_EQ(Resolved("allocations/5f1e-aa/"), "index.html");
  EXPECT_EQ(Resolved("jobs/a%20b"), "index.html");
  // Files are only at the top: a name in a folder is a client route.
  EXPECT_EQ(Resolved("x/app.js"), "index.html");
  EXPECT_EQ(Resolved("missing.js"), "404");
  EXPECT_EQ(Resolved(".env"), "404");
}

TEST(UiAssetsTest, HostilePathsAreRefused) {
  for (const char* bad : {"..", "../v1/jobs", "jobs/..", "%2e%2e/x", "%2E%2e", "./app.js", "jobs//x",
                          "/app.js", "jobs/%00", "a%5cb", "a%2fb", "%zz", "a\tb", "a\\b", "a%7f"}) {
    EXPECT_EQ(Resolved(bad), "400") << bad;
  }
  EXPECT_EQ(Resolved(std::string(512, 'a')), "index.html");
  EXPECT_EQ(Resolved(std::string(513, 'a')), "400");
  EXPECT_EQ(Resolved(std::string("a\0b", 3)), "400");
}

}  // namespace
}  // namespace drover::api
