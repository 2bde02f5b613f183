// The web page's files, embedded at build time by cmake/embed_assets.cmake
// from ui/ (the generated ui_assets.cc in the build dir defines UiAssets()).
#pragma once

#include <span>
#include <string_view>

#include "common/status.h"

namespace drover::api {

struct UiAsset {
  std::string_view name;          // "index.html", "timeline.js": no folders
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view etag;          // a strong, quoted ETag of the bytes
  std::string_view body;
};

// Every asset, sorted by name.
std::span<const UiAsset> UiAssets();

// What the path after "/ui/" (raw, as on the wire, without the query)
// serves: "" and client routes ("jobs", "allocations/<id>") the page
// (index.html); a top-level name in the table that asset. A top-level name
// with a dot that is not in the table (a missing asset) is NotFound. A path
// over 512 bytes, with an empty, "." or ".." segment (escaped or not), a
// broken escape, a NUL, a control character or a backslash is
// InvalidArgument: nothing under /ui/ reads a file, but such a path is
// refused outright rather than guessed at.
Result<const UiAsset*> ResolveUiPath(std::string_view tail);

}  // namespace drover::api
