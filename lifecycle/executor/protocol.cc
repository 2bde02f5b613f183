#include "lifecycle/executor/protocol.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/safe_fs.h"

namespace drover::executor {
namespace {

constexpr std::string_view kMagic = "drover-launch-spec 2\n";
constexpr std::size_t kMaxLengthDigits = 9;  // a value is under 1 GB
constexpr int kMaxSignal = 64;  // SIGRTMAX on Linux
// The executor turns the timeout into nanoseconds in an int64.
constexpr std::int64_t kMaxKillTimeoutMs = INT64_MAX / 1'000'000;

void Put(std::string& out, std::string_view key, std::string_view value) {
  out.append(key);
  out.push_back(' ');
  out.append(std::to_string(value.size()));
  out.push_back('\n');
  out.append(value);
  out.push_back('\n');
}

// A canonical decimal: digits only, no leading zero but "0" itself.
bool ParseDecimal(std::string_view s, std::uint64_t* out) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

Status HasNul(std::string_view what, std::string_view value) {
  if (value.find('\0') == std::string_view::npos) return Status::Ok();
  return InvalidArgument(std::string(what) + " contains a NUL byte");
}

Status InRange(std::string_view what, std::uint64_t v, std::uint64_t lo, std::uint64_t hi) {
  if (v >= lo && v <= hi) return Status::Ok();
  return InvalidArgument(std::string(what) + " " + std::to_string(v) + " is out of range [" +
                         std::to_string(lo) + ", " + std::to_string(hi) + "]");
}

Status InRangeSigned(std::string_view what, std::int64_t v, std::int64_t lo, std::int64_t hi) {
  if (v >= lo && v <= hi) return Status::Ok();
  return InvalidArgument(std::string(what) + " " + std::to_string(v) + " is out of range [" +
                         std::to_string(lo) + ", " + std::to_string(hi) + "]");
}

bool IsRelativeBeneath(std::string_view rel) {
  if (rel.empty() || rel.front() == '/') return false;
  for (std::string_view part : PathComponents(rel)) {
    if (part == "..") return false;
  }
  return true;
}

// The fields that hold one value each, in the order they are written.
enum Single {
  kCommand,
  kCwd,
  kAllocDir,
  kLogsDir,
  kStdout,
  kStderr,
  kMaxFiles,
  kMaxFileBytes,
  kKillSignal,
  kKillTimeoutMs,
  kSingleCount
};
constexpr std::string_view kSingleKeys[kSingleCount] = {
    "command", "cwd",       "alloc_dir",      "logs_dir",    "stdout",
    "stderr",  "max_files", "max_file_bytes", "kill_signal", "kill_timeout_ms"};

// The containment fields: at most once each, all present when a cgroup is.
enum Optional {
  kUser,
  kCgroupVersion,
  kMemoryHard,
  kMemorySoft,
  kPidsMax,
  kCpuShares,
  kOptionalCount
};
constexpr std::string_view kOptionalKeys[kOptionalCount] = {
    "user", "cgroup_version", "memory_hard_bytes", "memory_soft_bytes", "pids_max", "cpu_shares"};

// A signed decimal for the limits, where -1 means unlimited.
bool ParseSigned(std::string_view s, std::int64_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Status ValidateSpec(const Spec& s) {
  RETURN_IF_ERROR(HasNul("command", s.command));
  if (s.command.empty() || s.command.front() != '/')
    return InvalidArgument("command \"" + s.command + "\" is not an absolute path");
  for (std::size_t i = 0; i < s.args.size(); ++i)
    RETURN_IF_ERROR(HasNul("argument " + std::to_string(i + 1), s.args[i]));
  for (const std::string& e : s.env) {
    const std::size_t eq = e.find('=');
    const std::string name = e.substr(0, eq);
    RETURN_IF_ERROR(HasNul("environment variable name \"" + name + "\"", name));
    if (eq == std::string::npos || eq == 0)
      return InvalidArgument("environment entry \"" + e + "\" has no NAME=");
    RETURN_IF_ERROR(HasNul("environment variable " + name, e));
  }
  RETURN_IF_ERROR(HasNul("working directory", s.cwd));
  RETURN_IF_ERROR(HasNul("allocation directory", s.alloc_dir));
  if (s.alloc_dir.empty() || s.alloc_dir.front() != '/')
    return InvalidArgument("allocation directory \"" + s.alloc_dir + "\" is not an absolute path");
  RETURN_IF_ERROR(HasNul("logs directory", s.logs_dir));
  if (!IsRelativeBeneath(s.logs_dir))
    return InvalidArgument("logs directory \"" + s.logs_dir + "\" is not beneath the allocation");
  for (const std::string* name : {&s.stdout_name, &s.stderr_name}) {
    if (!IsSafeComponent(*name))
      return InvalidArgument("log name \"" + *name + "\" is not one path component");
  }
  RETURN_IF_ERROR(InRangeSigned("max_files", s.max_files, 1, kMaxLogFiles));
  RETURN_IF_ERROR(InRange("max_file_bytes", s.max_file_bytes, 1, kMaxLogFileBytes));
  RETURN_IF_ERROR(InRangeSigned("kill_signal", s.kill_signal, 1, kMaxSignal));
  RETURN_IF_ERROR(InRangeSigned("kill_timeout_ms", s.kill_timeout_ms, 0, kMaxKillTimeoutMs));
  RETURN_IF_ERROR(HasNul("user", s.user));
  for (const std::string& c : s.chown) {
    if (!IsSafeComponent(c))
      return InvalidArgument("chown entry \"" + c + "\" is not one path component");
  }
  if (s.cgroup_version != 0 && s.cgroup_version != 1 && s.cgroup_version != 2)
    return InvalidArgument("cgroup_version " + std::to_string(s.cgroup_version) + " is not 1 or 2");
  for (const std::string& c : s.cgroups) {
    RETURN_IF_ERROR(HasNul("cgroup", c));
    const std::size_t colon = c.find(':');
    if (colon == std::string::npos || colon == 0 || c.compare(colon + 1, 1, "/") != 0)
      return InvalidArgument("cgroup \"" + c + "\" is not <controller>:<absolute dir>");
  }
  RETURN_IF_ERROR(InRangeSigned("memory_hard_bytes", s.memory_hard_bytes, -1, INT64_MAX));
  RETURN_IF_ERROR(InRangeSigned("memory_soft_bytes", s.memory_soft_bytes, 0, INT64_MAX));
  RETURN_IF_ERROR(InRangeSigned("pids_max", s.pids_max, 0, INT64_MAX));
  RETURN_IF_ERROR(InRangeSigned("cpu_shares", s.cpu_shares, 0, INT64_MAX));
  return Status::Ok();
}

Result<std::string> EncodeLaunchSpec(const Spec& s) {
  RETURN_IF_ERROR(ValidateSpec(s));
  std::string out(kMagic);
  Put(out, "command", s.command);
  for (const auto& a : s.args) Put(out, "arg", a);
  for (const auto& e : s.env) Put(out, "env", e);
  Put(out, "cwd", s.cwd);
  Put(out, "alloc_dir", s.alloc_dir);
  Put(out, "logs_dir", s.logs_dir);
  Put(out, "stdout", s.stdout_name);
  Put(out, "stderr", s.stderr_name);
  Put(out, "max_files", std::to_string(s.max_files));
  Put(out, "max_file_bytes", std::to_string(s.max_file_bytes));
  Put(out, "kill_signal", std::to_string(s.kill_signal));
  Put(out, "kill_timeout_ms", std::to_string(s.kill_timeout_ms));
  if (!s.user.empty()) Put(out, "user", s.user);
  for (const auto& c : s.chown) Put(out, "chown", c);
  if (s.cgroup_version != 0) {
    Put(out, "cgroup_version", std::to_string(s.cgroup_version));
    for (const auto& c : s.cgroups) Put(out, "cgroup", c);
    Put(out, "memory_hard_bytes", std::to_string(s.memory_hard_bytes));
    Put(out, "memory_soft_bytes", std::to_string(s.memory_soft_bytes));
    Put(out, "pids_max", std::to_string(s.pids_max));
    Put(out, "cpu_shares", std::to_string(s.cpu_shares));
  }
  return out;
}

Result<Spec> DecodeLaunchSpec(std::string_view text) {
  if (text.substr(0, kMagic.size()) != kMagic)
    return InvalidArgument("launch spec: not a drover-launch-spec 2 file");
  std::size_t pos = kMagic.size();
  Spec s;
  std::string_view singles[kSingleCount];
  bool seen[kSingleCount] = {};
  std::string_view optionals[kOptionalCount];
  bool seen_optional[kOptionalCount] = {};
  while (pos < text.size()) {
    const std::string at = " at byte " + std::to_string(pos);
    const std::size_t space = text.find(' ', pos);
    if (space == std::string_view::npos)
      return InvalidArgument("launch spec: truncated field" + at);
    const std::string_view key = text.substr(pos, space - pos);
    const std::size_t newline = text.find('\n', space + 1);
    if (newline == std::string_view::npos || newline - space - 1 > kMaxLengthDigits)
      return InvalidArgument("launch spec: bad length of \"" + std::string(key) + "\"" + at);
    std::uint64_t length = 0;
    if (!ParseDecimal(text.substr(space + 1, newline - space - 1), &length))
      return InvalidArgument("launch spec: bad length of \"" + std::string(key) + "\"" + at);
    const std::size_t start = newline + 1;
    if (length > text.size() - start || text.size() - start - length < 1 ||
        text[start + length] != '\n') {
      return InvalidArgument("launch spec: value of \"" + std::string(key) +
                             "\" runs past its end" + at);
    }
    const std::string_view value = text.substr(start, length);
    pos = start + length + 1;
    if (key == "arg") {
      s.args.emplace_back(value);
      continue;
    }
    if (key == "env") {
      s.env.emplace_back(value);
      continue;
    }
    if (key == "chown") {
      s.chown.emplace_back(value);
      continue;
    }
    if (key == "cgroup") {
      s.cgroups.emplace_back(value);
      continue;
    }
    int o = 0;
    while (o < kOptionalCount && kOptionalKeys[o] != key) ++o;
    if (o < kOptionalCount) {
      if (seen_optional[o])
        return InvalidArgument("launch spec: repeated key \"" + std::string(key) + "\"" + at);
      seen_optional[o] = true;
      optionals[o] = value;
      continue;
    }
    int i = 0;
    while (i < kSingleCount && kSingleKeys[i] != key) ++i;
    if (i == kSingleCount)
      return InvalidArgument("launch spec: unknown key \"" + std::string(key) + "\"" + at);
    if (seen[i])
      return InvalidArgument("launch spec: repeated key \"" + std::string(key) + "\"" + at);
    seen[i] = true;
    singles[i] = value;
  }
  for (int i = 0; i < kSingleCount; ++i) {
    if (!seen[i])
      return InvalidArgument("launch spec: missing \"" + std::string(kSingleKeys[i]) + "\"");
  }
  std::uint64_t n[kSingleCount] = {};
  for (int i = kMaxFiles; i < kSingleCount; ++i) {
    if (!ParseDecimal(singles[i], &n[i]))
      return InvalidArgument("launch spec: \"" + std::string(kSingleKeys[i]) +
                             "\" is not a number");
  }
  RETURN_IF_ERROR(InRange("max_files", n[kMaxFiles], 1, kMaxLogFiles));
  RETURN_IF_ERROR(InRange("kill_signal", n[kKillSignal], 1, kMaxSignal));
  RETURN_IF_ERROR(InRange("kill_timeout_ms", n[kKillTimeoutMs], 0, kMaxKillTimeoutMs));
  s.command = singles[kCommand];
  s.cwd = singles[kCwd];
  s.alloc_dir = singles[kAllocDir];
  s.logs_dir = singles[kLogsDir];
  s.stdout_name = singles[kStdout];
  s.stderr_name = singles[kStderr];
  s.max_files = static_cast<int>(n[kMaxFiles]);
  s.max_file_bytes = n[kMaxFileBytes];
  s.kill_signal = static_cast<int>(n[kKillSignal]);
  s.kill_timeout_ms = static_cast<std::int64_t>(n[kKillTimeoutMs]);
  if (seen_optional[kUser]) s.user = optionals[kUser];
  std::int64_t limits[kOptionalCount] = {};
  for (int o = kCgroupVersion; o < kOptionalCount; ++o) {
    if (seen_optional[o] != seen_optional[kCgroupVersion])
      return InvalidArgument("launch spec: \"" + std::string(kOptionalKeys[o]) +
                             "\" goes with cgroup_version");
    if (seen_optional[o] && !ParseSigned(optionals[o], &limits[o]))
      return InvalidArgument("launch spec: \"" + std::string(kOptionalKeys[o]) +
                             "\" is not a number");
  }
  if (!s.cgroups.empty() && !seen_optional[kCgroupVersion])
    return InvalidArgument("launch spec: \"cgroup\" goes with cgroup_version");
  if (seen_optional[kCgroupVersion]) {
    if (limits[kCgroupVersion] != 1 && limits[kCgroupVersion] != 2)
      return InvalidArgument("launch spec: cgroup_version is not 1 or 2");
    s.cgroup_version = static_cast<int>(limits[kCgroupVersion]);
    s.memory_hard_bytes = limits[kMemoryHard];
    s.memory_soft_bytes = limits[kMemorySoft];
    s.pids_max = limits[kPidsMax];
    s.cpu_shares = limits[kCpuShares];
  }
  Status valid = ValidateSpec(s);
  if (!valid.ok()) return valid.Annotate("launch spec");
  return s;
}

std::string EncodeExit(const ExitRecord& r) {
  return std::to_string(r.exit_code) + " " + std::to_string(r.signal) + " " +
         std::to_string(r.time_ns) + " " + (r.oom_killed ? "1" : "0") + "\n";
}

std::optional<ExitRecord> DecodeExit(const std::string& text) {
  ExitRecord r;
  long long code = 0, sig = 0, t = 0;
  int oom = 0;
  int fields = std::sscanf(text.c_str(), "%lld %lld %lld %d", &code, &sig, &t, &oom);
  if (fields != 3 && fields != 4) return std::nullopt;
  r.oom_killed = fields == 4 && oom != 0;
  r.exit_code = code;
  r.signal = sig;
  r.time_ns = t;
  return r;
}

cgroup::TaskGroup SpecGroup(const Spec& spec) {
  cgroup::TaskGroup g;
  if (spec.cgroup_version == 0 || spec.cgroups.empty()) return g;
  g.version = spec.cgroup_version == 2 ? cgroup::Version::kV2 : cgroup::Version::kV1;
  for (const auto& c : spec.cgroups) {
    auto colon = c.find(':');
    g.dirs[c.substr(0, colon)] = c.substr(colon + 1);
  }
  return g;
}

namespace {

bool WriteReplacing(const std::string& path, const std::string& data, bool sync) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t w = ::write(fd, data.data() + off, data.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      int saved = errno;
      ::close(fd);
      errno = saved;
      return false;
    }
    off += static_cast<std::size_t>(w);
  }
  if ((sync && ::fsync(fd) != 0) || ::close(fd) != 0) return false;
  if (::rename(tmp.c_str(), path.c_str()) != 0) return false;
  if (!sync) return true;
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

}  // namespace

bool WriteFileDurably(const std::string& path, const std::string& data) {
  return WriteReplacing(path, data, /*sync=*/true);
}

bool WriteFileReplacing(const std::string& path, const std::string& data) {
  return WriteReplacing(path, data, /*sync=*/false);
}

std::optional<std::string> ReadWholeFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

namespace {

// Connects to the executor's socket and writes `command`: the connected
// descriptor, or -1 with errno set. Non-blocking: a hung executor whose
// backlog is full answers EAGAIN at once instead of holding the caller.
int ConnectAndSend(const std::string& state_dir, const std::string& command) {
  int dir_fd = ::open(state_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return -1;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "/proc/self/fd/%d/sock", dir_fd);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    int saved = errno;
    ::close(dir_fd);
    errno = saved;
    return -1;
  }
  int connected = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  int saved = errno;
  ::close(dir_fd);
  const std::string line = command + "\n";
  if (connected == 0 &&
      ::send(fd, line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size())) {
    return fd;
  }
  if (connected == 0) saved = errno;
  ::close(fd);
  errno = saved;
  return -1;
}

}  // namespace

bool PostCommand(const std::string& state_dir, const std::string& command) {
  int fd = ConnectAndSend(state_dir, command);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

std::optional<std::string> SendCommand(const std::string& state_dir, const std::string& command,
                                       int timeout_ms) {
  int fd = ConnectAndSend(state_dir, command);
  if (fd < 0) return std::nullopt;
  auto fail = [fd]() -> std::optional<std::string> {
    int saved = errno;
    ::close(fd);
    errno = saved;
    return std::nullopt;
  };
  std::string reply;
  char buf[256];
  while (reply.find('\n') == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, timeout_ms);
    if (ready == 0) errno = ETIMEDOUT;
    if (ready <= 0) return fail();
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) {
      if (n == 0) errno = ECONNRESET;
      return fail();
    }
    reply.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  reply.resize(reply.find('\n'));
  return reply;
}

}  // namespace drover::executor
