#include "api/fs_routes.h"

#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <functional>

#include "api/alloc_fs.h"
#include "common/text.h"
#include "common/log.h"

namespace drover::api {
namespace {

namespace json = boost::json;

constexpr std::size_t kFrameSize = 64 * 1024;   // Nomad's streamFrameSize
constexpr auto kHeartbeat = std::chrono::seconds(1);            // Nomad's streamHeartbeatRate
constexpr auto kPollInterval = std::chrono::milliseconds(200);  // Nomad's streamBatchWindow
constexpr const char* kDeleteEvent = "file deleted";
constexpr const char* kTruncateEvent = "file truncated";
constexpr const char* kLogDir = "alloc/logs";

// ---- Sources: what a stream reads -----------------------------------------

// The next thing a source has for its stream.
struct Piece {
  enum class Kind { kFrame, kWait, kEnd };
  Kind kind = Kind::kEnd;
  std::string file;         // the frame's File
  std::string data;         // may be empty when `event` is set
  std::int64_t offset = 0;  // the frame's Offset: just past `data` in `file`, as in Nomad
  std::string event;        // the frame's FileEvent

  static Piece Wait() { return Of(Kind::kWait); }
  static Piece End() { return Of(Kind::kEnd); }
  static Piece Frame(std::string file, std::string data, std::int64_t offset,
                     std::string event = "") {
    Piece p = Of(Kind::kFrame);
    p.file = std::move(file);
    p.data = std::move(data);
    p.offset = offset;
    p.event = std::move(event);
    return p;
  }

 private:
  static Piece Of(Kind kind) {
    Piece p;
    p.kind = kind;
    return p;
  }
};

class Source {
 public:
  virtual ~Source() = default;
  // At most `max` bytes of data. An error ends the stream (the headers are
  // gone by then; it is logged).
  virtual Result<Piece> Next(std::size_t max) = 0;
};

Result<std::string> ReadAt(int fd, std::int64_t offset, std::size_t max) {
  std::string buf(max, '\0');
  while (true) {
    const ssize_t n = ::pread(fd, buf.data(), max, offset);
    if (n >= 0) {
      buf.resize(static_cast<std::size_t>(n));
      return buf;
    }
    if (errno != EINTR) return Internal(std::string("read: ") + std::strerror(errno));
  }
}

// One file: fs/stream, cat and readat. Following, it notices the file
// deleted or replaced ("file deleted", then the end, as Nomad) and
// truncated ("file truncated", then from offset 0).
class FileSource : public Source {
 public:
  FileSource(AllocFs fs, std::string path, OpenedFile file, std::int64_t offset,
             std::int64_t limit, bool follow)
      : fs_(std::move(fs)),
        path_(std::move(path)),
        file_(std::move(file)),
        offset_(offset),
        remaining_(limit > 0 ? limit : -1),
        follow_(follow) {}

  Result<Piece> Next(std::size_t max) override {
    if (done_ || remaining_ == 0) return Piece::End();
    if (remaining_ > 0) max = std::min<std::size_t>(max, static_cast<std::size_t>(remaining_));
    ASSIGN_OR_RETURN(std::string data, ReadAt(file_.fd.get(), offset_, max));
    if (!data.empty() || !event_.empty()) {
      offset_ += static_cast<std::int64_t>(data.size());
      if (remaining_ > 0) remaining_ -= static_cast<std::int64_t>(data.size());
      return Frame(std::move(data), std::exchange(event_, ""));
    }
    if (!follow_) return Piece::End();
    switch (Change()) {
      case kDeleted:
        done_ = true;
        return Frame("", kDeleteEvent);
      case kTruncated:
        offset_ = 0;
        event_ = kTruncateEvent;  // on the next frame, with or without data
        return Next(max);
      case kUnchanged:
        break;
    }
    return Piece::Wait();
  }

 private:
  enum ChangeKind { kUnchanged, kDeleted, kTruncated };

  ChangeKind Change() {
    struct stat now {};
    if (::fstat(file_.fd.get(), &now) != 0 || now.st_nlink == 0) return kDeleted;
    // Replaced: the path names another inode now, or something that cannot
    // be resolved (a symlink swapped in): the followed file is gone from
    // the path, and nothing else is opened in its place.
    auto named = fs_.Lstat(path_);
    if (!named.ok() || named->st_dev != now.st_dev || named->st_ino != now.st_ino) return kDeleted;
    if (now.st_size < offset_) return kTruncated;
    return kUnchanged;
  }

  Piece Frame(std::string data, std::string event) const {
    return Piece::Frame(path_, std::move(data), offset_, std::move(event));
  }

  AllocFs fs_;
  std::string path_;  // as the client gave it: the frames' File, as in Nomad
  OpenedFile file_;
  std::int64_t offset_;
  std::int64_t remaining_;  // -1: no limit
  bool follow_;
  std::string event_;  // to put on the next frame
  bool done_ = false;
};

// A task's rotated logs, in index order. At the end of a file it moves to
// the next index that exists; following, it waits for one, and ends once
// the task is dead and the last file was read to its end.
class LogSource : public Source {
 public:
  LogSource(AllocFs fs, std::string task, std::string type, std::int64_t index, OpenedFile file,
            std::int64_t offset, bool follow, std::function<bool()> task_dead)
      : fs_(std::move(fs)),
        task_(std::move(task)),
        type_(std::move(type)),
        index_(index),
        file_(std::move(file)),
        offset_(offset),
        follow_(follow),
        task_dead_(std::move(task_dead)) {}

  Result<Piece> Next(std::size_t max) override {
    while (true) {
      ASSIGN_OR_RETURN(std::string data, ReadAt(file_.fd.get(), offset_, max));
      if (!data.empty()) {
        offset_ += static_cast<std::int64_t>(data.size());
        return Piece::Frame(FileName(index_), std::move(data), offset_);
      }
      ASSIGN_OR_RETURN(std::optional<LogFile> next, NextFile());
      if (next) {
        // The writer finished this file before it created the next one, so
        // one more read here picks up what landed since the last.
        ASSIGN_OR_RETURN(std::string tail, ReadAt(file_.fd.get(), offset_, max));
        if (!tail.empty()) continue;
        ASSIGN_OR_RETURN(bool moved, MoveTo(*next));
        static_cast<void>(moved);  // a file rotated out meanwhile: look again
        continue;
      }
      if (!follow_ || dead_seen_) return Piece::End();
      if (task_dead_()) {
        // Dead: everything it wrote is on disk. Read once more, then end.
        dead_seen_ = true;
        continue;
      }
      return Piece::Wait();
    }
  }

 private:
  std::string FileName(std::int64_t index) const {
    return std::string(kLogDir) + "/" + task_ + "." + type_ + "." + std::to_string(index);
  }

  // The first log file after the current one, if any.
  Result<std::optional<LogFile>> NextFile() const {
    ASSIGN_OR_RETURN(auto entries, fs_.List(kLogDir));
    for (LogFile& f : LogFilesOf(entries, task_, type_)) {
      if (f.index > index_) return std::optional<LogFile>(std::move(f));
    }
    return std::optional<LogFile>();
  }

  // False when `next` was rotated out before it could be opened.
  Result<bool> MoveTo(const LogFile& next) {
    auto opened = fs_.OpenFile(std::string(kLogDir) + "/" + next.name);
    if (!opened.ok()) {
      if (opened.status().code() != StatusCode::kNotFound) return opened.status();
      index_ = next.index;  // skip it: the next look finds a later one
      return false;
    }
    file_ = std::move(opened).value();
    index_ = next.index;
    offset_ = 0;
    return true;
  }

  AllocFs fs_;
  std::string task_;
  std::string type_;
  std::int64_t index_;
  OpenedFile file_;
  std::int64_t offset_;
  bool follow_;
  std::function<bool()> task_dead_;
  bool dead_seen_ = false;
};

// ---- Framing ----------------------------------------------------------------


// Nomad's StreamFrame as its JSON codec writes it: fields in struct order,
// empty ones omitted, no separator between frames.
std::string FrameJson(const Piece& p) {
  std::string out = "{";
  auto field = [&out](const char* name, const std::string& value) {
    if (out.size() > 1) out += ',';
    out += '"';
    out += name;
    out += "\":";
    out += value;
  };
  if (p.offset != 0) field("Offset", std::to_string(p.offset));
  if (!p.data.empty()) field("Data", "\"" + Base64Encode(p.data) + "\"");
  if (!p.file.empty()) field("File", json::serialize(json::string(p.file)));
  if (!p.event.empty()) field("FileEvent", json::serialize(json::string(p.event)));
  out += '}';
  return out;
}

// A source's pieces as a stream's body: Nomad's frames, or the plain bytes.
class SourceProducer : public StreamProducer {
 public:
  SourceProducer(std::unique_ptr<Source> source, bool plain)
      : source_(std::move(source)), plain_(plain) {}

  Result<StreamStep> Next(std::size_t max_bytes) override {
    ASSIGN_OR_RETURN(Piece piece, source_->Next(std::min(max_bytes, kFrameSize)));
    switch (piece.kind) {
      case Piece::Kind::kEnd:
        return StreamStep::End();
      case Piece::Kind::kWait:
        return StreamStep::Wait();  // polled every kPollInterval
      case Piece::Kind::kFrame:
        break;
    }
    // A file event has no plain form: an empty step is skipped.
    return StreamStep::Data(plain_ ? std::move(piece.data) : FrameJson(piece));
  }

 private:
  std::unique_ptr<Source> source_;
  bool plain_;
};

}  // namespace

// ---- Handlers -----------------------------------------------------------------

namespace {

// A query parameter as Go's url.Values.Get gives it: decoded, "" when absent.
Result<std::string> Query(const Rest::Request& req, const char* name) {
  return QueryUnescape(req.query().get(name).value_or(""));
}

// strconv.ParseInt(text, 10, 64) with Go's error text.
Result<std::int64_t> GoParseInt(const std::string& text) {
  std::string_view digits = text;
  if (!digits.empty() && digits[0] == '+') digits.remove_prefix(1);
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec == std::errc::result_out_of_range)
    return InvalidArgument("strconv.ParseInt: parsing \"" + text + "\": value out of range");
  if (ec != std::errc() || p != digits.data() + digits.size() || digits.empty() ||
      (digits[0] == '-' && text[0] == '+'))
    return InvalidArgument("strconv.ParseInt: parsing \"" + text + "\": invalid syntax");
  return v;
}

// strconv.ParseBool with Go's error text; "" gives `fallback`.
Result<bool> GoParseBool(const std::string& text, bool fallback) {
  if (text.empty()) return fallback;
  if (auto v = drover::GoParseBool(text)) return *v;
  return InvalidArgument("strconv.ParseBool: parsing \"" + text + "\": invalid syntax");
}

Result<bool> BoolParam(const Rest::Request& req, const char* name, bool fallback) {
  ASSIGN_OR_RETURN(const std::string text, Query(req, name));
  auto v = GoParseBool(text, fallback);
  if (!v.ok())
    return InvalidArgument(std::string("failed to parse ") + name +
                           " field to boolean: " + v.status().message());
  return v;
}

Result<std::int64_t> OffsetParam(const std::string& text) {
  auto v = GoParseInt(text);
  if (!v.ok()) return InvalidArgument("error parsing offset: " + v.status().message());
  return v;
}

// origin=end|start ("" is start); Nomad's error otherwise.
Result<bool> OriginIsEnd(const Rest::Request& req) {
  ASSIGN_OR_RETURN(const std::string origin, Query(req, "origin"));
  if (origin.empty() || origin == "start") return false;
  if (origin == "end") return true;
  return InvalidArgument("origin must be start or end");
}

Status RequirePath(const std::string& path) {
  if (path.empty()) return InvalidArgument("must provide a file name");
  return Status::Ok();
}

// The allocation's directory, with Nomad's 404s for an allocation this
// client does not know or no longer has on disk.
Result<AllocFs> OpenAllocFs(ApiContext& ctx, const std::string& id, Allocation* alloc) {
  ASSIGN_OR_RETURN(std::optional<Allocation> found, ctx.agent.queries().GetAlloc(id));
  if (!found) return NotFound("Unknown allocation \"" + id + "\"");
  auto fs = AllocFs::Open(ctx.agent.config().data_dir + "/alloc/" + id);
  if (!fs.ok() && fs.status().code() == StatusCode::kNotFound)
    return NotFound("state for allocation " + id + " not found on client");
  if (alloc != nullptr) *alloc = std::move(*found);
  return fs;
}

json::value InfoJson(const AllocFileInfo& f) {
  return json::object{{"Name", f.name},
                      {"IsDir", f.is_dir},
                      {"Size", f.size},
                      {"FileMode", f.file_mode},
                      {"ModTime", FormatRFC3339Nano(f.mod_time)}};
}

// Framed streams send Nomad's "{}" heartbeat every second while idle.
Status StartStream(ChunkedStreams& streams, Http::ResponseWriter& writer,
                   std::unique_ptr<Source> source, bool plain) {
  StreamOptions options;
  options.json = !plain;
  if (!plain) options.heartbeat = "{}";
  options.heartbeat_every = kHeartbeat;
  options.poll_every = kPollInterval;
  return streams.Start(writer, std::make_unique<SourceProducer>(std::move(source), plain),
                       std::move(options));
}

Status List(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer) {
  ASSIGN_OR_RETURN(std::string path, Query(req, "path"));
  if (path.empty()) path = "/";
  ASSIGN_OR_RETURN(bool pretty, QueryBool(req, "pretty", false));
  ASSIGN_OR_RETURN(AllocFs fs, OpenAllocFs(ctx, PathParam(req, ":alloc_id"), nullptr));
  ASSIGN_OR_RETURN(std::vector<AllocFileInfo> files, fs.List(path));
  json::array out;
  for (const AllocFileInfo& f : files) out.push_back(InfoJson(f));
  SendJson(writer, out, pretty, 0);
  return Status::Ok();
}

Status Stat(ApiContext& ctx, const Rest::Request& req, Http::ResponseWriter& writer) {
  ASSIGN_OR_RETURN(const std::string path, Query(req, "path"));
  RETURN_IF_ERROR(RequirePath(path));
  ASSIGN_OR_RETURN(bool pretty, QueryBool(req, "pretty", false));
  ASSIGN_OR_RETURN(AllocFs fs, OpenAllocFs(ctx, PathParam(req, ":alloc_id"), nullptr));
  ASSIGN_OR_RETURN(AllocFileInfo info, fs.Stat(path));
  SendJson(writer, InfoJson(info), pretty, 0);
  return Status::Ok();
}

// cat and readat: the plain bytes of [offset, offset+limit).
Status ReadPlain(ApiContext& ctx, ChunkedStreams& streams, const Rest::Request& req,
                 Http::ResponseWriter& writer, bool readat) {
  ASSIGN_OR_RETURN(const std::string path, Query(req, "path"));
  RETURN_IF_ERROR(RequirePath(path));
  std::int64_t offset = 0, limit = 0;
  if (readat) {
    ASSIGN_OR_RETURN(const std::string o, Query(req, "offset"));
    ASSIGN_OR_RETURN(offset, OffsetParam(o));  // required, as in Nomad
    ASSIGN_OR_RETURN(const std::string l, Query(req, "limit"));
    if (!l.empty()) {
      auto parsed = GoParseInt(l);
      if (!parsed.ok()) return InvalidArgument("error parsing limit: " + parsed.status().message());
      limit = *parsed;
    }
    if (offset < 0) return InvalidArgument("offset must not be negative");
  }
  ASSIGN_OR_RETURN(AllocFs fs, OpenAllocFs(ctx, PathParam(req, ":alloc_id"), nullptr));
  ASSIGN_OR_RETURN(OpenedFile file, fs.OpenFile(path));
  auto source =
      std::make_unique<FileSource>(std::move(fs), path, std::move(file), offset, limit, false);
  return StartStream(streams, writer, std::move(source), true);
}

Status StreamFile(ApiContext& ctx, ChunkedStreams& streams, const Rest::Request& req,
                  Http::ResponseWriter& writer) {
  ASSIGN_OR_RETURN(const std::string path, Query(req, "path"));
  RETURN_IF_ERROR(RequirePath(path));
  ASSIGN_OR_RETURN(bool follow, BoolParam(req, "follow", true));
  std::int64_t offset = 0;
  ASSIGN_OR_RETURN(const std::string o, Query(req, "offset"));
  if (!o.empty()) {
    ASSIGN_OR_RETURN(offset, OffsetParam(o));
  }
  ASSIGN_OR_RETURN(bool from_end, OriginIsEnd(req));
  ASSIGN_OR_RETURN(AllocFs fs, OpenAllocFs(ctx, PathParam(req, ":alloc_id"), nullptr));
  ASSIGN_OR_RETURN(OpenedFile file, fs.OpenFile(path));
  const std::int64_t size = static_cast<std::int64_t>(file.st.st_size);
  if (from_end) offset = size - offset;
  offset = std::clamp<std::int64_t>(offset, 0, size);
  auto source =
      std::make_unique<FileSource>(std::move(fs), path, std::move(file), offset, 0, follow);
  return StartStream(streams, writer, std::move(source), false);
}

bool TaskDead(const Queries& queries, const std::string& alloc_id, const std::string& task) {
  auto alloc = queries.GetAlloc(alloc_id);
  if (!alloc.ok()) return false;           // try again at the next look
  if (!*alloc || !(*alloc)->TaskStates) return true;  // collected: nothing more will come
  auto it = (*alloc)->TaskStates->find(task);
  return it == (*alloc)->TaskStates->end() || it->second.State == kTaskStateDead;
}

Status Logs(ApiContext& ctx, ChunkedStreams& streams, const Rest::Request& req,
            Http::ResponseWriter& writer) {
  // Checked in Nomad's order, with its texts.
  const std::string alloc_id = PathParam(req, ":alloc_id");
  ASSIGN_OR_RETURN(const std::string task, Query(req, "task"));
  if (task.empty()) return InvalidArgument("must provide task name");
  ASSIGN_OR_RETURN(bool follow, BoolParam(req, "follow", false));
  ASSIGN_OR_RETURN(bool plain, BoolParam(req, "plain", false));
  ASSIGN_OR_RETURN(const std::string type, Query(req, "type"));
  if (type != "stdout" && type != "stderr")
    return InvalidArgument("must provide log type (stdout/stderr)");
  std::int64_t offset = 0;
  ASSIGN_OR_RETURN(const std::string o, Query(req, "offset"));
  if (!o.empty()) {
    ASSIGN_OR_RETURN(offset, OffsetParam(o));
  }
  ASSIGN_OR_RETURN(bool from_end, OriginIsEnd(req));

  Allocation alloc;
  ASSIGN_OR_RETURN(AllocFs fs, OpenAllocFs(ctx, alloc_id, &alloc));
  const TaskState* state = nullptr;
  if (alloc.TaskStates) {
    auto it = alloc.TaskStates->find(task);
    if (it != alloc.TaskStates->end()) state = &it->second;
  }
  if (state == nullptr) return InvalidArgument("unknown task name \"" + task + "\"");
  if (!state->StartedAt || state->StartedAt->IsZero())
    return NotFound("task \"" + task + "\" not started yet. No logs available");

  // The start: list, pick, open. A file rotated out between the listing and
  // the open is looked for again.
  const Status not_found =
      NotFound("log entry for task \"" + task + "\" and log type \"" + type + "\" not found");
  for (int attempt = 0; attempt < 5; ++attempt) {
    ASSIGN_OR_RETURN(auto entries, fs.List(kLogDir));
    const std::vector<LogFile> files = LogFilesOf(entries, task, type);
    if (files.empty()) return not_found;
    const LogPosition pos = FindLogStart(files, offset, from_end);
    auto file = fs.OpenFile(std::string(kLogDir) + "/" + files[pos.file].name);
    if (!file.ok() && file.status().code() == StatusCode::kNotFound) continue;
    if (!file.ok()) return file.status();
    const Queries& queries = ctx.agent.queries();
    auto dead = [&queries, alloc_id, task] { return TaskDead(queries, alloc_id, task); };
    auto source = std::make_unique<LogSource>(std::move(fs), task, type, files[pos.file].index,
                                              std::move(file).value(), pos.offset, follow,
                                              std::move(dead));
    return StartStream(streams, writer, std::move(source), plain);
  }
  return not_found;
}

// Runs a Status-returning handler; an error goes out as Nomad's text reply.
template <typename F>
Handler Answer(F f) {
  return [f](const Rest::Request& req, Http::ResponseWriter& writer) {
    if (Status st = f(req, writer); !st.ok()) SendError(writer, st);
  };
}

}  // namespace

void AddFsRoutes(RouteTable& routes, ApiContext& ctx, ChunkedStreams& streams) {
  using Req = const Rest::Request&;
  using W = Http::ResponseWriter&;
  const std::vector<Http::Method> get = {Http::Method::Get};
  routes.Add("/v1/client/fs/ls/:alloc_id", get,
             Answer([&ctx](Req req, W w) { return List(ctx, req, w); }));
  routes.Add("/v1/client/fs/stat/:alloc_id", get,
             Answer([&ctx](Req req, W w) { return Stat(ctx, req, w); }));
  routes.Add("/v1/client/fs/cat/:alloc_id", get, Answer([&ctx, &streams](Req req, W w) {
               return ReadPlain(ctx, streams, req, w, false);
             }));
  routes.Add("/v1/client/fs/readat/:alloc_id", get, Answer([&ctx, &streams](Req req, W w) {
               return ReadPlain(ctx, streams, req, w, true);
             }));
  routes.Add("/v1/client/fs/stream/:alloc_id", get, Answer([&ctx, &streams](Req req, W w) {
               return StreamFile(ctx, streams, req, w);
             }));
  routes.Add("/v1/client/fs/logs/:alloc_id", get, Answer([&ctx, &streams](Req req, W w) {
               return Logs(ctx, streams, req, w);
             }));
}

}  // namespace drover::api
