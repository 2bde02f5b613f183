// Nomad's HCL2 jobspec (jobspec2) on top of the HCL parser: a job file, its
// variables and locals in, the job as Nomad's api.Job JSON out, the JSON
// that `nomad job run -output` prints before the server fills defaults.
//
// The file holds `variable "name" {type, default, description, sensitive,
// nullable, validation {condition, error_message}}` blocks, `locals {...}`
// blocks and exactly one `job "id" {...}`. Inside the job every block and
// attribute of Nomad's job specification that Drover's model carries is
// decoded with Nomad's names and conversions: durations ("30s", or a number
// of nanoseconds) to nanoseconds, labels to names (job ID, group and task
// Name, port Label, spread target Value, volume Name), constraint and
// affinity shortcuts (`distinct_hosts = true`, `regexp = "..."`, ...) to
// Operand/RTarget, ports with a `static` value to ReservedPorts, template
// defaults (change_mode "restart", perms "0644", splay 5s). An attribute
// or block Nomad does not know there, or one Drover cannot run (connect,
// vault, consul, device, csi_plugin, scaling, ...), is refused with its
// position, as `nomad job validate` refuses unknown ones.
//
// Runtime references (`${NOMAD_ALLOC_DIR}`, `${attr.kernel.name}`,
// `${node.unique.name}`, `${meta.x}`, `${env["X"]}`) stay as text for the
// task. No agent dependency; the agent canonicalizes the result itself.
#pragma once

#include <boost/json/object.hpp>
#include <map>
#include <string>
#include <string_view>

#include "common/status.h"

namespace drover::hcl {

struct JobspecInput {
  std::string_view source;
  std::string filename = "input.hcl";
  // A variables file's content (`name = value` lines), as Nomad's
  // JobsParseRequest.Variables and `-var-file`.
  std::string_view variables_file;
  // `-var name=value` overrides: converted to the declared type.
  std::map<std::string, std::string> var_flags;
};

// The job as api.Job JSON. Errors are InvalidArgument, "<file>:<line>:<col>:
// <summary>; <detail>".
Result<boost::json::object> ParseJobspec(const JobspecInput& input);

}  // namespace drover::hcl
