// The stored forms of an allocation (schema v4): what `allocs` and
// `alloc_create` hold, shared by the store, its migration and its readers.
//
// `allocs` <alloc id> -> an AllocRecord: a small binary header (the job
// version the allocation runs, its CreateIndex and ModifyIndex) followed by
// the allocation's JSON with `"Job":null`. The Job lives once per version in
// `job_versions` and is re-attached on read.
//
// `alloc_create` be64(CreateIndex) <alloc id> -> a StubRecord: the
// allocation's namespace and its AllocListStub JSON, cut at the two members
// a list may leave out (AllocatedResources, TaskStates), so that a list
// copies bytes and never decodes an allocation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "storage/model.h"

namespace drover {

// The job version an allocation runs: (namespace, job ID) come from the
// allocation; `modify_index` (the job's JobModifyIndex) tells apart a
// version 0 registered again after a purge.
struct JobVersionRef {
  std::uint64_t version = 0;
  std::uint64_t modify_index = 0;
  std::string type;  // the job's Type, for stubs
  friend bool operator==(const JobVersionRef&, const JobVersionRef&) = default;
};

// The `job_versions` key of a job: ns \0 id \0 be64(version) be64(modify index).
std::string JobVersionKey(const std::string& ns, const std::string& id, const JobVersionRef& ref);
JobVersionRef RefOf(const Job& job);

// ---- allocs ----------------------------------------------------------------

struct AllocRecordHeader {
  std::optional<JobVersionRef> job;
  std::string_view job_key;  // its `job_versions` key (into the record)
  std::uint64_t create_index = 0;
  std::uint64_t modify_index = 0;
};

// Encodes `alloc` (its Job, if any, left out) under `header`.
std::string EncodeAllocRecord(const Allocation& alloc, const std::optional<JobVersionRef>& job);

struct AllocRecordView {
  AllocRecordHeader header;
  std::string_view json;  // the allocation with "Job":null
};
Result<AllocRecordView> ParseAllocRecord(std::string_view record);

// The allocation's JSON with `job_json` in place of its "Job":null, byte
// for byte what encoding the allocation with that Job gives.
Result<std::string> SpliceJob(std::string_view alloc_json, std::string_view job_json);

// ---- alloc_create ---------------------------------------------------------------

std::string EncodeStubRecord(const Allocation& alloc, const std::optional<JobVersionRef>& job);

struct StubRecordView {
  std::string_view ns;
  std::string_view head;       // "{...,"TaskGroup":..."
  std::string_view resources;  // ',"AllocatedResources":...'
  std::string_view middle;     // ',"DesiredStatus":...'
  std::string_view states;     // ',"TaskStates":...'
  std::string_view tail;       // ',"DeploymentStatus":...}'
};
Result<StubRecordView> ParseStubRecord(std::string_view record);

// Appends the stub's JSON as the list endpoints show it: TaskStates null
// unless `task_states`, AllocatedResources left out unless `resources`.
void AppendStubJson(const StubRecordView& stub, bool task_states, bool resources,
                    std::string& out);

// The few members of a stub that start-up and the GC decide on, read from
// its middle and tail segments without decoding the allocation or its task
// states (a few hundred bytes, not the whole record).
struct StubStatus {
  std::string desired_status;
  std::string client_status;
  std::string followup_eval_id;
  Nanos modify_time = 0;
};
Result<StubStatus> ReadStubStatus(const StubRecordView& stub);

}  // namespace drover
