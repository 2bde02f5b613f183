// Job admission: Nomad's defaults (api Canonicalize + server-side) and
// validation (structs.Job.Validate), with Nomad's error texts where Nomad
// has them. Drover adds one rule of its own: every task uses raw_exec with
// a "command".
#pragma once

#include "common/status.h"
#include "storage/model.h"

namespace drover {

// Fills what the submitter left out: Region "global", Namespace "default",
// Name = ID, Type "service", Priority 50, Datacenters ["*"], NodePool
// "default"; per group Count 1, the job type's RestartPolicy and
// ReschedulePolicy, EphemeralDisk 300 MB; per task KillTimeout 5s,
// LogConfig 10 x 10 MB, Resources 100 MHz / 300 MB.
void CanonicalizeJob(Job& job);

// Checks a canonicalized job. InvalidArgument lists every problem found.
Status ValidateJob(const Job& job);

// True if two versions of a job describe the same workload (everything but
// the indexes, version, status and submit time is equal).
bool SameJobSpec(const Job& a, const Job& b);

// Nomad's default policies per job type.
RestartPolicy DefaultRestartPolicy(const std::string& job_type);
std::optional<ReschedulePolicy> DefaultReschedulePolicy(const std::string& job_type);

}  // namespace drover
