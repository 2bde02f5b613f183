// `-t`: a small subset of Go's text/template over a JSON value, enough for
// what Nomad's docs show (`-t '{{ range . }}{{ .ID }}{{ "\n" }}{{ end }}'`).
//
//   {{ . }}  {{ .Field.Sub }}  {{ $.Root }}   the value at a field path
//   {{ "text" }}  {{ 42 }}                     literals
//   {{ index .Map "key" }}  {{ index .List 0 }}  {{ len .List }}
//   {{ if X }} .. {{ else }} .. {{ end }}      Go's truth: not false, 0,
//   {{ range X }} .. {{ else }} .. {{ end }}    null or empty
//   {{ with X }} .. {{ end }}
//   {{- and -}} trim the white space beside them.
// Strings print as they are, numbers and bools as Go prints them, a field
// that is absent as "<no value>", objects and lists as compact JSON (Go
// would print map[...]). Variables ($x := ...), pipes and other functions
// are not supported and are an error that says so.
#pragma once

#include <boost/json/fwd.hpp>
#include <string>

#include "common/status.h"

namespace drover::cli {

Result<std::string> RenderTemplate(const std::string& text, const boost::json::value& data);

}  // namespace drover::cli
