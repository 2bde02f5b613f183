#include "service/job_diff.h"

#include <boost/json.hpp>

#include <algorithm>
#include <set>

#include "storage/codec.h"

namespace drover {
namespace {

namespace json = boost::json;

using Flat = std::map<std::string, std::string>;

// Go's fmt %v of a JSON scalar, as flatmap prints struct fields.
std::string Scalar(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_bool()) return v.get_bool() ? "true" : "false";
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  if (v.is_double()) return json::serialize(v);
  return "";
}

bool IsScalar(const json::value& v) {
  return v.is_string() || v.is_bool() || v.is_number();
}

// Members that are Go maps of strings: flattened as "Name[key]".
bool IsStringMap(std::string_view key) { return key == "Meta" || key == "Env"; }

// flatmap.Flatten(obj, filter, primitiveOnly=true): the struct's scalar
// members and its string maps; nested structs, lists and nil pointers are
// left out.
Flat FlattenPrimitive(const json::value& v, const std::set<std::string>& filter) {
  Flat out;
  const json::object* o = v.if_object();
  if (o == nullptr) return out;
  for (const auto& [k, m] : *o) {
    const std::string key(k);
    if (filter.contains(key)) continue;
    if (IsScalar(m)) {
      out[key] = Scalar(m);
    } else if (IsStringMap(key) && m.is_object()) {
      for (const auto& [mk, mv] : m.get_object()) out[key + "[" + std::string(mk) + "]"] = Scalar(mv);
    }
  }
  return out;
}

// flatmap.Flatten(obj, nil, primitiveOnly=false) of a Go map: nested maps
// as "a[b]", lists as "a[0]".
void FlattenAll(const std::string& prefix, const json::value& v, Flat& out) {
  if (const json::object* o = v.if_object()) {
    for (const auto& [k, m] : *o) {
      FlattenAll(prefix.empty() ? std::string(k) : prefix + "[" + std::string(k) + "]", m, out);
    }
  } else if (const json::array* a = v.if_array()) {
    for (std::size_t i = 0; i < a->size(); ++i) {
      FlattenAll(prefix + "[" + std::to_string(i) + "]", (*a)[i], out);
    }
  } else if (v.is_null()) {
    out[prefix] = "nil";
  } else {
    out[prefix] = Scalar(v);
  }
}

std::optional<FieldDiff> OneField(const std::string& old_v, const std::string& new_v,
                                  const std::string& name, bool contextual) {
  FieldDiff d{kDiffNone, name, "", "", {}};
  if (old_v == new_v) {
    if (!contextual) return std::nullopt;
    d.Old = old_v;
    d.New = new_v;
    return d;
  }
  if (old_v.empty()) {
    d.Type = kDiffAdded;
    d.New = new_v;
  } else if (new_v.empty()) {
    d.Type = kDiffDeleted;
    d.Old = old_v;
  } else {
    d.Type = kDiffEdited;
    d.Old = old_v;
    d.New = new_v;
  }
  return d;
}

bool FieldLess(const FieldDiff& a, const FieldDiff& b) {
  if (a.Name != b.Name) return a.Name < b.Name;
  if (a.Old != b.Old) return a.Old < b.Old;
  return a.New < b.New;
}

std::vector<FieldDiff> FieldDiffs(const Flat& old_f, const Flat& new_f, bool contextual) {
  std::vector<FieldDiff> out;
  for (const auto& [k, v] : old_f) {
    auto n = new_f.find(k);
    if (auto d = OneField(v, n == new_f.end() ? "" : n->second, k, contextual)) out.push_back(*d);
  }
  for (const auto& [k, v] : new_f) {
    if (old_f.contains(k)) continue;
    if (auto d = OneField("", v, k, contextual)) out.push_back(*d);
  }
  std::sort(out.begin(), out.end(), FieldLess);
  return out;
}

// The type an object diff gets from its fields (Nomad's
// primitiveObjectDiff); empty when nothing changed.
std::string TypeFromFields(const std::vector<FieldDiff>& fields) {
  bool added = false, deleted = false;
  for (const FieldDiff& f : fields) {
    if (f.Type == kDiffEdited) return kDiffEdited;
    added = added || f.Type == kDiffAdded;
    deleted = deleted || f.Type == kDiffDeleted;
  }
  if (added && deleted) return kDiffEdited;
  if (added) return kDiffAdded;
  if (deleted) return kDiffDeleted;
  return "";
}

// Nomad's primitiveObjectDiff over two (possibly null) objects.
void ObjectDiffOf(const json::value& old_v, const json::value& new_v, const std::string& name,
                  const std::set<std::string>& filter, std::vector<ObjectDiff>& out) {
  ObjectDiff d;
  d.Name = name;
  d.Fields = FieldDiffs(FlattenPrimitive(old_v, filter), FlattenPrimitive(new_v, filter), true);
  d.Type = TypeFromFields(d.Fields);
  if (!d.Type.empty()) out.push_back(std::move(d));
}

// Nomad's configDiff: a map flattened whole.
void MapDiffOf(const json::value& old_v, const json::value& new_v, const std::string& name,
               std::vector<ObjectDiff>& out) {
  if (old_v == new_v) return;
  auto empty = [](const json::value& v) {
    return v.is_null() || (v.is_object() && v.get_object().empty()) ||
           (v.is_array() && v.get_array().empty());
  };
  ObjectDiff d;
  d.Name = name;
  d.Type = empty(old_v) ? kDiffAdded : empty(new_v) ? kDiffDeleted : kDiffEdited;
  Flat old_f, new_f;
  if (!empty(old_v)) FlattenAll("", old_v, old_f);
  if (!empty(new_v)) FlattenAll("", new_v, new_f);
  d.Fields = FieldDiffs(old_f, new_f, true);
  out.push_back(std::move(d));
}

// Nomad's stringSetDiff.
void StringSetDiff(const json::value& old_v, const json::value& new_v, const std::string& name,
                   std::vector<ObjectDiff>& out) {
  auto to_set = [](const json::value& v) {
    std::set<std::string> s;
    if (const json::array* a = v.if_array()) {
      for (const json::value& e : *a) s.insert(Scalar(e));
    }
    return s;
  };
  const std::set<std::string> o = to_set(old_v), n = to_set(new_v);
  if (o == n) return;
  ObjectDiff d;
  d.Name = name;
  bool added = false, removed = false;
  for (const std::string& k : o) {
    if (!n.contains(k)) {
      d.Fields.push_back(*OneField(k, "", name, true));
      removed = true;
    } else {
      d.Fields.push_back(*OneField(k, k, name, true));
    }
  }
  for (const std::string& k : n) {
    if (o.contains(k)) continue;
    d.Fields.push_back(*OneField("", k, name, true));
    added = true;
  }
  std::sort(d.Fields.begin(), d.Fields.end(), FieldLess);
  d.Type = added && removed ? kDiffEdited : added ? kDiffAdded : kDiffDeleted;
  out.push_back(std::move(d));
}

// Nomad's primitiveObjectSetDiff: set members matched by value; contextual
// lists the unchanged ones too.
void ObjectSetDiff(const json::value& old_v, const json::value& new_v, const std::string& name,
                   std::vector<ObjectDiff>& out) {
  auto items = [](const json::value& v) {
    std::vector<json::value> xs;
    if (const json::array* a = v.if_array()) xs.assign(a->begin(), a->end());
    return xs;
  };
  const std::vector<json::value> o = items(old_v), n = items(new_v);
  auto contains = [](const std::vector<json::value>& xs, const json::value& x) {
    return std::find(xs.begin(), xs.end(), x) != xs.end();
  };
  const json::value null;
  for (const json::value& x : o) {
    if (contains(n, x)) {
      ObjectDiff d{kDiffNone, name, FieldDiffs(FlattenPrimitive(x, {}), FlattenPrimitive(x, {}), true), {}};
      out.push_back(std::move(d));
    } else {
      ObjectDiffOf(x, null, name, {}, out);
    }
  }
  for (const json::value& x : n) {
    if (!contains(o, x)) ObjectDiffOf(null, x, name, {}, out);
  }
}

const json::value& Member(const json::value& v, const char* key) {
  static const json::value null;
  const json::object* o = v.if_object();
  if (o == nullptr) return null;
  const json::value* m = o->if_contains(key);
  return m == nullptr ? null : *m;
}

// Matches the members of two lists of named objects by "Name".
std::vector<std::pair<const json::value*, const json::value*>> ByName(const json::value& old_list,
                                                                      const json::value& new_list) {
  std::map<std::string, std::pair<const json::value*, const json::value*>> m;
  if (const json::array* a = old_list.if_array()) {
    for (const json::value& x : *a) m[Scalar(Member(x, "Name"))].first = &x;
  }
  if (const json::array* a = new_list.if_array()) {
    for (const json::value& x : *a) m[Scalar(Member(x, "Name"))].second = &x;
  }
  std::vector<std::pair<const json::value*, const json::value*>> out;
  for (auto& [name, pair] : m) out.push_back(pair);
  return out;
}

std::string PairType(const json::value* o, const json::value* n) {
  if (o == nullptr) return kDiffAdded;
  if (n == nullptr) return kDiffDeleted;
  return *o == *n ? kDiffNone : kDiffEdited;
}

TaskDiff DiffTask(const json::value* o, const json::value* n) {
  static const json::value null;
  const json::value& ov = o ? *o : null;
  const json::value& nv = n ? *n : null;
  TaskDiff d;
  d.Type = PairType(o, n);
  d.Name = Scalar(Member(n ? nv : ov, "Name"));
  d.Fields = FieldDiffs(FlattenPrimitive(ov, {"Name"}), FlattenPrimitive(nv, {"Name"}), false);
  ObjectSetDiff(Member(ov, "Constraints"), Member(nv, "Constraints"), "Constraint", d.Objects);
  ObjectSetDiff(Member(ov, "Affinities"), Member(nv, "Affinities"), "Affinity", d.Objects);
  MapDiffOf(Member(ov, "Config"), Member(nv, "Config"), "Config", d.Objects);
  ObjectDiffOf(Member(ov, "Resources"), Member(nv, "Resources"), "Resources", {}, d.Objects);
  ObjectDiffOf(Member(ov, "LogConfig"), Member(nv, "LogConfig"), "LogConfig", {}, d.Objects);
  ObjectDiffOf(Member(ov, "DispatchPayload"), Member(nv, "DispatchPayload"), "DispatchPayload",
               {}, d.Objects);
  ObjectSetDiff(Member(ov, "Artifacts"), Member(nv, "Artifacts"), "Artifact", d.Objects);
  MapDiffOf(Member(ov, "Services"), Member(nv, "Services"), "Service", d.Objects);
  MapDiffOf(Member(ov, "Vault"), Member(nv, "Vault"), "Vault", d.Objects);
  MapDiffOf(Member(ov, "Templates"), Member(nv, "Templates"), "Template", d.Objects);
  ObjectDiffOf(Member(ov, "Lifecycle"), Member(nv, "Lifecycle"), "Lifecycle", {}, d.Objects);
  return d;
}

TaskGroupDiff DiffGroup(const json::value* o, const json::value* n) {
  static const json::value null;
  const json::value& ov = o ? *o : null;
  const json::value& nv = n ? *n : null;
  TaskGroupDiff d;
  d.Type = PairType(o, n);
  d.Name = Scalar(Member(n ? nv : ov, "Name"));
  const std::set<std::string> filter = {"Name", "StopAfterClientDisconnect",
                                        "MaxClientDisconnect"};
  Flat of = FlattenPrimitive(ov, filter), nf = FlattenPrimitive(nv, filter);
  if (o && n) {  // Nomad compares ShutdownDelay even when nil
    of["ShutdownDelay"] = Scalar(Member(ov, "ShutdownDelay"));
    nf["ShutdownDelay"] = Scalar(Member(nv, "ShutdownDelay"));
  }
  d.Fields = FieldDiffs(of, nf, false);
  ObjectSetDiff(Member(ov, "Constraints"), Member(nv, "Constraints"), "Constraint", d.Objects);
  ObjectSetDiff(Member(ov, "Affinities"), Member(nv, "Affinities"), "Affinity", d.Objects);
  for (const char* name : {"RestartPolicy", "Migrate", "ReschedulePolicy", "EphemeralDisk"}) {
    ObjectDiffOf(Member(ov, name), Member(nv, name), name, {}, d.Objects);
  }
  ObjectDiffOf(Member(ov, "Update"), Member(nv, "Update"), "Update", {"Stagger"}, d.Objects);
  MapDiffOf(Member(ov, "Networks"), Member(nv, "Networks"), "Network", d.Objects);
  MapDiffOf(Member(ov, "Services"), Member(nv, "Services"), "Service", d.Objects);
  MapDiffOf(Member(ov, "Volumes"), Member(nv, "Volumes"), "Volume", d.Objects);
  for (auto [ot, nt] : ByName(Member(ov, "Tasks"), Member(nv, "Tasks"))) {
    d.Tasks.push_back(DiffTask(ot, nt));
  }
  return d;
}

// Annotations as Go encodes a []string: null when empty.
json::value StringsOrNull(const std::vector<std::string>& strings) {
  if (strings.empty()) return nullptr;
  json::array a;
  for (const std::string& s : strings) a.push_back(json::value(s));
  return a;
}

json::array FieldsJson(const std::vector<FieldDiff>& fields) {
  json::array out;
  for (const FieldDiff& f : fields) {
    out.push_back(json::object{{"Type", f.Type},
                               {"Name", f.Name},
                               {"Old", f.Old},
                               {"New", f.New},
                               {"Annotations", StringsOrNull(f.Annotations)}});
  }
  return out;
}

json::value OrNull(json::array a) {
  return a.empty() ? json::value(nullptr) : json::value(std::move(a));
}

json::array ObjectsJson(const std::vector<ObjectDiff>& objects) {
  json::array out;
  for (const ObjectDiff& o : objects) {
    out.push_back(json::object{{"Type", o.Type},
                               {"Name", o.Name},
                               {"Fields", OrNull(FieldsJson(o.Fields))},
                               {"Objects", OrNull(ObjectsJson(o.Objects))}});
  }
  return out;
}

bool AnyChange(const std::vector<FieldDiff>& fields, const std::vector<ObjectDiff>& objects) {
  for (const FieldDiff& f : fields) {
    if (f.Type != kDiffNone) return true;
  }
  for (const ObjectDiff& o : objects) {
    if (o.Type != kDiffNone) return true;
  }
  return false;
}

}  // namespace

JobDiff DiffJobs(const Job* old_job, const Job* new_job) {
  JobDiff d;
  d.Type = kDiffNone;
  if (old_job == nullptr && new_job == nullptr) return d;
  const json::value ov = old_job ? ToJson(*old_job) : json::value(nullptr);
  const json::value nv = new_job ? ToJson(*new_job) : json::value(nullptr);
  if (old_job == nullptr) d.Type = kDiffAdded;
  if (new_job == nullptr) d.Type = kDiffDeleted;
  d.ID = new_job ? new_job->ID : old_job->ID;
  const std::set<std::string> filter = {"ID", "Status", "StatusDescription", "Version", "Stable",
                                        "CreateIndex", "ModifyIndex", "JobModifyIndex", "Update",
                                        "SubmitTime", "NomadTokenID", "VaultToken", "Payload"};
  d.Fields = FieldDiffs(FlattenPrimitive(ov, filter), FlattenPrimitive(nv, filter), false);
  StringSetDiff(Member(ov, "Datacenters"), Member(nv, "Datacenters"), "Datacenters", d.Objects);
  ObjectSetDiff(Member(ov, "Constraints"), Member(nv, "Constraints"), "Constraint", d.Objects);
  ObjectSetDiff(Member(ov, "Affinities"), Member(nv, "Affinities"), "Affinity", d.Objects);
  for (auto [og, ng] : ByName(Member(ov, "TaskGroups"), Member(nv, "TaskGroups"))) {
    d.TaskGroups.push_back(DiffGroup(og, ng));
  }
  ObjectDiffOf(Member(ov, "Periodic"), Member(nv, "Periodic"), "Periodic", {}, d.Objects);
  ObjectDiffOf(Member(ov, "ParameterizedJob"), Member(nv, "ParameterizedJob"), "ParameterizedJob",
               {}, d.Objects);
  if (d.Type == kDiffNone) {
    bool changed = AnyChange(d.Fields, d.Objects);
    for (const TaskGroupDiff& g : d.TaskGroups) changed = changed || g.Type != kDiffNone;
    if (changed) d.Type = kDiffEdited;
  }
  return d;
}

void AnnotateDiff(JobDiff& diff, const std::map<std::string, DesiredUpdates>& desired) {
  for (TaskGroupDiff& g : diff.TaskGroups) {
    auto it = desired.find(g.Name);
    if (it != desired.end()) {
      const DesiredUpdates& u = it->second;
      const std::pair<const char*, std::uint64_t> counts[] = {
          {"ignore", u.Ignore},   {"create", u.Place},
          {"migrate", u.Migrate}, {"destroy", u.Stop},
          {"canary", u.Canary},   {"in-place update", u.InPlaceUpdate},
          {"create/destroy update", u.DestructiveUpdate}};
      for (const auto& [name, n] : counts) {
        if (n != 0) g.Updates[name] = n;
      }
    }
    for (FieldDiff& f : g.Fields) {
      if (f.Name != "Count") continue;
      long long o = f.Old.empty() ? 0 : std::atoll(f.Old.c_str());
      long long n = f.New.empty() ? 0 : std::atoll(f.New.c_str());
      if (o < n) f.Annotations.push_back("forces create");
      if (n < o) f.Annotations.push_back("forces destroy");
    }
    for (TaskDiff& t : g.Tasks) {
      if (t.Type == kDiffNone) continue;
      if (g.Type == kDiffAdded || g.Type == kDiffDeleted) {
        if (t.Type == kDiffAdded) {
          t.Annotations.push_back("forces create");
          continue;
        }
        if (t.Type == kDiffDeleted) {
          t.Annotations.push_back("forces destroy");
          continue;
        }
      }
      bool destructive = std::any_of(t.Fields.begin(), t.Fields.end(),
                                     [](const FieldDiff& f) { return f.Name != "KillTimeout"; });
      for (const ObjectDiff& o : t.Objects) {
        if (destructive) break;
        if (o.Name == "Service" || o.Name == "Constraint" || o.Name == "Affinity" ||
            o.Name == "Spread") {
          continue;
        }
        if (o.Name == "LogConfig") {
          destructive = std::any_of(o.Fields.begin(), o.Fields.end(),
                                    [](const FieldDiff& f) { return f.Name == "Disabled"; });
          continue;
        }
        destructive = true;
      }
      t.Annotations.push_back(destructive ? "forces create/destroy update"
                                          : "forces in-place update");
    }
  }
}

json::value JobDiffJson(const JobDiff& diff) {
  json::array groups;
  for (const TaskGroupDiff& g : diff.TaskGroups) {
    json::array tasks;
    for (const TaskDiff& t : g.Tasks) {
      tasks.push_back(json::object{{"Type", t.Type},
                                   {"Name", t.Name},
                                   {"Fields", OrNull(FieldsJson(t.Fields))},
                                   {"Objects", OrNull(ObjectsJson(t.Objects))},
                                   {"Annotations", StringsOrNull(t.Annotations)}});
    }
    json::value updates = nullptr;
    if (!g.Updates.empty()) {
      json::object u;
      for (const auto& [k, v] : g.Updates) u[k] = v;
      updates = std::move(u);
    }
    groups.push_back(json::object{{"Type", g.Type},
                                  {"Name", g.Name},
                                  {"Fields", OrNull(FieldsJson(g.Fields))},
                                  {"Objects", OrNull(ObjectsJson(g.Objects))},
                                  {"Tasks", OrNull(std::move(tasks))},
                                  {"Updates", std::move(updates)}});
  }
  return json::object{{"Type", diff.Type},
                      {"ID", diff.ID},
                      {"Fields", OrNull(FieldsJson(diff.Fields))},
                      {"Objects", OrNull(ObjectsJson(diff.Objects))},
                      {"TaskGroups", OrNull(std::move(groups))}};
}

}  // namespace drover
