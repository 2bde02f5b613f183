// POST|PUT /v1/jobs/parse: an HCL2 jobspec in, the job as JSON out (Nomad's
// JobsParseRequest: JobHCL, Variables, Canonicalize). The parsing is
// hcl/jobspec.h; with Canonicalize the job gets the defaults a submission
// gets (service/job_spec.h), after the job-level reschedule, update and
// migrate blocks are merged into each group as Nomad's api does.
#include <boost/json.hpp>

#include "api/routes.h"
#include "hcl/jobspec.h"
#include "service/job_spec.h"
#include "storage/codec.h"

namespace drover::api {
namespace {

namespace json = boost::json;

// The group's own fields win over the job's.
void MergeInto(json::object& group, const char* group_key, const json::object& job,
               const char* job_key) {
  const json::value* from = job.if_contains(job_key);
  if (from == nullptr || !from->is_object()) return;
  json::object merged = from->get_object();
  if (const json::value* own = group.if_contains(group_key); own && own->is_object()) {
    for (const auto& kv : own->get_object()) merged[kv.key()] = kv.value();
  }
  group[group_key] = std::move(merged);
}

Result<json::value> Canonicalize(json::object parsed) {
  if (json::value* groups = parsed.if_contains("TaskGroups"); groups && groups->is_array()) {
    for (json::value& g : groups->get_array()) {
      MergeInto(g.get_object(), "ReschedulePolicy", parsed, "Reschedule");
      MergeInto(g.get_object(), "Update", parsed, "Update");
      MergeInto(g.get_object(), "Migrate", parsed, "Migrate");
    }
  }
  ASSIGN_OR_RETURN(Job job, FromJson<Job>(json::value(std::move(parsed)), "Job"));
  CanonicalizeJob(job);
  return ToJson(job);
}

void Parse(const Rest::Request& req, Http::ResponseWriter& writer) {
  auto pretty = QueryBool(req, "pretty", false);
  if (!pretty.ok()) return SendError(writer, pretty.status());
  auto body = ParseJson(req.body());
  if (!body.ok()) return SendError(writer, InvalidArgument(body.status().message()));
  if (!body->is_object()) {
    return SendError(writer, InvalidArgument("json: cannot unmarshal " +
                                             std::string(body->is_array() ? "array" : "value") +
                                             " into Go value of type api.JobsParseRequest"));
  }
  const json::object& args = body->get_object();
  auto string_field = [&](const char* name) -> Result<std::string> {
    const json::value* v = args.if_contains(name);
    if (v == nullptr || v->is_null()) return std::string();
    if (!v->is_string()) {
      return InvalidArgument(std::string("json: cannot unmarshal into Go struct field "
                                         "JobsParseRequest.") + name + " of type string");
    }
    return std::string(v->get_string());
  };
  auto bool_field = [&](const char* name) -> Result<bool> {
    const json::value* v = args.if_contains(name);
    if (v == nullptr || v->is_null()) return false;
    if (!v->is_bool()) {
      return InvalidArgument(std::string("json: cannot unmarshal into Go struct field "
                                         "JobsParseRequest.") + name + " of type bool");
    }
    return v->get_bool();
  };
  auto hcl = string_field("JobHCL");
  if (!hcl.ok()) return SendError(writer, hcl.status());
  auto variables = string_field("Variables");
  if (!variables.ok()) return SendError(writer, variables.status());
  auto canonicalize = bool_field("Canonicalize");
  if (!canonicalize.ok()) return SendError(writer, canonicalize.status());
  auto hclv1 = bool_field("HCLv1");
  if (!hclv1.ok()) return SendError(writer, hclv1.status());
  if (hcl->empty()) return SendError(writer, InvalidArgument("Job spec is empty"));
  if (*hclv1) {
    return SendError(writer, InvalidArgument("Failed to parse job: HCL v1 job specifications "
                                             "are not supported; write the job in HCL2"));
  }
  hcl::JobspecInput input;
  input.source = *hcl;
  input.variables_file = *variables;
  auto job = hcl::ParseJobspec(input);
  if (!job.ok()) {
    return SendError(writer, InvalidArgument("Failed to parse job: " + job.status().message()));
  }
  if (!*canonicalize) return SendJson(writer, json::value(std::move(job).value()), *pretty, 0);
  auto canonical = Canonicalize(std::move(job).value());
  if (!canonical.ok()) {
    return SendError(writer,
                     InvalidArgument("Failed to parse job: " + canonical.status().message()));
  }
  SendJson(writer, *canonical, *pretty, 0);
}

}  // namespace

void AddParseRoutes(RouteTable& routes, ApiContext& ctx) {
  routes.Add("/v1/jobs/parse", {Http::Method::Post, Http::Method::Put},
             [](const Rest::Request& req, Http::ResponseWriter& writer) { Parse(req, writer); });
}

}  // namespace drover::api
