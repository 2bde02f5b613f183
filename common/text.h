// Text from requests, made safe to show: Go's %q for error messages, and
// control characters escaped for log lines.
#pragma once

#include <string>
#include <string_view>

namespace drover {

// Go's strconv.Quote, which fmt's %q applies to strings: quoted, `"` and
// `\` escaped, control characters (C0, DEL, C1) and invalid UTF-8 escaped
// as Go escapes them; every other code point is taken as printable.
std::string GoQuote(std::string_view text);

// `text` with control characters as \n, \t, \r or \xNN, so that it stays
// on one line; nothing else changes.
std::string EscapeControls(std::string_view text);

}  // namespace drover
