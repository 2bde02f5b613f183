// Text from requests, made safe to show: Go's %q for error messages, and
// control characters escaped for log lines.
#pragma once

#include <optional>
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

// Standard base64 (RFC 4648, padded), as Go's encoding/json writes []byte.
std::string Base64Encode(std::string_view in);
// Go's base64.StdEncoding.DecodeString: padding required, \r and \n
// ignored; nullopt for anything else that is not base64.
std::optional<std::string> Base64Decode(std::string_view in);

// Go's strconv.ParseBool: 1 t T TRUE true True, 0 f F FALSE false False.
std::optional<bool> GoParseBool(std::string_view text);

}  // namespace drover
