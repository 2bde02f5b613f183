// Queries: jobs and evaluations.
#include <algorithm>
#include <boost/json.hpp>

#include "service/page_objects.h"
#include "service/queries.h"
#include "storage/codec.h"
#include "storage/state_store.h"

namespace drover {
namespace {

namespace json = boost::json;

bool Live(const Allocation& a) {
  return a.DesiredStatus == kAllocDesiredRun && !ClientTerminal(a.ClientStatus);
}

// Nomad's JobSummary counts of `allocs`, per task group of `job`.
json::object GroupSummary(const Job& job, const std::vector<Allocation>& allocs) {
  json::object summary;
  for (const TaskGroup& tg : job.TaskGroups) {
    summary[tg.Name] = json::object{{"Queued", 0},  {"Complete", 0}, {"Failed", 0},
                                    {"Running", 0}, {"Starting", 0}, {"Lost", 0},
                                    {"Unknown", 0}};
  }
  for (const Allocation& a : allocs) {
    auto* group = summary.if_contains(a.TaskGroup);
    if (group == nullptr) continue;
    const char* key = a.ClientStatus == kAllocClientRunning    ? "Running"
                      : a.ClientStatus == kAllocClientComplete ? "Complete"
                      : a.ClientStatus == kAllocClientFailed   ? "Failed"
                      : a.ClientStatus == kAllocClientLost     ? "Lost"
                                                               : "Starting";
    auto& counter = group->get_object()[key];
    counter = counter.to_number<std::int64_t>() + 1;
  }
  return summary;
}

// The job as stored, with the Status derived from its allocations.
Result<json::value> FullJobJson(const Queries& queries, const Job& job) {
  ASSIGN_OR_RETURN(std::string status, queries.JobStatus(job));
  json::value v = ToJson(job);
  v.get_object()["Status"] = status;
  return v;
}

// Nomad's JobListStub, with its JobSummary.
Result<json::value> JobStub(const Queries& queries, const StateStore& store, const Job& job) {
  ASSIGN_OR_RETURN(std::vector<Allocation> allocs, store.ListAllocsByJob(job.Namespace, job.ID));
  json::object summary = GroupSummary(job, allocs);
  ASSIGN_OR_RETURN(json::value full, FullJobJson(queries, job));
  json::object& f = full.get_object();
  json::object stub;
  for (const char* field : {"ID", "ParentID", "Name", "Namespace", "Datacenters", "NodePool",
                            "Multiregion", "Type", "Priority", "Stop", "Status", "StatusDescription", "CreateIndex", "ModifyIndex",
                            "JobModifyIndex", "SubmitTime", "Version", "Meta"}) {
    if (auto* v = f.if_contains(field)) stub[field] = *v;
  }
  // Nomad's JobListStub has booleans here (IsPeriodic, IsParameterized).
  stub["Periodic"] = !job.Periodic.IsNull();
  stub["ParameterizedJob"] = !job.ParameterizedJob.IsNull() && !job.Dispatched;
  stub["JobSummary"] = json::object{{"JobID", job.ID},
                                    {"Namespace", job.Namespace},
                                    {"Summary", std::move(summary)},
                                    {"Children", json::object{{"Pending", 0},
                                                              {"Running", 0},
                                                              {"Dead", 0}}},
                                    {"CreateIndex", job.CreateIndex},
                                    {"ModifyIndex", job.ModifyIndex}};
  return json::value(std::move(stub));
}

}  // namespace

Result<QueryReply> Queries::ListJobs(const std::string& prefix, const NamespaceView& view,
                                     const ListOptions& list) const {
  QueryReply reply;
  reply.index = store_.TableIndex(Table::kJobs);
  ASSIGN_OR_RETURN(std::vector<Job> jobs, store_.ListJobs());
  std::erase_if(jobs, [&](const Job& j) {
    return !view.Shows(j.Namespace) || j.ID.rfind(prefix, 0) != 0;
  });
  if (list.reverse) std::reverse(jobs.begin(), jobs.end());
  auto token = [](const Job& j) { return PageToken::NamespaceAndId(j.Namespace, j.ID); };
  Status stub_error;
  auto render = [&](const Job& j) -> json::value {
    auto stub = JobStub(*this, store_, j);
    if (!stub.ok()) stub_error = stub.status();
    return stub.ok() ? std::move(stub).value() : json::value(nullptr);
  };
  ASSIGN_OR_RETURN(ListPage page, PageObjects(jobs, list, token, render));
  RETURN_IF_ERROR(stub_error);
  reply.body = std::move(page.items);
  reply.next_token = std::move(page.next_token);
  return reply;
}

Result<QueryReply> Queries::JobJson(const std::string& ns, const std::string& id) const {
  ASSIGN_OR_RETURN(std::optional<Job> job, store_.GetJob(ns, id));
  if (!job) return NotFound("job not found");
  ASSIGN_OR_RETURN(json::value body, FullJobJson(*this, *job));
  return QueryReply{job->ModifyIndex, std::move(body)};
}

Result<std::string> Queries::JobStatus(const Job& job) const {
  ASSIGN_OR_RETURN(std::vector<Allocation> allocs, store_.ListAllocsByJob(job.Namespace, job.ID));
  for (const Allocation& a : allocs) {
    if (Live(a)) return std::string("running");
  }
  if (job.Stop || !allocs.empty()) return std::string("dead");
  return std::string("pending");
}

Result<QueryReply> Queries::ListEvals(const std::string& prefix, const std::string& job_id,
                                      const NamespaceView& view, const ListOptions& list) const {
  QueryReply reply;
  reply.index = store_.TableIndex(Table::kEvals);
  ASSIGN_OR_RETURN(std::vector<Evaluation> evals, store_.ListEvals());
  std::erase_if(evals, [&](const Evaluation& e) {
    return !view.Shows(e.Namespace) || (!job_id.empty() && e.JobID != job_id) ||
           e.ID.rfind(prefix, 0) != 0;
  });
  if (list.reverse) std::reverse(evals.begin(), evals.end());
  auto token = [](const Evaluation& e) { return PageToken::CreateIndexAndId(e.CreateIndex, e.ID); };
  auto render = [](const Evaluation& e) { return ToJson(e); };
  ASSIGN_OR_RETURN(ListPage page, PageObjects(evals, list, token, render));
  reply.body = std::move(page.items);
  reply.next_token = std::move(page.next_token);
  return reply;
}

Result<std::optional<Evaluation>> Queries::GetEval(const std::string& id) const {
  return store_.GetEval(id);
}

}  // namespace drover
