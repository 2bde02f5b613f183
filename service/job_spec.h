// Job admission: Nomad's defaults (api Canonicalize + server-side) and
// validation (structs.Job.Validate), with Nomad's error texts where Nomad
// has them. Drover adds one rule of its own: every task uses raw_exec with
// a "command".
#pragma once

#include <cstdint>
#include <limits>

#include "common/status.h"
#include "service/node.h"
#include "storage/model.h"

namespace drover {

// Fills what the submitter left out: Region "global", Namespace "default",
// Name = ID, Type "service", Priority 50, Datacenters ["*"], NodePool
// "default"; per group Count 1, the job type's RestartPolicy and
// ReschedulePolicy, EphemeralDisk 300 MB; per task KillTimeout 5s,
// LogConfig 10 x 10 MB, Resources 100 MHz / 300 MB. As Nomad's api
// merges a partial policy into the defaults, a zero field that can never
// be valid (restart Interval and Mode; reschedule Delay, DelayFunction,
// MaxDelay, Interval; disk SizeMB; log MaxFiles, MaxFileSizeMB) is taken
// as unset and gets the default; a task's RestartPolicy gets the group's.
void CanonicalizeJob(Job& job);

// Checks a canonicalized job before anything of it is stored (Nomad's
// Job.Validate and what it calls, with Nomad's texts; service/job_validate.cc).
// InvalidArgument lists every problem found, in go-multierror's format.
// Beyond Nomad's rules (Drover runs raw_exec tasks on one node):
// - a group's Count is at most what `capacity` could ever hold of it
//   (min(cpu_mhz / group CPU, memory_mb / group MemoryMB), at least 1);
// - resources are summed in 64 bits and an overflow is an error;
// - LogConfig.MaxFiles <= kMaxLogFiles, MaxFileSizeMB <= kMaxLogFileSizeMB;
// - task and group names have no control characters; task names are not
//   "." or "..";
// - no string anywhere in the job (env, args, meta, ...) holds a NUL.
Status ValidateJob(const Job& job, const NodeCapacity& capacity);

// The largest LogConfig values a task may ask for: a file count that fits
// an int, a file size whose bytes fit an int64.
inline constexpr std::int64_t kMaxLogFiles = std::numeric_limits<std::int32_t>::max();
inline constexpr std::int64_t kMaxLogFileSizeMB = std::numeric_limits<std::int64_t>::max() >> 20;

// True if two versions of a job describe the same workload (everything but
// the indexes, version, status and submit time is equal).
bool SameJobSpec(const Job& a, const Job& b);

// Nomad's default policies per job type.
RestartPolicy DefaultRestartPolicy(const std::string& job_type);
std::optional<ReschedulePolicy> DefaultReschedulePolicy(const std::string& job_type);

}  // namespace drover
