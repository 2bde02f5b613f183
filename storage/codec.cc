#include "storage/codec.h"

#include <boost/describe.hpp>
#include <boost/json.hpp>
#include <boost/mp11.hpp>

#include <charconv>
#include <cmath>
#include <type_traits>

namespace drover {

BOOST_DESCRIBE_STRUCT(RestartPolicy, (), (Attempts, Interval, Delay, Mode, RenderTemplates))
BOOST_DESCRIBE_STRUCT(ReschedulePolicy, (),
                      (Attempts, Interval, Delay, DelayFunction, MaxDelay, Unlimited))
BOOST_DESCRIBE_STRUCT(LogConfig, (), (MaxFiles, MaxFileSizeMB, Disabled))
BOOST_DESCRIBE_STRUCT(EphemeralDisk, (), (Sticky, SizeMB, Migrate))
BOOST_DESCRIBE_STRUCT(Resources, (),
                      (CPU, Cores, MemoryMB, MemoryMaxMB, DiskMB, IOPS, Networks, Devices))
BOOST_DESCRIBE_STRUCT(TaskLifecycle, (), (Hook, Sidecar))
BOOST_DESCRIBE_STRUCT(Task, (),
                      (Name, Driver, User, Config, Constraints, Affinities, Env, Services,
                       Resources, RestartPolicy, Spreads, DispatchPayload, Meta, KillTimeout,
                       LogConfig, Artifacts, Vault, Templates, VolumeMounts, Leader,
                       ShutdownDelay, KillSignal, Kind, Lifecycle, ScalingPolicies, Identity))
BOOST_DESCRIBE_STRUCT(TaskGroup, (),
                      (Name, Count, Constraints, Affinities, RestartPolicy, ReschedulePolicy,
                       Tasks, Spreads, EphemeralDisk, Update, Migrate, Networks, Services,
                       Volumes, Scaling, Meta, ShutdownDelay, StopAfterClientDisconnect,
                       MaxClientDisconnect))
BOOST_DESCRIBE_STRUCT(Job, (),
                      (Region, Namespace, ID, ParentID, Name, Type, Priority, AllAtOnce,
                       Datacenters, NodePool, Constraints, Affinities, TaskGroups, Update,
                       Multiregion, Spreads, Periodic, ParameterizedJob, Dispatched, Payload,
                       Meta, ConsulToken, VaultToken, VaultNamespace, NomadTokenID, Status,
                       StatusDescription, Stable, Version, SubmitTime, Stop, CreateIndex,
                       ModifyIndex, JobModifyIndex))
BOOST_DESCRIBE_STRUCT(TaskEvent, (),
                      (Type, Time, Message, DisplayMessage, Details, FailsTask, RestartReason,
                       SetupError, DriverError, ExitCode, Signal, KillTimeout, KillError,
                       KillReason, StartDelay, DownloadError, ValidationError, DiskLimit,
                       FailedSibling, VaultError, TaskSignalReason, TaskSignal, DriverMessage,
                       GenericSource))
BOOST_DESCRIBE_STRUCT(TaskState, (),
                      (State, Failed, Restarts, LastRestart, StartedAt, FinishedAt, Events,
                       TaskHandle))
BOOST_DESCRIBE_STRUCT(RescheduleEvent, (), (RescheduleTime, PrevAllocID, PrevNodeID, Delay))
BOOST_DESCRIBE_STRUCT(RescheduleTracker, (), (Events))
BOOST_DESCRIBE_STRUCT(AllocMetric, (),
                      (NodesEvaluated, NodesFiltered, NodesInPool, NodesAvailable, ClassFiltered,
                       ConstraintFiltered, NodesExhausted, ClassExhausted, DimensionExhausted,
                       QuotaExhausted, ResourcesExhausted, Scores, ScoreMetaData,
                       AllocationTime, CoalescedFailures))
BOOST_DESCRIBE_STRUCT(Allocation, (),
                      (ID, Namespace, EvalID, Name, NodeID, NodeName, JobID, Job, TaskGroup,
                       Resources, SharedResources, TaskResources, AllocatedResources, Metrics,
                       DesiredStatus, DesiredDescription, DesiredTransition, ClientStatus,
                       ClientDescription, TaskStates, AllocStates, DeploymentID,
                       DeploymentStatus, RescheduleTracker, NetworkStatus, FollowupEvalID,
                       PreviousAllocation, NextAllocation, PreemptedAllocations,
                       PreemptedByAllocation, CreateIndex, ModifyIndex, AllocModifyIndex,
                       CreateTime, ModifyTime))
BOOST_DESCRIBE_STRUCT(AllocListStub, (),
                      (ID, EvalID, Name, Namespace, NodeID, NodeName, JobID, JobType, JobVersion,
                       TaskGroup, AllocatedResources, DesiredStatus, DesiredDescription,
                       DesiredTransition, ClientStatus, ClientDescription, TaskStates,
                       DeploymentStatus, FollowupEvalID, NextAllocation, PreviousAllocation,
                       RescheduleTracker, PreemptedAllocations, PreemptedByAllocation,
                       CreateIndex, ModifyIndex, CreateTime, ModifyTime))
BOOST_DESCRIBE_STRUCT(Evaluation, (),
                      (ID, Namespace, Priority, Type, TriggeredBy, JobID, JobModifyIndex, NodeID,
                       NodeModifyIndex, DeploymentID, Status, StatusDescription, Wait, WaitUntil,
                       NextEval, PreviousEval, BlockedEval, FailedTGAllocs, ClassEligibility,
                       EscapedComputedClass, AnnotatePlan, QueuedAllocations, SnapshotIndex,
                       CreateIndex, ModifyIndex, CreateTime, ModifyTime))
BOOST_DESCRIBE_STRUCT(Node, (),
                      (ID, Datacenter, Name, HTTPAddr, TLSEnabled, Attributes, NodeResources,
                       ReservedResources, Links, Meta, NodeClass, NodePool, Drain, DrainStrategy,
                       SchedulingEligibility, Status, StatusDescription, StatusUpdatedAt, Events,
                       Drivers, HostVolumes, LastDrain, CreateIndex, ModifyIndex))
BOOST_DESCRIBE_STRUCT(Event, (), (Topic, Type, Key, Namespace, FilterKeys, Index, Payload))
BOOST_DESCRIBE_STRUCT(ACLToken, (),
                      (AccessorID, SecretID, Name, Type, Policies, Global, CreateTime,
                       ExpirationTime, ExpirationTTL, SecretHash, CreateIndex, ModifyIndex))
BOOST_DESCRIBE_STRUCT(DeploymentState, (),
                      (AutoRevert, AutoPromote, ProgressDeadline, RequireProgressBy, Promoted,
                       PlacedCanaries, DesiredCanaries, DesiredTotal, PlacedAllocs, HealthyAllocs,
                       UnhealthyAllocs))
BOOST_DESCRIBE_STRUCT(Deployment, (),
                      (ID, Namespace, JobID, JobVersion, JobModifyIndex, JobSpecModifyIndex,
                       JobCreateIndex, IsMultiregion, TaskGroups, Status, StatusDescription,
                       EvalPriority, CreateIndex, ModifyIndex, CreateTime, ModifyTime))
BOOST_DESCRIBE_STRUCT(ACLPolicy, (), (Name, Description, Rules, JobACL, CreateIndex, ModifyIndex))

namespace {

namespace json = boost::json;

template <typename T>
struct IsOptional : std::false_type {};
template <typename T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <typename T>
struct IsVector : std::false_type {};
template <typename T>
struct IsVector<std::vector<T>> : std::true_type {};
template <typename T>
struct IsStringMap : std::false_type {};
template <typename T>
struct IsStringMap<std::map<std::string, T>> : std::true_type {};

// ---- Encoding ----------------------------------------------------------------

template <typename T>
json::value Encode(const T& v);

template <typename T>
json::value EncodeMembers(const T& v) {
  json::object obj;
  boost::mp11::mp_for_each<boost::describe::describe_members<T, boost::describe::mod_public>>(
      [&](auto d) { obj.emplace(d.name, Encode(v.*d.pointer)); });
  return obj;
}

template <typename T>
json::value Encode(const T& v) {
  if constexpr (std::is_same_v<T, std::string>) {
    return json::value(v);
  } else if constexpr (std::is_same_v<T, bool>) {
    return json::value(v);
  } else if constexpr (std::is_integral_v<T> || std::is_floating_point_v<T>) {
    return json::value(v);
  } else if constexpr (std::is_same_v<T, GoTime>) {
    return json::value(FormatRFC3339Nano(v));
  } else if constexpr (std::is_same_v<T, RawJson>) {
    boost::system::error_code ec;
    json::value parsed = json::parse(v.text, ec);
    return ec ? json::value(nullptr) : parsed;
  } else if constexpr (IsOptional<T>::value) {
    return v ? Encode(*v) : json::value(nullptr);
  } else if constexpr (IsVector<T>::value) {
    if (v.empty()) return nullptr;  // Go's nil slice
    json::array arr;
    arr.reserve(v.size());
    for (const auto& e : v) arr.push_back(Encode(e));
    return arr;
  } else if constexpr (IsStringMap<T>::value) {
    json::object obj;
    for (const auto& [k, e] : v) obj.emplace(k, Encode(e));
    return obj;
  } else {
    static_assert(boost::describe::has_describe_members<T>::value, "no codec for this type");
    return EncodeMembers(v);
  }
}

// ---- Decoding ----------------------------------------------------------------

// The dotted path of the value being decoded, for error messages.
class Path {
 public:
  explicit Path(std::string_view root) : text_(root) {}
  const std::string& str() const { return text_; }
  size_t Field(const char* name) {
    size_t mark = text_.size();
    text_.append(".").append(name);
    return mark;
  }
  size_t Element(size_t i) {
    size_t mark = text_.size();
    text_.append("[").append(std::to_string(i)).append("]");
    return mark;
  }
  size_t Key(std::string_view k) {
    size_t mark = text_.size();
    text_.append("[\"").append(k).append("\"]");
    return mark;
  }
  void Restore(size_t mark) { text_.resize(mark); }

 private:
  std::string text_;
};

const char* KindName(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "bool";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return "number";
    case json::kind::string: return "string";
    case json::kind::array: return "array";
    case json::kind::object: return "object";
  }
  return "value";
}

Status ExactNumbers(const json::value& v, const Path& p) {
  switch (v.kind()) {
    case json::kind::double_: {
      std::string text = json::serialize(v);
      boost::system::error_code ec;
      json::value again = json::parse(text, ec);
      if (ec || !again.is_double() || again.get_double() != v.get_double()) {
        return InvalidArgument(p.str() + ": number " + text +
                               " has more digits than can be stored exactly");
      }
      return Status::Ok();
    }
    case json::kind::array:
      for (const json::value& x : v.get_array()) RETURN_IF_ERROR(ExactNumbers(x, p));
      return Status::Ok();
    case json::kind::object:
      for (const auto& kv : v.get_object()) RETURN_IF_ERROR(ExactNumbers(kv.value(), p));
      return Status::Ok();
    default:
      return Status::Ok();
  }
}

Status TypeError(const Path& p, const char* want, const json::value& got) {
  return InvalidArgument(p.str() + ": expected " + want + ", got " + KindName(got));
}

template <typename Int>
Status DecodeInteger(const json::value& v, Int& out, const Path& p) {
  switch (v.kind()) {
    case json::kind::int64: {
      std::int64_t x = v.get_int64();
      if (std::is_unsigned_v<Int> && x < 0) return InvalidArgument(p.str() + ": must not be negative");
      out = static_cast<Int>(x);
      return Status::Ok();
    }
    case json::kind::uint64: {
      std::uint64_t x = v.get_uint64();
      if (std::is_signed_v<Int> && x > static_cast<std::uint64_t>(INT64_MAX))
        return InvalidArgument(p.str() + ": number out of range");
      out = static_cast<Int>(x);
      return Status::Ok();
    }
    case json::kind::double_: {
      // 2.5e+10 is an integer; check the range before converting (a double
      // outside Int's range converts with undefined behaviour).
      double d = v.get_double();
      if (d != std::trunc(d)) return InvalidArgument(p.str() + ": expected an integer");
      constexpr double kLow = std::is_signed_v<Int> ? -9223372036854775808.0 : 0.0;
      constexpr double kHigh =  // 2^63 or 2^64, both exact doubles
          std::is_signed_v<Int> ? 9223372036854775808.0 : 18446744073709551616.0;
      if (!(d >= kLow && d < kHigh)) {
        if (std::is_unsigned_v<Int> && d < 0)
          return InvalidArgument(p.str() + ": must not be negative");
        return InvalidArgument(p.str() + ": number out of range");
      }
      out = static_cast<Int>(d);
      return Status::Ok();
    }
    case json::kind::string: {
      // Some Nomad payloads quote large integers ("Delay": "5000000000").
      const json::string& s = v.get_string();
      Int x{};
      auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
      if (ec != std::errc() || ptr != s.data() + s.size()) return TypeError(p, "a number", v);
      out = x;
      return Status::Ok();
    }
    default:
      return TypeError(p, "a number", v);
  }
}

template <typename T>
Status Decode(const json::value& v, T& out, Path& p);

template <typename T>
Status DecodeMembers(const json::value& v, T& out, Path& p) {
  if (!v.is_object()) return TypeError(p, "an object", v);
  const json::object& obj = v.get_object();
  Status st;
  boost::mp11::mp_for_each<boost::describe::describe_members<T, boost::describe::mod_public>>(
      [&](auto d) {
        if (!st.ok()) return;
        auto it = obj.find(d.name);
        if (it == obj.end()) return;
        size_t mark = p.Field(d.name);
        st = Decode(it->value(), out.*d.pointer, p);
        p.Restore(mark);
      });
  return st;
}

template <typename T>
Status Decode(const json::value& v, T& out, Path& p) {
  if (v.is_null()) {
    if constexpr (IsOptional<T>::value) out.reset();
    return Status::Ok();  // Go leaves the zero value
  }
  if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string()) return TypeError(p, "a string", v);
    out.assign(v.get_string().data(), v.get_string().size());
    return Status::Ok();
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_bool()) return TypeError(p, "a bool", v);
    out = v.get_bool();
    return Status::Ok();
  } else if constexpr (std::is_integral_v<T>) {
    return DecodeInteger(v, out, p);
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number()) return TypeError(p, "a number", v);
    out = v.to_number<double>();
    return Status::Ok();
  } else if constexpr (std::is_same_v<T, GoTime>) {
    if (!v.is_string()) return TypeError(p, "an RFC 3339 time string", v);
    auto t = ParseRFC3339(std::string_view(v.get_string().data(), v.get_string().size()));
    if (!t.ok()) return t.status().Annotate(p.str());
    out = *t;
    return Status::Ok();
  } else if constexpr (std::is_same_v<T, RawJson>) {
    out.text = json::serialize(v);
    return Status::Ok();
  } else if constexpr (IsOptional<T>::value) {
    out.emplace();
    return Decode(v, *out, p);
  } else if constexpr (IsVector<T>::value) {
    if (!v.is_array()) return TypeError(p, "an array", v);
    const json::array& arr = v.get_array();
    out.clear();
    out.resize(arr.size());
    for (size_t i = 0; i < arr.size(); ++i) {
      size_t mark = p.Element(i);
      RETURN_IF_ERROR(Decode(arr[i], out[i], p));
      p.Restore(mark);
    }
    return Status::Ok();
  } else if constexpr (IsStringMap<T>::value) {
    if (!v.is_object()) return TypeError(p, "an object", v);
    out.clear();
    for (const auto& kv : v.get_object()) {
      size_t mark = p.Key(kv.key());
      RETURN_IF_ERROR(Decode(kv.value(), out[std::string(kv.key())], p));
      p.Restore(mark);
    }
    return Status::Ok();
  } else {
    return DecodeMembers(v, out, p);
  }
}

}  // namespace

Event AllocationEvent(const std::string& type, const Allocation& alloc) {
  json::value payload = Encode(alloc);
  payload.get_object()["Job"] = nullptr;
  return MakeEvent("Allocation", type, alloc.ID, alloc.Namespace, json::serialize(payload),
                   {alloc.JobID});
}

Status RequireExactNumbers(const json::value& v, std::string_view root) {
  return ExactNumbers(v, Path(root));
}

Result<json::value> ParseJson(std::string_view text) { return ParseJson(text, {}); }

Result<json::value> ParseJson(std::string_view text, json::storage_ptr storage) {
  boost::system::error_code ec;
  json::stream_parser parser;
  parser.reset(std::move(storage));
  size_t used = parser.write(text.data(), text.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) {
    return InvalidArgument("invalid JSON at offset " + std::to_string(used) + ": " +
                           ec.message());
  }
  return parser.release();
}

template <typename T>
json::value ToJson(const T& v) {
  return Encode(v);
}

template <typename T>
std::string EncodeJson(const T& v) {
  return json::serialize(Encode(v));
}

template <typename T>
Result<T> FromJson(const json::value& v, std::string_view root) {
  T out{};
  Path path(root);
  Status st = Decode(v, out, path);
  if (!st.ok()) return st;
  return out;
}

template <typename T>
Result<T> DecodeJson(std::string_view text, std::string_view root) {
  // The document lives only while it is decoded: its nodes come from one
  // arena (on the stack for small documents), not one malloc each.
  unsigned char first[16 << 10];
  json::monotonic_resource arena(first, sizeof first);
  ASSIGN_OR_RETURN(json::value v, ParseJson(text, &arena));
  return FromJson<T>(v, root);
}

#define DROVER_INSTANTIATE_CODEC(T)                                              \
  template json::value ToJson<T>(const T&);                                      \
  template std::string EncodeJson<T>(const T&);                                  \
  template Result<T> FromJson<T>(const json::value&, std::string_view);         \
  template Result<T> DecodeJson<T>(std::string_view, std::string_view);

DROVER_INSTANTIATE_CODEC(Job)
DROVER_INSTANTIATE_CODEC(TaskGroup)
DROVER_INSTANTIATE_CODEC(Task)
DROVER_INSTANTIATE_CODEC(Allocation)
DROVER_INSTANTIATE_CODEC(AllocListStub)
DROVER_INSTANTIATE_CODEC(TaskState)
DROVER_INSTANTIATE_CODEC(TaskEvent)
DROVER_INSTANTIATE_CODEC(Evaluation)
DROVER_INSTANTIATE_CODEC(Node)
DROVER_INSTANTIATE_CODEC(Event)
DROVER_INSTANTIATE_CODEC(RestartPolicy)
DROVER_INSTANTIATE_CODEC(AllocMetric)
DROVER_INSTANTIATE_CODEC(ACLToken)
DROVER_INSTANTIATE_CODEC(ACLPolicy)
DROVER_INSTANTIATE_CODEC(Deployment)

}  // namespace drover
