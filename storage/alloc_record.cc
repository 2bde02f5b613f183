#include "storage/alloc_record.h"

#include <boost/json.hpp>

#include "storage/codec.h"

namespace drover {
namespace {

namespace json = boost::json;

constexpr char kTagJob = 'J';
constexpr char kTagNoJob = 'N';
constexpr std::string_view kNullJob = ",\"Job\":null,";

void PutBe64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift & 0xFF));
}

void PutBe32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift & 0xFF));
}

// Reads big-endian numbers and length-prefixed strings off the front of a
// record; any short read is a corrupt record.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool U8(std::uint8_t& v) {
    if (in_.empty()) return false;
    v = static_cast<std::uint8_t>(in_.front());
    in_.remove_prefix(1);
    return true;
  }
  bool U32(std::uint32_t& v) {
    if (in_.size() < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) v = v << 8 | static_cast<unsigned char>(in_[i]);
    in_.remove_prefix(4);
    return true;
  }
  bool U64(std::uint64_t& v) {
    if (in_.size() < 8) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | static_cast<unsigned char>(in_[i]);
    in_.remove_prefix(8);
    return true;
  }
  bool Bytes(std::size_t n, std::string_view& out) {
    if (in_.size() < n) return false;
    out = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }
  std::string_view rest() const { return in_; }

 private:
  std::string_view in_;
};

Status Corrupt(const char* what) { return Internal(std::string("corrupt ") + what + " record"); }

}  // namespace

std::string JobVersionKey(const std::string& ns, const std::string& id, const JobVersionRef& ref) {
  std::string key;
  key.reserve(ns.size() + id.size() + 18);
  key.append(ns).push_back('\0');
  key.append(id).push_back('\0');
  PutBe64(key, ref.version);
  PutBe64(key, ref.modify_index);
  return key;
}

JobVersionRef RefOf(const Job& job) { return JobVersionRef{job.Version, job.JobModifyIndex, job.Type}; }

std::string EncodeAllocRecord(const Allocation& alloc, const std::optional<JobVersionRef>& job) {
  std::string out;
  if (job) {
    const std::string key = JobVersionKey(alloc.Namespace, alloc.JobID, *job);
    out.push_back(kTagJob);
    PutBe32(out, static_cast<std::uint32_t>(key.size()));
    out.append(key);
    PutBe32(out, static_cast<std::uint32_t>(job->type.size()));
    out.append(job->type);
  } else {
    out.push_back(kTagNoJob);
  }
  PutBe64(out, alloc.CreateIndex);
  PutBe64(out, alloc.ModifyIndex);
  json::value v = ToJson(alloc);
  v.get_object()["Job"] = nullptr;
  out.append(json::serialize(v));
  return out;
}

Result<AllocRecordView> ParseAllocRecord(std::string_view record) {
  Reader r(record);
  AllocRecordView view;
  std::uint8_t tag = 0;
  if (!r.U8(tag) || (tag != kTagJob && tag != kTagNoJob)) return Corrupt("allocation");
  if (tag == kTagJob) {
    JobVersionRef ref;
    std::uint32_t key_len = 0, type_len = 0;
    std::string_view key, type;
    if (!r.U32(key_len) || !r.Bytes(key_len, key) || key.size() < 16 || !r.U32(type_len) ||
        !r.Bytes(type_len, type)) {
      return Corrupt("allocation");
    }
    Reader tail(key.substr(key.size() - 16));
    tail.U64(ref.version);
    tail.U64(ref.modify_index);
    ref.type = std::string(type);
    view.header.job_key = key;
    view.header.job = std::move(ref);
  }
  if (!r.U64(view.header.create_index) || !r.U64(view.header.modify_index)) {
    return Corrupt("allocation");
  }
  view.json = r.rest();
  return view;
}

Result<std::string> SpliceJob(std::string_view alloc_json, std::string_view job_json) {
  // Every member before "Job" is a string, and a quote inside a JSON string
  // is escaped, so the first match is the member itself.
  std::size_t at = alloc_json.find(kNullJob);
  if (at == std::string_view::npos) return Corrupt("allocation");
  std::string out;
  out.reserve(alloc_json.size() + job_json.size());
  out.append(alloc_json.substr(0, at)).append(",\"Job\":").append(job_json).push_back(',');
  out.append(alloc_json.substr(at + kNullJob.size()));
  return out;
}

std::string EncodeStubRecord(const Allocation& alloc, const std::optional<JobVersionRef>& job) {
  AllocListStub stub = MakeAllocListStub(alloc);
  if (job) {
    stub.JobType = job->type;
    stub.JobVersion = job->version;
  }
  json::value v = ToJson(stub);
  // Segments: head | resources | middle | states | tail.
  std::string parts[5];
  int part = 0;
  bool first = true;
  for (const auto& kv : v.get_object()) {
    if (kv.key() == "AllocatedResources") part = 1;
    else if (kv.key() == "TaskStates") part = 3;
    else if (part == 1 || part == 3) ++part;
    std::string& s = parts[part];
    if (!first) s.push_back(',');
    first = false;
    s.append(json::serialize(json::string(kv.key()))).push_back(':');
    s.append(json::serialize(kv.value()));
  }
  parts[0].insert(parts[0].begin(), '{');
  parts[4].push_back('}');
  std::string out;
  PutBe32(out, static_cast<std::uint32_t>(alloc.Namespace.size()));
  out.append(alloc.Namespace);
  for (int i = 0; i < 4; ++i) PutBe32(out, static_cast<std::uint32_t>(parts[i].size()));
  for (const auto& p : parts) out.append(p);
  return out;
}

Result<StubRecordView> ParseStubRecord(std::string_view record) {
  Reader r(record);
  StubRecordView view;
  std::uint32_t ns_len = 0;
  std::uint32_t len[4] = {};
  if (!r.U32(ns_len) || !r.Bytes(ns_len, view.ns)) return Corrupt("allocation stub");
  for (auto& l : len) {
    if (!r.U32(l)) return Corrupt("allocation stub");
  }
  if (!r.Bytes(len[0], view.head) || !r.Bytes(len[1], view.resources) ||
      !r.Bytes(len[2], view.middle) || !r.Bytes(len[3], view.states)) {
    return Corrupt("allocation stub");
  }
  view.tail = r.rest();
  if (view.head.empty() || view.tail.empty()) return Corrupt("allocation stub");
  return view;
}

void AppendStubJson(const StubRecordView& stub, bool task_states, bool resources,
                    std::string& out) {
  out.append(stub.head);
  if (resources) out.append(stub.resources);
  out.append(stub.middle);
  if (task_states) {
    out.append(stub.states);
  } else {
    out.append(",\"TaskStates\":null");
  }
  out.append(stub.tail);
}

namespace {

// `segment` is a run of members (",\"A\":1,\"B\":2", optionally closed by
// the object's '}'), as EncodeStubRecord cut it.
Result<json::object> ParseSegment(std::string_view segment) {
  if (segment.empty() || segment.front() != ',') return Corrupt("allocation stub");
  std::string text = "{";
  text.append(segment.substr(1));
  if (text.back() != '}') text.push_back('}');
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return Corrupt("allocation stub");
  return std::move(v.get_object());
}

std::string StringMember(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace

Result<StubStatus> ReadStubStatus(const StubRecordView& stub) {
  ASSIGN_OR_RETURN(json::object middle, ParseSegment(stub.middle));
  ASSIGN_OR_RETURN(json::object tail, ParseSegment(stub.tail));
  StubStatus out;
  if (!middle.contains("ClientStatus")) return Corrupt("allocation stub");
  out.desired_status = StringMember(middle, "DesiredStatus");
  out.client_status = StringMember(middle, "ClientStatus");
  out.followup_eval_id = StringMember(tail, "FollowupEvalID");
  if (const json::value* t = tail.if_contains("ModifyTime"); t != nullptr && t->is_int64()) {
    out.modify_time = t->get_int64();
  }
  return out;
}

}  // namespace drover
