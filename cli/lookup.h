// Finding jobs, allocations and nodes by ID prefix, with Nomad's texts:
//   Identifier must contain at least two characters.
//   No allocation(s) with prefix or id "x" found
//   Prefix matched multiple allocations\n\n<table>
//   No job(s) with prefix or ID "x" found
//   Prefix "x" matched multiple jobs\n\n<table>
// and the tables commands share.
#pragma once

#include <boost/json/value.hpp>
#include <string>

#include "cli/meta.h"
#include "common/status.h"

namespace drover::cli {

// The allocation (full, from /v1/allocation/:id) whose ID starts with
// `prefix`. Several matches: FailedPrecondition with the table.
Result<boost::json::value> AllocByPrefix(Meta& meta, const std::string& prefix,
                                         std::size_t id_length = 8);
// The ID of the job whose ID is `prefix` or the one starting with it.
Result<std::string> JobIdByPrefix(Meta& meta, const std::string& prefix);
// The node (full) whose ID starts with `prefix`.
Result<boost::json::value> NodeByPrefix(Meta& meta, const std::string& prefix);

// How a status command ends on a failed lookup: several matches print
// their table and succeed (exit 0), as Nomad's; anything else fails.
int StatusLookupFailure(const Status& st);

// Nomad's allocation table (job status, alloc status of several, node status).
std::string FormatAllocStubs(const boost::json::value& stubs, bool verbose, std::size_t id_length);
// Nomad's job list table (job status without an ID).
std::string FormatJobStubs(const boost::json::value& stubs);

}  // namespace drover::cli
