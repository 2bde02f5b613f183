// Nomad's job diff (nomad/structs/diff.go): what changed between two
// versions of a job, in the JobDiff shape that `nomad job plan` and
// `nomad job history -p` print. Contextual, as Nomad's plan and version
// endpoints ask for: an object that changed lists its unchanged fields
// too (Type "None"); primitive fields of the job, groups and tasks list
// only what changed.
//
// Covered: the primitive fields (and Meta/Env maps as "Meta[key]") of the
// job, its groups and tasks; Datacenters; constraints and affinities
// (sets); Periodic, ParameterizedJob; per group RestartPolicy, Migrate,
// ReschedulePolicy, EphemeralDisk, Update; per task Config (flattened),
// Resources, LogConfig, DispatchPayload, artifacts (sets). Services,
// networks, volumes, templates and vault blocks are compared whole (one
// object each, fields flattened).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <boost/json/fwd.hpp>

#include "service/reconciler.h"
#include "storage/model.h"

namespace drover {

inline constexpr const char* kDiffNone = "None";
inline constexpr const char* kDiffAdded = "Added";
inline constexpr const char* kDiffDeleted = "Deleted";
inline constexpr const char* kDiffEdited = "Edited";

struct FieldDiff {
  std::string Type;
  std::string Name;
  std::string Old, New;
  std::vector<std::string> Annotations;
};

struct ObjectDiff {
  std::string Type;
  std::string Name;
  std::vector<FieldDiff> Fields;
  std::vector<ObjectDiff> Objects;
};

struct TaskDiff {
  std::string Type;
  std::string Name;
  std::vector<FieldDiff> Fields;
  std::vector<ObjectDiff> Objects;
  std::vector<std::string> Annotations;
};

struct TaskGroupDiff {
  std::string Type;
  std::string Name;
  std::vector<FieldDiff> Fields;
  std::vector<ObjectDiff> Objects;
  std::vector<TaskDiff> Tasks;
  std::map<std::string, std::uint64_t> Updates;  // set by AnnotateDiff
};

struct JobDiff {
  std::string Type;
  std::string ID;
  std::vector<FieldDiff> Fields;
  std::vector<ObjectDiff> Objects;
  std::vector<TaskGroupDiff> TaskGroups;
};

// The diff from `old_job` to `new_job` (either may be null: Added or
// Deleted). The jobs have the same ID.
JobDiff DiffJobs(const Job* old_job, const Job* new_job);

// Nomad's scheduler/annotate.go: the groups' Updates from the plan's
// DesiredTGUpdates, Count's "forces create/destroy", and each task's
// "forces create/destroy update" or "forces in-place update".
void AnnotateDiff(JobDiff& diff, const std::map<std::string, DesiredUpdates>& desired);

boost::json::value JobDiffJson(const JobDiff& diff);

}  // namespace drover
