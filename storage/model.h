// The model: Nomad's objects as Drover stores and serves them.
//
// Member names are Nomad's JSON keys (PascalCase) so that one generic codec
// (storage/codec.cc) maps every struct to Nomad's JSON shape. Units follow
// Nomad: durations and event times are int64 nanoseconds (Nanos), task
// state times are RFC 3339 text (GoTime).
//
// Parts of Nomad's objects that Drover carries but does not interpret
// (constraints, networks, services, update strategies, ...) are RawJson:
// kept verbatim, so a job comes back exactly as it was submitted.
//
// This header is deliberately light (no Boost): the codec's templates live
// in codec.cc only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/gotime.h"

namespace drover {

// JSON text kept as it came; "null" when absent.
struct RawJson {
  std::string text = "null";
  bool IsNull() const { return text == "null"; }
  friend bool operator==(const RawJson&, const RawJson&) = default;
};

using StringMap = std::map<std::string, std::string>;

// ---- Job ------------------------------------------------------------------

struct RestartPolicy {
  std::int64_t Attempts = 0;
  Nanos Interval = 0;
  Nanos Delay = 0;
  std::string Mode;  // "fail" | "delay"
  bool RenderTemplates = false;
  friend bool operator==(const RestartPolicy&, const RestartPolicy&) = default;
};

struct ReschedulePolicy {
  std::int64_t Attempts = 0;
  Nanos Interval = 0;
  Nanos Delay = 0;
  std::string DelayFunction;  // "constant" | "exponential" | "fibonacci"
  Nanos MaxDelay = 0;
  bool Unlimited = false;
  friend bool operator==(const ReschedulePolicy&, const ReschedulePolicy&) = default;
};

struct LogConfig {
  std::int64_t MaxFiles = 0;
  std::int64_t MaxFileSizeMB = 0;
  bool Disabled = false;
  friend bool operator==(const LogConfig&, const LogConfig&) = default;
};

struct EphemeralDisk {
  bool Sticky = false;
  std::int64_t SizeMB = 0;
  bool Migrate = false;
  friend bool operator==(const EphemeralDisk&, const EphemeralDisk&) = default;
};

struct Resources {
  std::int64_t CPU = 0;       // MHz
  std::int64_t Cores = 0;
  std::int64_t MemoryMB = 0;
  std::int64_t MemoryMaxMB = 0;
  std::int64_t DiskMB = 0;
  std::int64_t IOPS = 0;
  RawJson Networks;
  RawJson Devices;
  friend bool operator==(const Resources&, const Resources&) = default;
};

struct TaskLifecycle {
  std::string Hook;  // "prestart" | "poststart" | "poststop"
  bool Sidecar = false;
  friend bool operator==(const TaskLifecycle&, const TaskLifecycle&) = default;
};

struct Task {
  std::string Name;
  std::string Driver;
  std::string User;
  RawJson Config;  // driver config; raw_exec reads "command" and "args"
  RawJson Constraints;
  RawJson Affinities;
  std::optional<StringMap> Env;
  RawJson Services;
  std::optional<::drover::Resources> Resources;
  std::optional<::drover::RestartPolicy> RestartPolicy;  // overrides the group's
  RawJson Spreads;
  RawJson DispatchPayload;
  std::optional<StringMap> Meta;
  Nanos KillTimeout = 0;
  std::optional<::drover::LogConfig> LogConfig;
  RawJson Artifacts;
  RawJson Vault;
  RawJson Templates;
  RawJson VolumeMounts;
  bool Leader = false;
  Nanos ShutdownDelay = 0;
  std::string KillSignal;
  std::string Kind;
  std::optional<TaskLifecycle> Lifecycle;
  RawJson ScalingPolicies;
  RawJson Identity;
  friend bool operator==(const Task&, const Task&) = default;
};

struct TaskGroup {
  std::string Name;
  std::int64_t Count = 0;
  RawJson Constraints;
  RawJson Affinities;
  std::optional<::drover::RestartPolicy> RestartPolicy;
  std::optional<::drover::ReschedulePolicy> ReschedulePolicy;
  std::vector<Task> Tasks;
  RawJson Spreads;
  std::optional<::drover::EphemeralDisk> EphemeralDisk;
  RawJson Update;
  RawJson Migrate;
  RawJson Networks;
  RawJson Services;
  RawJson Volumes;
  RawJson Scaling;
  std::optional<StringMap> Meta;
  std::optional<Nanos> ShutdownDelay;
  RawJson StopAfterClientDisconnect;
  RawJson MaxClientDisconnect;
  friend bool operator==(const TaskGroup&, const TaskGroup&) = default;
};

struct Job {
  std::string Region;
  std::string Namespace;
  std::string ID;
  std::string ParentID;
  std::string Name;
  std::string Type;  // "service" | "batch" | "sysbatch"
  std::int64_t Priority = 0;
  bool AllAtOnce = false;
  std::vector<std::string> Datacenters;
  std::string NodePool;
  RawJson Constraints;
  RawJson Affinities;
  std::vector<TaskGroup> TaskGroups;
  RawJson Update;
  RawJson Multiregion;
  RawJson Spreads;
  RawJson Periodic;
  RawJson ParameterizedJob;
  bool Dispatched = false;
  RawJson Payload;
  std::optional<StringMap> Meta;
  std::string ConsulToken;
  std::string VaultToken;
  std::string VaultNamespace;
  std::string NomadTokenID;
  std::string Status;  // "pending" | "running" | "dead"
  std::string StatusDescription;
  bool Stable = false;
  std::uint64_t Version = 0;
  Nanos SubmitTime = 0;
  bool Stop = false;
  std::uint64_t CreateIndex = 0;
  std::uint64_t ModifyIndex = 0;
  std::uint64_t JobModifyIndex = 0;
  friend bool operator==(const Job&, const Job&) = default;
};

// ---- Allocation -----------------------------------------------------------

struct TaskEvent {
  std::string Type;
  Nanos Time = 0;
  std::string Message;
  std::string DisplayMessage;
  StringMap Details;
  bool FailsTask = false;
  std::string RestartReason;
  std::string SetupError;
  std::string DriverError;
  std::int64_t ExitCode = 0;
  std::int64_t Signal = 0;
  Nanos KillTimeout = 0;
  std::string KillError;
  std::string KillReason;
  Nanos StartDelay = 0;
  std::string DownloadError;
  std::string ValidationError;
  std::int64_t DiskLimit = 0;
  std::string FailedSibling;
  std::string VaultError;
  std::string TaskSignalReason;
  std::string TaskSignal;
  std::string DriverMessage;
  std::string GenericSource;
  friend bool operator==(const TaskEvent&, const TaskEvent&) = default;
};

struct TaskState {
  std::string State;  // "pending" | "running" | "dead"
  bool Failed = false;
  std::uint64_t Restarts = 0;
  std::optional<GoTime> LastRestart;  // null until set
  std::optional<GoTime> StartedAt;
  std::optional<GoTime> FinishedAt;
  std::vector<TaskEvent> Events;  // the latest kTaskEventLimit
  RawJson TaskHandle;
  friend bool operator==(const TaskState&, const TaskState&) = default;
};

struct RescheduleEvent {
  Nanos RescheduleTime = 0;
  std::string PrevAllocID;
  std::string PrevNodeID;
  Nanos Delay = 0;
  friend bool operator==(const RescheduleEvent&, const RescheduleEvent&) = default;
};

struct RescheduleTracker {
  std::vector<RescheduleEvent> Events;
  friend bool operator==(const RescheduleTracker&, const RescheduleTracker&) = default;
};

struct AllocMetric {
  std::int64_t NodesEvaluated = 0;
  std::int64_t NodesFiltered = 0;
  std::int64_t NodesInPool = 0;
  std::optional<std::map<std::string, std::int64_t>> NodesAvailable;
  std::optional<std::map<std::string, std::int64_t>> ClassFiltered;
  std::optional<std::map<std::string, std::int64_t>> ConstraintFiltered;
  std::int64_t NodesExhausted = 0;
  std::optional<std::map<std::string, std::int64_t>> ClassExhausted;
  std::optional<std::map<std::string, std::int64_t>> DimensionExhausted;
  RawJson QuotaExhausted;
  RawJson ResourcesExhausted;
  std::optional<std::map<std::string, double>> Scores;
  RawJson ScoreMetaData;
  Nanos AllocationTime = 0;
  std::int64_t CoalescedFailures = 0;
  friend bool operator==(const AllocMetric&, const AllocMetric&) = default;
};

struct Allocation {
  std::string ID;
  std::string Namespace;
  std::string EvalID;
  std::string Name;  // "<job>.<group>[<index>]"
  std::string NodeID;
  std::string NodeName;
  std::string JobID;
  std::optional<::drover::Job> Job;
  std::string TaskGroup;
  RawJson Resources;  // pre-0.9 shape, kept when present
  RawJson SharedResources;
  RawJson TaskResources;
  RawJson AllocatedResources;
  std::optional<AllocMetric> Metrics;
  std::string DesiredStatus;  // "run" | "stop" | "evict"
  std::string DesiredDescription;
  RawJson DesiredTransition;
  std::string ClientStatus;  // "pending" | "running" | "complete" | "failed" | "lost"
  std::string ClientDescription;
  std::optional<std::map<std::string, TaskState>> TaskStates;
  RawJson AllocStates;
  std::string DeploymentID;
  RawJson DeploymentStatus;
  std::optional<::drover::RescheduleTracker> RescheduleTracker;
  RawJson NetworkStatus;
  std::string FollowupEvalID;
  std::string PreviousAllocation;
  std::string NextAllocation;
  RawJson PreemptedAllocations;
  std::string PreemptedByAllocation;
  std::uint64_t CreateIndex = 0;
  std::uint64_t ModifyIndex = 0;
  std::uint64_t AllocModifyIndex = 0;
  Nanos CreateTime = 0;
  Nanos ModifyTime = 0;
  friend bool operator==(const Allocation&, const Allocation&) = default;
};

// What list endpoints return for an allocation (Nomad's AllocListStub).
struct AllocListStub {
  std::string ID;
  std::string EvalID;
  std::string Name;
  std::string Namespace;
  std::string NodeID;
  std::string NodeName;
  std::string JobID;
  std::string JobType;
  std::uint64_t JobVersion = 0;
  std::string TaskGroup;
  RawJson AllocatedResources;  // only with ?resources=true
  std::string DesiredStatus;
  std::string DesiredDescription;
  RawJson DesiredTransition;
  std::string ClientStatus;
  std::string ClientDescription;
  std::optional<std::map<std::string, TaskState>> TaskStates;
  RawJson DeploymentStatus;
  std::string FollowupEvalID;
  std::string NextAllocation;
  std::string PreviousAllocation;
  std::optional<::drover::RescheduleTracker> RescheduleTracker;
  RawJson PreemptedAllocations;
  std::string PreemptedByAllocation;
  std::uint64_t CreateIndex = 0;
  std::uint64_t ModifyIndex = 0;
  Nanos CreateTime = 0;
  Nanos ModifyTime = 0;
  friend bool operator==(const AllocListStub&, const AllocListStub&) = default;
};

AllocListStub MakeAllocListStub(const Allocation& alloc);

// The task group the allocation runs (from its embedded Job), or null.
const TaskGroup* GroupOf(const Allocation& alloc);
// The named task of that group, or null.
const Task* TaskOf(const Allocation& alloc, const std::string& task);

// ---- Evaluation, Node, Event ------------------------------------------------

struct Evaluation {
  std::string ID;
  std::string Namespace;
  std::int64_t Priority = 0;
  std::string Type;
  std::string TriggeredBy;  // "job-register" | "job-deregister" | "alloc-stop" | ...
  std::string JobID;
  std::uint64_t JobModifyIndex = 0;
  std::string NodeID;
  std::uint64_t NodeModifyIndex = 0;
  std::string DeploymentID;
  std::string Status;  // "pending" | "complete" | "failed" | "blocked"
  std::string StatusDescription;
  Nanos Wait = 0;
  RawJson WaitUntil;
  std::string NextEval;
  std::string PreviousEval;
  std::string BlockedEval;
  RawJson FailedTGAllocs;
  RawJson ClassEligibility;
  bool EscapedComputedClass = false;
  bool AnnotatePlan = false;
  std::optional<std::map<std::string, std::int64_t>> QueuedAllocations;
  std::uint64_t SnapshotIndex = 0;
  std::uint64_t CreateIndex = 0;
  std::uint64_t ModifyIndex = 0;
  Nanos CreateTime = 0;
  Nanos ModifyTime = 0;
  friend bool operator==(const Evaluation&, const Evaluation&) = default;
};

struct Node {
  std::string ID;
  std::string Datacenter;
  std::string Name;
  std::string HTTPAddr;
  bool TLSEnabled = false;
  StringMap Attributes;
  RawJson NodeResources;
  RawJson ReservedResources;
  StringMap Links;
  StringMap Meta;
  std::string NodeClass;
  std::string NodePool;
  bool Drain = false;
  RawJson DrainStrategy;
  std::string SchedulingEligibility;  // "eligible"
  std::string Status;                 // "ready" | "down" | "initializing"
  std::string StatusDescription;
  std::int64_t StatusUpdatedAt = 0;   // Unix seconds, as Nomad
  RawJson Events;
  RawJson Drivers;
  RawJson HostVolumes;
  RawJson LastDrain;  // Nomad's DrainMetadata of the latest drain, null before one
  std::uint64_t CreateIndex = 0;
  std::uint64_t ModifyIndex = 0;
  friend bool operator==(const Node&, const Node&) = default;
};

// ---- Deployment ---------------------------------------------------------------

// A task group's part of a deployment (Nomad's DeploymentState).
struct DeploymentState {
  bool AutoRevert = false;
  bool AutoPromote = false;
  Nanos ProgressDeadline = 0;
  GoTime RequireProgressBy;  // reset to now + ProgressDeadline on progress
  bool Promoted = false;
  std::vector<std::string> PlacedCanaries;
  std::int64_t DesiredCanaries = 0;
  std::int64_t DesiredTotal = 0;
  std::int64_t PlacedAllocs = 0;
  std::int64_t HealthyAllocs = 0;
  std::int64_t UnhealthyAllocs = 0;
  friend bool operator==(const DeploymentState&, const DeploymentState&) = default;
};

// One job version's rollout (Nomad's Deployment).
struct Deployment {
  std::string ID;
  std::string Namespace;
  std::string JobID;
  std::uint64_t JobVersion = 0;
  std::uint64_t JobModifyIndex = 0;
  std::uint64_t JobSpecModifyIndex = 0;
  std::uint64_t JobCreateIndex = 0;
  bool IsMultiregion = false;
  std::map<std::string, DeploymentState> TaskGroups;
  std::string Status;  // "running" | "paused" | "failed" | "successful" | "cancelled"
  std::string StatusDescription;
  std::int64_t EvalPriority = 0;
  std::uint64_t CreateIndex = 0;
  std::uint64_t ModifyIndex = 0;
  Nanos CreateTime = 0;
  Nanos ModifyTime = 0;
  friend bool operator==(const Deployment&, const Deployment&) = default;
};

inline constexpr const char* kDeploymentRunning = "running";
inline constexpr const char* kDeploymentPaused = "paused";
inline constexpr const char* kDeploymentFailed = "failed";
inline constexpr const char* kDeploymentSuccessful = "successful";
inline constexpr const char* kDeploymentCancelled = "cancelled";

// Nomad's Deployment.Active(): running, paused (or a multiregion state).
inline bool DeploymentActive(const Deployment& d) {
  return d.Status == kDeploymentRunning || d.Status == kDeploymentPaused;
}

// ---- ACL -------------------------------------------------------------------

// An ACL token as Nomad serves it. The secret itself is never stored: the
// store keeps SecretHash (SHA-256, hex) and the API fills SecretID only in
// the replies that may carry it (creation, bootstrap, token/self).
struct ACLToken {
  std::string AccessorID;
  std::string SecretID;
  std::string Name;
  std::string Type;  // "client" | "management"
  std::vector<std::string> Policies;
  bool Global = false;
  GoTime CreateTime;
  std::optional<GoTime> ExpirationTime;
  Nanos ExpirationTTL = 0;
  std::string SecretHash;  // stored only; never served
  std::uint64_t CreateIndex = 0;
  std::uint64_t ModifyIndex = 0;
  friend bool operator==(const ACLToken&, const ACLToken&) = default;
};

// A named ACL policy; Rules is the policy text (HCL or its JSON form).
struct ACLPolicy {
  std::string Name;
  std::string Description;
  std::string Rules;
  RawJson JobACL;
  std::uint64_t CreateIndex = 0;
  std::uint64_t ModifyIndex = 0;
  friend bool operator==(const ACLPolicy&, const ACLPolicy&) = default;
};

inline constexpr const char* kAclTokenClient = "client";
inline constexpr const char* kAclTokenManagement = "management";

// An entry of the durable event journal, in the shape of Nomad's event
// stream (`GET /v1/event/stream`).
struct Event {
  std::string Topic;  // "Job" | "Evaluation" | "Allocation" | "Node"
  std::string Type;   // "JobRegistered" | "AllocationUpdated" | ...
  std::string Key;
  std::string Namespace;
  std::vector<std::string> FilterKeys;
  std::uint64_t Index = 0;
  RawJson Payload;  // {"Allocation": {...}} etc.
  friend bool operator==(const Event&, const Event&) = default;
};

// A journal event whose payload is {"<topic>": <object_json>}, the shape of
// Nomad's event stream.
Event MakeEvent(const std::string& topic, const std::string& type, const std::string& key,
                const std::string& ns, const std::string& object_json,
                std::vector<std::string> filter_keys = {});

// ---- Constants -------------------------------------------------------------

inline constexpr std::size_t kTaskEventLimit = 10;  // events kept per task

inline constexpr const char* kJobTypeService = "service";
inline constexpr const char* kJobTypeBatch = "batch";
inline constexpr const char* kJobTypeSysBatch = "sysbatch";

inline constexpr const char* kTaskStatePending = "pending";
inline constexpr const char* kTaskStateRunning = "running";
inline constexpr const char* kTaskStateDead = "dead";

inline constexpr const char* kAllocDesiredRun = "run";
inline constexpr const char* kAllocDesiredStop = "stop";

inline constexpr const char* kAllocClientPending = "pending";
inline constexpr const char* kAllocClientRunning = "running";
inline constexpr const char* kAllocClientComplete = "complete";
inline constexpr const char* kAllocClientFailed = "failed";
inline constexpr const char* kAllocClientLost = "lost";

// A ClientStatus from which the allocation never runs again.
inline bool ClientTerminal(const std::string& client_status) {
  return client_status == kAllocClientComplete || client_status == kAllocClientFailed ||
         client_status == kAllocClientLost;
}

}  // namespace drover
