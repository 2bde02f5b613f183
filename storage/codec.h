// JSON codecs for the model, in Nomad's JSON shape.
//
// Encoding writes every member under its Nomad name; an empty optional and
// an empty list encode as null (Go's nil), maps and structs as objects,
// GoTime as RFC 3339 text, RawJson verbatim.
//
// Decoding is lenient the way Nomad's is: a missing key or null leaves the
// member's default, unknown keys are ignored. A value of the wrong type is
// an InvalidArgument error that names the field's path, e.g.
// "Job.TaskGroups[0].Tasks[1].KillTimeout: expected a number, got string".
//
// The templates below are instantiated in codec.cc for the model types only.
#pragma once

#include <string>
#include <string_view>

#include <boost/json/fwd.hpp>

#include "common/status.h"
#include "storage/model.h"

namespace drover {

template <typename T>
boost::json::value ToJson(const T& v);

template <typename T>
std::string EncodeJson(const T& v);

// `root` names the top of the path in error messages ("Job", "Allocation").
template <typename T>
Result<T> FromJson(const boost::json::value& v, std::string_view root);

template <typename T>
Result<T> DecodeJson(std::string_view text, std::string_view root);

// An Allocation journal event ("PlanResult", "AllocationUpdated"). The
// payload leaves out the embedded Job: the journal carries jobs in their
// own events.
Event AllocationEvent(const std::string& type, const Allocation& alloc);

// Boost.JSON 1.81 parses numbers of more than 19 significant digits only
// approximately, so such a double need not survive the text it prints as,
// and JSON kept verbatim (RawJson) would change on every round trip.
// InvalidArgument for the first double in `v` that does not come back
// exactly from its own text; applied to what clients submit.
Status RequireExactNumbers(const boost::json::value& v, std::string_view root);

// Parses JSON text; a syntax error is InvalidArgument with its position.
Result<boost::json::value> ParseJson(std::string_view text);
// The same, the document's memory from `storage` (e.g. an arena that
// outlives the document).
Result<boost::json::value> ParseJson(std::string_view text, boost::json::storage_ptr storage);

}  // namespace drover
