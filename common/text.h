// Text from requests, made safe to show: Go's %q for error messages, and
// control characters escaped for log lines.
#pragma once

#include <string>
#include <string_view>

namespace drover {

// Go's %q of an ASCII string: quoted, `"` and `\` escaped, control
// characters as \n, \t, \r or \xNN. Bytes >= 0x80 pass through.
std::string GoQuote(std::string_view text);

// `text` with control characters as \n, \t, \r or \xNN, so that it stays
// on one line; nothing else changes.
std::string EscapeControls(std::string_view text);

}  // namespace drover
