// Nomad's jobspec mapping: a table per block (attributes with their JSON key
// and conversion, child blocks with theirs), one generic decoder over it, and
// a finishing step per block for Nomad's special conversions.
#include "hcl/jobspec.h"

#include <boost/json/array.hpp>
#include <boost/json/string.hpp>

#include <cstdint>
#include <limits>
#include <set>
#include <vector>

#include "common/gotime.h"
#include "hcl/expr.h"
#include "hcl/hcl.h"
#include "hcl/lexer.h"

namespace drover::hcl {
namespace {

namespace json = boost::json;

enum class Kind { kString, kInt, kBool, kDuration, kStrings, kStringMap, kAny };

struct AttrSpec {
  const char* hcl;
  const char* key;  // the api.Job JSON key
  Kind kind;
  std::int64_t lo = std::numeric_limits<std::int64_t>::min();
  std::int64_t hi = std::numeric_limits<std::int64_t>::max();
};

struct BlockSpec;

enum class Mode {
  kOne,      // a single object; a second block is an error
  kMany,     // a list of objects
  kMap,      // only attributes: a map of strings (meta, env)
  kAny,      // anything: attributes as evaluated, nested blocks as lists (driver config)
  kLabeled,  // an object keyed by the block's label (group volumes)
};

struct ChildSpec {
  const char* hcl;
  const char* key;
  Mode mode;
  const BlockSpec* spec = nullptr;  // kOne, kMany, kLabeled
  const char* label = nullptr;      // the JSON key of the block's one label, if it has one
};

using Finish = void (*)(json::object&);

struct BlockSpec {
  std::vector<AttrSpec> attrs;
  std::vector<ChildSpec> children;
  Finish finish = nullptr;
  std::vector<const char*> required = {};
};

// What all expressions of one job file may produce (hcl/expr.h).
constexpr std::size_t kEvalBudget = 64 << 20;

// Blocks Nomad knows that Drover cannot run: refused with their own message.
const std::set<std::string, std::less<>> kUnsupportedBlocks = {
    "connect", "vault", "consul", "device", "csi_plugin", "scaling", "identity", "secret",
    "action", "schedule", "multiregion", "ui", "disconnect", "numa", "cni", "change_script",
    "sidecar_service", "sidecar_task", "gateway", "dynamic"};

// ---- finishing steps ---------------------------------------------------------

std::string TakeString(json::object& o, const char* key) {
  std::string s;
  if (auto* v = o.if_contains(key); v && v->is_string()) s = std::string(v->get_string());
  o.erase(key);
  return s;
}

// Shortcut attributes become Operand and RTarget, as Nomad's decodeConstraint.
void FinishConstraint(json::object& c, bool affinity) {
  std::string ltarget = TakeString(c, "LTarget");
  std::string rtarget = TakeString(c, "RTarget");
  std::string operand = TakeString(c, "Operand");
  if (!affinity) {  // Nomad's constraints take these keys but ignore them
    c.erase("set_contains_any");
    c.erase("set_contains_all");
  }
  const char* shortcuts[] = {"version", "semver", "regexp", "set_contains_any",
                             "set_contains_all", "set_contains"};
  for (const char* s : shortcuts) {
    std::string v = TakeString(c, s);
    if (!v.empty()) {
      operand = s;
      rtarget = v;
    }
  }
  if (!affinity) {
    if (auto* d = c.if_contains("distinct_hosts"); d && d->is_bool()) {
      operand = "distinct_hosts";
      rtarget = d->get_bool() ? "true" : "false";
    }
    c.erase("distinct_hosts");
    std::string property = TakeString(c, "distinct_property");
    if (!property.empty()) {
      operand = "distinct_property";
      ltarget = property;
    }
    c.erase("attribute_is_set");
    c.erase("attribute_is_not_set");
  }
  if (operand.empty()) operand = "=";
  json::object out{{"LTarget", ltarget}, {"RTarget", rtarget}, {"Operand", operand}};
  if (affinity) out["Weight"] = c.contains("Weight") ? c["Weight"] : json::value(nullptr);
  c = std::move(out);
}
void FinishConstraint(json::object& c) { FinishConstraint(c, false); }
void FinishAffinity(json::object& c) { FinishConstraint(c, true); }

// Ports with a static value are reserved, the others dynamic.
void FinishNetwork(json::object& n) {
  auto* ports = n.if_contains("DynamicPorts");
  if (ports == nullptr) return;
  json::array dynamic, reserved;
  for (json::value& p : ports->get_array()) {
    const json::value* v = p.get_object().if_contains("Value");
    (v && v->is_int64() && v->get_int64() > 0 ? reserved : dynamic).push_back(std::move(p));
  }
  if (dynamic.empty()) {
    n.erase("DynamicPorts");
  } else {
    n["DynamicPorts"] = std::move(dynamic);
  }
  if (!reserved.empty()) n["ReservedPorts"] = std::move(reserved);
}

void FinishPort(json::object& p) {
  for (const char* key : {"Value", "To"}) {
    if (!p.contains(key)) p[key] = 0;
  }
  if (!p.contains("HostNetwork")) p["HostNetwork"] = "";
}

void FinishTemplate(json::object& t) {
  if (!t.contains("ChangeMode")) t["ChangeMode"] = "restart";
  if (!t.contains("Perms")) t["Perms"] = "0644";
  if (!t.contains("Splay")) t["Splay"] = 5'000'000'000;
  if (!t.contains("ErrMissingKey")) t["ErrMissingKey"] = false;
}

void FinishPeriodic(json::object& p) {
  if (p.contains("Spec") || p.contains("Specs")) p["SpecType"] = "cron";
}

void FinishVolumeMount(json::object& m) {
  if (!m.contains("ReadOnly")) m["ReadOnly"] = false;
}

// ---- the tables ----------------------------------------------------------------

constexpr Kind S = Kind::kString, I = Kind::kInt, B = Kind::kBool, D = Kind::kDuration,
               L = Kind::kStrings, M = Kind::kStringMap;

const BlockSpec kConstraint{{{"attribute", "LTarget", S},
                             {"value", "RTarget", S},
                             {"operator", "Operand", S},
                             {"distinct_property", "distinct_property", S},
                             {"distinct_hosts", "distinct_hosts", B},
                             {"regexp", "regexp", S},
                             {"version", "version", S},
                             {"semver", "semver", S},
                             {"set_contains", "set_contains", S},
                             {"set_contains_all", "set_contains_all", S},
                             {"set_contains_any", "set_contains_any", S},
                             {"attribute_is_set", "attribute_is_set", S},
                             {"attribute_is_not_set", "attribute_is_not_set", S}},
                            {},
                            FinishConstraint};

const BlockSpec kAffinity{{{"attribute", "LTarget", S},
                           {"value", "RTarget", S},
                           {"operator", "Operand", S},
                           {"weight", "Weight", I, -128, 127},
                           {"regexp", "regexp", S},
                           {"version", "version", S},
                           {"semver", "semver", S},
                           {"set_contains", "set_contains", S},
                           {"set_contains_all", "set_contains_all", S},
                           {"set_contains_any", "set_contains_any", S}},
                          {},
                          FinishAffinity};

const BlockSpec kSpreadTarget{{{"percent", "Percent", I, 0, 255}}, {}};
const BlockSpec kSpread{{{"attribute", "Attribute", S}, {"weight", "Weight", I, -128, 127}},
                        {{"target", "SpreadTarget", Mode::kMany, &kSpreadTarget, "Value"}}};

const BlockSpec kRestart{{{"interval", "Interval", D},
                          {"attempts", "Attempts", I},
                          {"delay", "Delay", D},
                          {"mode", "Mode", S},
                          {"render_templates", "RenderTemplates", B}},
                         {}};

const BlockSpec kReschedule{{{"attempts", "Attempts", I},
                             {"interval", "Interval", D},
                             {"delay", "Delay", D},
                             {"delay_function", "DelayFunction", S},
                             {"max_delay", "MaxDelay", D},
                             {"unlimited", "Unlimited", B}},
                            {}};

const BlockSpec kUpdate{{{"stagger", "Stagger", D},
                         {"max_parallel", "MaxParallel", I},
                         {"health_check", "HealthCheck", S},
                         {"min_healthy_time", "MinHealthyTime", D},
                         {"healthy_deadline", "HealthyDeadline", D},
                         {"progress_deadline", "ProgressDeadline", D},
                         {"canary", "Canary", I},
                         {"auto_revert", "AutoRevert", B},
                         {"auto_promote", "AutoPromote", B}},
                        {}};

const BlockSpec kMigrate{{{"max_parallel", "MaxParallel", I},
                          {"health_check", "HealthCheck", S},
                          {"min_healthy_time", "MinHealthyTime", D},
                          {"healthy_deadline", "HealthyDeadline", D}},
                         {}};

const BlockSpec kPeriodic{{{"enabled", "Enabled", B},
                           {"cron", "Spec", S},
                           {"crons", "Specs", L},
                           {"prohibit_overlap", "ProhibitOverlap", B},
                           {"time_zone", "TimeZone", S}},
                          {},
                          FinishPeriodic};

const BlockSpec kParameterized{{{"payload", "Payload", S},
                                {"meta_required", "MetaRequired", L},
                                {"meta_optional", "MetaOptional", L}},
                               {}};

const BlockSpec kEphemeralDisk{
    {{"sticky", "Sticky", B}, {"migrate", "Migrate", B}, {"size", "SizeMB", I}}, {}};

const BlockSpec kPort{{{"static", "Value", I, 0, 65535},
                       {"to", "To", I, -1, 65535},
                       {"host_network", "HostNetwork", S},
                       {"ignore_collision", "IgnoreCollision", B}},
                      {},
                      FinishPort};

const BlockSpec kDns{
    {{"servers", "Servers", L}, {"searches", "Searches", L}, {"options", "Options", L}}, {}};

const BlockSpec kNetwork{{{"mode", "Mode", S},
                          {"device", "Device", S},
                          {"cidr", "CIDR", S},
                          {"ip", "IP", S},
                          {"hostname", "Hostname", S},
                          {"mbits", "MBits", I}},
                         {{"port", "DynamicPorts", Mode::kMany, &kPort, "Label"},
                          {"dns", "DNS", Mode::kOne, &kDns}},
                         FinishNetwork};

const BlockSpec kResources{{{"cpu", "CPU", I},
                            {"cores", "Cores", I},
                            {"memory", "MemoryMB", I},
                            {"memory_max", "MemoryMaxMB", I},
                            {"disk", "DiskMB", I},
                            {"iops", "IOPS", I},
                            {"secrets", "SecretsMB", I}},
                           {{"network", "Networks", Mode::kMany, &kNetwork}}};

const BlockSpec kCheckRestart{{{"limit", "Limit", I},
                               {"grace", "Grace", D},
                               {"ignore_warnings", "IgnoreWarnings", B}},
                              {}};

const BlockSpec kCheck{{{"name", "Name", S},
                        {"type", "Type", S},
                        {"command", "Command", S},
                        {"args", "Args", L},
                        {"path", "Path", S},
                        {"protocol", "Protocol", S},
                        {"port", "PortLabel", S},
                        {"expose", "Expose", B},
                        {"address_mode", "AddressMode", S},
                        {"advertise", "Advertise", S},
                        {"interval", "Interval", D},
                        {"timeout", "Timeout", D},
                        {"initial_status", "InitialStatus", S},
                        {"notes", "Notes", S},
                        {"tls_server_name", "TLSServerName", S},
                        {"tls_skip_verify", "TLSSkipVerify", B},
                        {"method", "Method", S},
                        {"grpc_service", "GRPCService", S},
                        {"grpc_use_tls", "GRPCUseTLS", B},
                        {"task", "TaskName", S},
                        {"success_before_passing", "SuccessBeforePassing", I},
                        {"failures_before_critical", "FailuresBeforeCritical", I},
                        {"failures_before_warning", "FailuresBeforeWarning", I},
                        {"body", "Body", S},
                        {"on_update", "OnUpdate", S}},
                       {{"header", "Header", Mode::kAny},
                        {"check_restart", "CheckRestart", Mode::kOne, &kCheckRestart}}};

const BlockSpec kService{{{"name", "Name", S},
                          {"tags", "Tags", L},
                          {"canary_tags", "CanaryTags", L},
                          {"enable_tag_override", "EnableTagOverride", B},
                          {"port", "PortLabel", S},
                          {"address_mode", "AddressMode", S},
                          {"address", "Address", S},
                          {"task", "TaskName", S},
                          {"on_update", "OnUpdate", S},
                          {"provider", "Provider", S},
                          {"cluster", "Cluster", S},
                          {"kind", "Kind", S},
                          {"meta", "Meta", M},
                          {"canary_meta", "CanaryMeta", M}},
                         {{"check", "Checks", Mode::kMany, &kCheck},
                          {"check_restart", "CheckRestart", Mode::kOne, &kCheckRestart},
                          {"meta", "Meta", Mode::kMap},
                          {"canary_meta", "CanaryMeta", Mode::kMap},
                          {"tagged_addresses", "TaggedAddresses", Mode::kMap}}};

const BlockSpec kLifecycle{{{"hook", "Hook", S}, {"sidecar", "Sidecar", B}}, {}, nullptr,
                           {"hook"}};

const BlockSpec kLogs{{{"max_files", "MaxFiles", I},
                       {"max_file_size", "MaxFileSizeMB", I},
                       {"enabled", "Enabled", B},
                       {"disabled", "Disabled", B}},
                      {}};

const BlockSpec kArtifact{{{"source", "GetterSource", S},
                           {"destination", "RelativeDest", S},
                           {"mode", "GetterMode", S},
                           {"insecure", "GetterInsecure", B},
                           {"chown", "Chown", B},
                           {"options", "GetterOptions", M},
                           {"headers", "GetterHeaders", M}},
                          {{"options", "GetterOptions", Mode::kMap},
                           {"headers", "GetterHeaders", Mode::kMap}}};

const BlockSpec kWait{{{"min", "Min", D}, {"max", "Max", D}}, {}};

const BlockSpec kTemplate{{{"source", "SourcePath", S},
                           {"destination", "DestPath", S},
                           {"data", "EmbeddedTmpl", S},
                           {"change_mode", "ChangeMode", S},
                           {"change_signal", "ChangeSignal", S},
                           {"once", "Once", B},
                           {"splay", "Splay", D},
                           {"perms", "Perms", S},
                           {"uid", "Uid", I},
                           {"gid", "Gid", I},
                           {"left_delimiter", "LeftDelim", S},
                           {"right_delimiter", "RightDelim", S},
                           {"env", "Envvars", B},
                           {"vault_grace", "VaultGrace", D},
                           {"error_on_missing_key", "ErrMissingKey", B}},
                          {{"wait", "Wait", Mode::kOne, &kWait}},
                          FinishTemplate};

const BlockSpec kVolumeMount{{{"volume", "Volume", S},
                              {"destination", "Destination", S},
                              {"read_only", "ReadOnly", B},
                              {"propagation_mode", "PropagationMode", S}},
                             {},
                             FinishVolumeMount};

const BlockSpec kVolume{{{"type", "Type", S},
                         {"source", "Source", S},
                         {"read_only", "ReadOnly", B},
                         {"access_mode", "AccessMode", S},
                         {"attachment_mode", "AttachmentMode", S},
                         {"per_alloc", "PerAlloc", B}},
                        {}};

const BlockSpec kDispatchPayload{{{"file", "File", S}}, {}};

const BlockSpec kTask{{{"driver", "Driver", S},
                       {"user", "User", S},
                       {"kill_timeout", "KillTimeout", D},
                       {"leader", "Leader", B},
                       {"shutdown_delay", "ShutdownDelay", D},
                       {"kill_signal", "KillSignal", S},
                       {"kind", "Kind", S},
                       {"env", "Env", M},
                       {"meta", "Meta", M}},
                      {{"lifecycle", "Lifecycle", Mode::kOne, &kLifecycle},
                       {"config", "Config", Mode::kAny},
                       {"constraint", "Constraints", Mode::kMany, &kConstraint},
                       {"affinity", "Affinities", Mode::kMany, &kAffinity},
                       {"env", "Env", Mode::kMap},
                       {"service", "Services", Mode::kMany, &kService},
                       {"resources", "Resources", Mode::kOne, &kResources},
                       {"restart", "RestartPolicy", Mode::kOne, &kRestart},
                       {"meta", "Meta", Mode::kMap},
                       {"logs", "LogConfig", Mode::kOne, &kLogs},
                       {"artifact", "Artifacts", Mode::kMany, &kArtifact},
                       {"template", "Templates", Mode::kMany, &kTemplate},
                       {"dispatch_payload", "DispatchPayload", Mode::kOne, &kDispatchPayload},
                       {"volume_mount", "VolumeMounts", Mode::kMany, &kVolumeMount}}};

const BlockSpec kGroup{{{"count", "Count", I},
                        {"shutdown_delay", "ShutdownDelay", D},
                        {"max_run_duration", "MaxRunDuration", D},
                        {"stop_after_client_disconnect", "StopAfterClientDisconnect", D},
                        {"max_client_disconnect", "MaxClientDisconnect", D},
                        {"prevent_reschedule_on_lost", "PreventRescheduleOnLost", B},
                        {"meta", "Meta", M}},
                       {{"constraint", "Constraints", Mode::kMany, &kConstraint},
                        {"affinity", "Affinities", Mode::kMany, &kAffinity},
                        {"task", "Tasks", Mode::kMany, &kTask, "Name"},
                        {"spread", "Spreads", Mode::kMany, &kSpread},
                        {"volume", "Volumes", Mode::kLabeled, &kVolume, "Name"},
                        {"restart", "RestartPolicy", Mode::kOne, &kRestart},
                        {"reschedule", "ReschedulePolicy", Mode::kOne, &kReschedule},
                        {"ephemeral_disk", "EphemeralDisk", Mode::kOne, &kEphemeralDisk},
                        {"update", "Update", Mode::kOne, &kUpdate},
                        {"migrate", "Migrate", Mode::kOne, &kMigrate},
                        {"network", "Networks", Mode::kMany, &kNetwork},
                        {"meta", "Meta", Mode::kMap},
                        {"service", "Services", Mode::kMany, &kService}}};

const BlockSpec kJob{{{"region", "Region", S},
                      {"namespace", "Namespace", S},
                      {"id", "ID", S},
                      {"name", "Name", S},
                      {"type", "Type", S},
                      {"priority", "Priority", I},
                      {"all_at_once", "AllAtOnce", B},
                      {"datacenters", "Datacenters", L},
                      {"node_pool", "NodePool", S},
                      {"meta", "Meta", M}},
                     {{"constraint", "Constraints", Mode::kMany, &kConstraint},
                      {"affinity", "Affinities", Mode::kMany, &kAffinity},
                      {"group", "TaskGroups", Mode::kMany, &kGroup, "Name"},
                      {"update", "Update", Mode::kOne, &kUpdate},
                      {"spread", "Spreads", Mode::kMany, &kSpread},
                      {"periodic", "Periodic", Mode::kOne, &kPeriodic},
                      {"parameterized", "ParameterizedJob", Mode::kOne, &kParameterized},
                      {"reschedule", "Reschedule", Mode::kOne, &kReschedule},
                      {"migrate", "Migrate", Mode::kOne, &kMigrate},
                      {"meta", "Meta", Mode::kMap}}};

// ---- the decoder -----------------------------------------------------------------

class Decoder {
 public:
  Decoder(const JobspecInput& in) : in_(in) {
    ctx_.filename = in_.filename;
    ctx_.variables = &vars_;
    ctx_.local = [this](const std::string& name, Pos pos) { return Local(name, pos); };
    ctx_.budget = &budget_;
  }

  Result<json::object> Run() {
    ASSIGN_OR_RETURN(Block file, ParseConfig(in_.source, in_.filename));
    const Block* job = nullptr;
    std::vector<const Block*> variables;
    for (const Attribute& a : file.attributes) {
      return Unsupported(a.pos, "argument", a.name);
    }
    for (const Block& b : file.blocks) {
      if (b.type == "job") {
        if (job != nullptr) return Duplicate(b, job->pos);
        RETURN_IF_ERROR(Labels(b, 1, "name"));
        job = &b;
      } else if (b.type == "variable") {
        RETURN_IF_ERROR(Labels(b, 1, "name"));
        variables.push_back(&b);
      } else if (b.type == "locals") {
        RETURN_IF_ERROR(Labels(b, 0, ""));
        if (!b.blocks.empty()) return Unsupported(b.blocks[0].pos, "block type", b.blocks[0].type);
        for (const Attribute& a : b.attributes) {
          if (!locals_.emplace(a.name, &a).second) {
            return Error(a.pos, "Duplicate local value definition; A local value named " +
                                    QuoteForMessage(a.name) + " was already defined at " +
                                    FormatPos(in_.filename, locals_[a.name]->pos));
          }
        }
      } else {
        return Unsupported(b.pos, "block type", b.type);
      }
    }
    RETURN_IF_ERROR(DeclareVariables(variables));
    if (job == nullptr) {
      return Error(Pos{1, 1}, "Missing job block; A job block is required");
    }
    json::object body;
    RETURN_IF_ERROR(DecodeBody(*job, kJob, &body));
    // The label is the ID, and the Name unless one is given.
    json::object out{{"ID", job->labels[0]}, {"Name", job->labels[0]}};
    for (auto& kv : body) out[kv.key()] = std::move(kv.value());
    return out;
  }

 private:
  Status Error(Pos pos, std::string_view message) const {
    return ErrorAt(in_.filename, pos, message);
  }
  Status Unsupported(Pos pos, std::string_view what, std::string_view name) const {
    if (what == "block type" && kUnsupportedBlocks.count(name) != 0) {
      return Error(pos, "Unsupported block type; Blocks of type " + QuoteForMessage(name) +
                            " are not supported by Drover.");
    }
    const bool arg = what == "argument";
    return Error(pos, std::string(arg ? "Unsupported argument; An argument named "
                                      : "Unsupported block type; Blocks of type ") +
                          QuoteForMessage(name) + (arg ? " is" : " are") +
                          " not expected here.");
  }
  Status Duplicate(const Block& b, Pos first) const {
    return Error(b.pos, "Duplicate " + b.type + " block; Only one " + b.type +
                            " block is allowed. Another was defined at " +
                            FormatPos(in_.filename, first) + ".");
  }
  Status Labels(const Block& b, std::size_t want, std::string_view label_name) const {
    if (b.labels.size() < want) {
      return Error(b.pos, "Missing name for " + b.type + "; All " + b.type +
                              " blocks must have " + std::to_string(want) + " labels (" +
                              std::string(label_name) + ").");
    }
    if (b.labels.size() > want) {
      return Error(b.pos, "Extraneous label for " + b.type + "; " +
                              (want == 0 ? std::string("No labels are expected")
                                         : "Only " + std::to_string(want) +
                                               " labels (" + std::string(label_name) +
                                               ") are expected") +
                              " for " + b.type + " blocks.");
    }
    return Status::Ok();
  }

  // ---- variables and locals ----

  // The declared type's name ("string", "number", "bool", "list", "map",
  // "any") from the `type` expression, or an error.
  Result<std::string> TypeOf(const Attribute& a) const {
    const Expr& e = *a.expr;
    if (e.kind == Expr::Kind::kTraversal && e.args.empty() &&
        (e.name == "string" || e.name == "number" || e.name == "bool" || e.name == "any")) {
      return e.name;
    }
    if (e.kind == Expr::Kind::kCall &&
        (e.name == "list" || e.name == "set" || e.name == "map" || e.name == "object" ||
         e.name == "tuple")) {
      return e.name == "set" ? std::string("list") : e.name;
    }
    return Error(a.pos, "Invalid type specification; A type specification is required, "
                        "e.g. string, number, bool, list(string), map(string)");
  }

  Result<json::value> Convert(const json::value& v, const std::string& type, Pos pos,
                              const std::string& name) const {
    auto bad = [&](std::string detail) {
      return Error(pos, "Invalid value for variable; The value of variable " +
                            QuoteForMessage(name) + " is not a " + type + ": " + detail);
    };
    if (v.is_null() || type == "any" || type == "object" || type == "tuple") return v;
    if (type == "string") {
      auto s = ToStringValue(v);
      if (!s.ok()) return bad(s.status().message());
      return json::value(json::string(*s));
    }
    if (type == "number") {
      auto n = ToNumberValue(v);
      if (!n.ok()) return bad(n.status().message());
      return *n;
    }
    if (type == "bool") {
      auto b = ToBoolValue(v);
      if (!b.ok()) return bad(b.status().message());
      return json::value(*b);
    }
    if (type == "list" && !v.is_array()) return bad("a list is required");
    if (type == "map" && !v.is_object()) return bad("a map is required");
    return v;
  }

  // A `-var` value: text for simple types, an HCL expression for the others.
  Result<json::value> FlagValue(const std::string& text, const std::string& type,
                                const std::string& name) const {
    if (type == "string" || type == "number" || type == "bool" || type == "any") {
      return Convert(json::value(json::string(text)), type == "any" ? "string" : type, Pos{1, 1},
                     name);
    }
    const std::string source = "value = " + text + "\n";
    const std::string filename = "<value for var." + name + ">";
    ASSIGN_OR_RETURN(Block b, ParseConfig(source, filename));
    EvalContext none;
    none.filename = filename;
    return Evaluate(*b.attributes[0].expr, none);
  }

  Status DeclareVariables(const std::vector<const Block*>& blocks) {
    // The variables file: constant `name = value` lines.
    std::map<std::string, std::pair<json::value, Pos>> given;
    std::string file_name = "variables.hcl";
    Block var_file;
    if (!in_.variables_file.empty()) {
      ASSIGN_OR_RETURN(var_file, ParseConfig(in_.variables_file, file_name));
      if (!var_file.blocks.empty()) {
        return ErrorAt(file_name, var_file.blocks[0].pos,
                       "Unexpected block; only `name = value` lines are allowed here");
      }
      EvalContext none;
      none.filename = file_name;
      for (const Attribute& a : var_file.attributes) {
        ASSIGN_OR_RETURN(json::value v, Evaluate(*a.expr, none));
        given[a.name] = {std::move(v), a.pos};
      }
    }
    std::map<std::string, Pos> declared;
    std::map<std::string, std::string> types;
    for (const Block* b : blocks) {
      const std::string& name = b->labels[0];
      if (auto [it, fresh] = declared.emplace(name, b->pos); !fresh) {
        return Error(b->pos, "Duplicate variable; A variable named " + QuoteForMessage(name) +
                                 " was already declared at " +
                                 FormatPos(in_.filename, it->second) + ".");
      }
      std::string type = "any";
      json::value value;
      bool has_default = false;
      for (const Attribute& a : b->attributes) {
        if (a.name == "type") {
          ASSIGN_OR_RETURN(type, TypeOf(a));
        } else if (a.name == "default") {
          EvalContext none;
          none.filename = in_.filename;
          ASSIGN_OR_RETURN(value, Evaluate(*a.expr, none));
          has_default = true;
        } else if (a.name != "description" && a.name != "sensitive" && a.name != "nullable") {
          return Unsupported(a.pos, "argument", a.name);
        }
      }
      for (const Block& inner : b->blocks) {
        if (inner.type != "validation") return Unsupported(inner.pos, "block type", inner.type);
      }
      if (has_default) {
        ASSIGN_OR_RETURN(value, Convert(value, type, b->pos, name));
      }
      if (auto it = given.find(name); it != given.end()) {
        ASSIGN_OR_RETURN(value, Convert(it->second.first, type, it->second.second, name));
        has_default = true;
      }
      if (auto it = in_.var_flags.find(name); it != in_.var_flags.end()) {
        ASSIGN_OR_RETURN(value, FlagValue(it->second, type, name));
        has_default = true;
      }
      if (!has_default) {
        return Error(b->pos, "Unset variable " + QuoteForMessage(name) +
                                 "; A used variable must be set or have a default value.");
      }
      vars_[name] = std::move(value);
      types[name] = type;
    }
    for (const auto& [name, v] : given) {
      if (!declared.count(name)) {
        return ErrorAt(file_name, v.second,
                       "Undefined variable; A variable named " + QuoteForMessage(name) +
                           " was given a value but is not declared by a variable block.");
      }
    }
    for (const auto& [name, text] : in_.var_flags) {
      if (!declared.count(name)) {
        return Error(Pos{1, 1}, "Undefined -var variable; A " + QuoteForMessage(name) +
                                    " variable was passed but is not declared by a "
                                    "variable block.");
      }
    }
    // Validations see every variable's final value.
    for (const Block* b : blocks) {
      for (const Block& v : b->blocks) {
        const Attribute* cond = v.Find("condition");
        const Attribute* message = v.Find("error_message");
        if (cond == nullptr || message == nullptr) {
          return Error(v.pos, "Missing required argument; a validation block needs "
                              "\"condition\" and \"error_message\".");
        }
        for (const Attribute& a : v.attributes) {
          if (&a != cond && &a != message) return Unsupported(a.pos, "argument", a.name);
        }
        ASSIGN_OR_RETURN(json::value ok, Evaluate(*cond->expr, ctx_));
        auto passed = ToBoolValue(ok);
        if (!passed.ok()) return Error(cond->pos, "Invalid validation condition; " +
                                                      passed.status().message());
        if (!*passed) {
          ASSIGN_OR_RETURN(json::value text, Evaluate(*message->expr, ctx_));
          auto s = ToStringValue(text);
          return Error(b->pos, "Invalid value for variable; " +
                                   (s.ok() ? *s : std::string("validation failed")));
        }
      }
    }
    return Status::Ok();
  }

  Result<json::value> Local(const std::string& name, Pos pos) {
    if (auto it = local_values_.find(name); it != local_values_.end()) return it->second;
    auto it = locals_.find(name);
    if (it == locals_.end()) {
      return Error(pos, "Unsupported attribute; no local value named " + QuoteForMessage(name) +
                            " is defined");
    }
    if (evaluating_.count(name) != 0) {
      return Error(pos, "Cycle in local values: " + QuoteForMessage(name) +
                            " refers to itself");
    }
    if (evaluating_.size() >= static_cast<std::size_t>(kMaxDepth)) {
      return Error(pos, "local values refer to each other too deeply");
    }
    evaluating_.insert(name);
    auto v = Evaluate(*it->second->expr, ctx_);
    evaluating_.erase(name);
    if (!v.ok()) return v.status();
    local_values_[name] = *v;
    return v;
  }

  // ---- the job ----

  Result<json::value> AttrValue(const Attribute& a, const AttrSpec& spec) {
    ASSIGN_OR_RETURN(json::value v, Evaluate(*a.expr, ctx_));
    if (v.is_null()) return v;
    auto bad = [&](const std::string& detail) {
      return Error(a.pos, "Incorrect attribute value type; Inappropriate value for attribute " +
                              QuoteForMessage(a.name) + ": " + detail + ".");
    };
    switch (spec.kind) {
      case Kind::kString: {
        auto s = ToStringValue(v);
        if (!s.ok()) return bad("string required");
        return json::value(json::string(*s));
      }
      case Kind::kInt: {
        auto n = ToNumberValue(v);
        if (!n.ok()) return bad("number required");
        if (!n->is_int64()) return bad("a whole number is required");
        if (n->get_int64() < spec.lo || n->get_int64() > spec.hi) {
          return bad("value must be a whole number, between " + std::to_string(spec.lo) +
                     " and " + std::to_string(spec.hi));
        }
        return *n;
      }
      case Kind::kBool: {
        auto b = ToBoolValue(v);
        if (!b.ok()) return bad("bool required");
        return json::value(*b);
      }
      case Kind::kDuration: {
        if (v.is_string()) {
          auto d = ParseGoDuration(v.get_string());
          if (!d.ok()) {
            return Error(a.pos, "Unsuitable value type; Unsuitable duration value: " +
                                    d.status().message());
          }
          return json::value(static_cast<std::int64_t>(*d));
        }
        auto n = ToNumberValue(v);
        if (!n.ok() || !n->is_int64()) {
          return Error(a.pos, "Unsuitable value type; Unsuitable value: expected a string but "
                              "found " + TypeName(v));
        }
        return *n;
      }
      case Kind::kStrings: {
        if (!v.is_array()) return bad("list of string required");
        json::array out;
        for (const json::value& item : v.get_array()) {
          auto s = ToStringValue(item);
          if (!s.ok()) return bad("list of string required");
          out.emplace_back(json::string(*s));
        }
        return json::value(std::move(out));
      }
      case Kind::kStringMap: {
        if (!v.is_object()) return bad("map of string required");
        json::object out;
        for (const auto& kv : v.get_object()) {
          auto s = ToStringValue(kv.value());
          if (!s.ok()) return bad("map of string required");
          out[kv.key()] = json::string(*s);
        }
        return json::value(std::move(out));
      }
      case Kind::kAny: return v;
    }
    return v;
  }

  // A block of anything: a driver's config, a check's headers.
  Result<json::object> DecodeAny(const Block& b) {
    json::object out;
    for (const Attribute& a : b.attributes) {
      ASSIGN_OR_RETURN(json::value v, Evaluate(*a.expr, ctx_));
      out[a.name] = std::move(v);
    }
    for (const Block& inner : b.blocks) {
      ASSIGN_OR_RETURN(json::object v, DecodeAny(inner));
      json::value& list = out[inner.type];
      if (!list.is_array()) list = json::array();
      list.get_array().push_back(std::move(v));
    }
    return out;
  }

  Status DecodeBody(const Block& b, const BlockSpec& spec, json::object* out) {
    std::map<std::string, Pos> set;  // JSON keys already set, for attribute/block clashes
    for (const Attribute& a : b.attributes) {
      const AttrSpec* as = nullptr;
      for (const AttrSpec& s : spec.attrs) {
        if (a.name == s.hcl) as = &s;
      }
      if (as == nullptr) return Unsupported(a.pos, "argument", a.name);
      ASSIGN_OR_RETURN(json::value v, AttrValue(a, *as));
      if (v.is_null()) continue;
      (*out)[as->key] = std::move(v);
      set[as->key] = a.pos;
    }
    for (const char* required : spec.required) {
      if (b.Find(required) == nullptr) {
        return Error(b.pos, std::string("Missing required argument; The argument \"") +
                                required + "\" is required, but no definition was found.");
      }
    }
    for (const Block& inner : b.blocks) {
      const ChildSpec* cs = nullptr;
      for (const ChildSpec& s : spec.children) {
        if (inner.type == s.hcl) cs = &s;
      }
      if (cs == nullptr) return Unsupported(inner.pos, "block type", inner.type);
      const std::size_t want = cs->label != nullptr ? 1 : 0;
      RETURN_IF_ERROR(Labels(inner, want, "name"));
      if (cs->mode != Mode::kMany && cs->mode != Mode::kLabeled) {
        if (auto it = set.find(cs->key); it != set.end()) return Duplicate(inner, it->second);
      }
      set[cs->key] = inner.pos;
      switch (cs->mode) {
        case Mode::kMap: {
          if (!inner.blocks.empty()) {
            return Unsupported(inner.blocks[0].pos, "block type", inner.blocks[0].type);
          }
          AttrSpec map_spec{inner.type.c_str(), cs->key, Kind::kString};
          json::object m;
          for (const Attribute& a : inner.attributes) {
            ASSIGN_OR_RETURN(json::value v, AttrValue(a, map_spec));
            m[a.name] = v.is_null() ? json::value(json::string()) : std::move(v);
          }
          (*out)[cs->key] = std::move(m);
          break;
        }
        case Mode::kAny: {
          ASSIGN_OR_RETURN(json::object v, DecodeAny(inner));
          (*out)[cs->key] = std::move(v);
          break;
        }
        case Mode::kOne:
        case Mode::kMany:
        case Mode::kLabeled: {
          json::object child;
          if (cs->label != nullptr) child[cs->label] = inner.labels[0];
          RETURN_IF_ERROR(DecodeBody(inner, *cs->spec, &child));
          if (cs->mode == Mode::kOne) {
            (*out)[cs->key] = std::move(child);
          } else if (cs->mode == Mode::kLabeled) {
            json::value& m = (*out)[cs->key];
            if (!m.is_object()) m = json::object();
            if (m.get_object().contains(inner.labels[0])) {
              return Error(inner.pos, "Duplicate " + inner.type + " block " +
                                          QuoteForMessage(inner.labels[0]));
            }
            m.get_object()[inner.labels[0]] = std::move(child);
          } else {
            json::value& list = (*out)[cs->key];
            if (!list.is_array()) list = json::array();
            if (list.get_array().size() >= kMaxListItems) {
              return Error(inner.pos, "too many " + inner.type + " blocks");
            }
            list.get_array().push_back(std::move(child));
          }
          break;
        }
      }
    }
    if (spec.finish != nullptr) spec.finish(*out);
    return Status::Ok();
  }

  const JobspecInput& in_;
  EvalContext ctx_;
  json::object vars_;
  std::map<std::string, const Attribute*> locals_;
  std::map<std::string, json::value> local_values_;
  std::set<std::string> evaluating_;
  std::size_t budget_ = kEvalBudget;
};

}  // namespace

Result<json::object> ParseJobspec(const JobspecInput& input) {
  return Decoder(input).Run();
}

}  // namespace drover::hcl
