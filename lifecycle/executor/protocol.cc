#include "lifecycle/executor/protocol.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace drover::executor {
namespace {

void Put(std::string& out, const char* key, const std::string& value) {
  out.append(key);
  out.push_back('\0');
  out.append(value);
  out.push_back('\0');
}

bool ParseInt(const std::string& s, std::int64_t* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  *out = v;
  return true;
}

}  // namespace

std::string EncodeSpec(const Spec& s) {
  std::string out;
  Put(out, "command", s.command);
  for (const auto& a : s.args) Put(out, "arg", a);
  for (const auto& e : s.env) Put(out, "env", e);
  Put(out, "cwd", s.cwd);
  Put(out, "stdout", s.stdout_base);
  Put(out, "stderr", s.stderr_base);
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

bool DecodeSpec(const std::string& text, Spec* s) {
  std::size_t pos = 0;
  auto next = [&](std::string* out) {
    std::size_t nul = text.find('\0', pos);
    if (nul == std::string::npos) return false;
    out->assign(text, pos, nul - pos);
    pos = nul + 1;
    return true;
  };
  std::string key, value;
  while (pos < text.size()) {
    if (!next(&key) || !next(&value)) return false;
    std::int64_t n = 0;
    if (key == "command") s->command = value;
    else if (key == "arg") s->args.push_back(value);
    else if (key == "env") s->env.push_back(value);
    else if (key == "cwd") s->cwd = value;
    else if (key == "stdout") s->stdout_base = value;
    else if (key == "stderr") s->stderr_base = value;
    else if (key == "user") s->user = value;
    else if (key == "chown") s->chown.push_back(value);
    else if (key == "cgroup") s->cgroups.push_back(value);
    else if (!ParseInt(value, &n)) return false;
    else if (key == "max_files") s->max_files = static_cast<int>(n);
    else if (key == "max_file_bytes") s->max_file_bytes = static_cast<std::uint64_t>(n);
    else if (key == "kill_signal") s->kill_signal = static_cast<int>(n);
    else if (key == "kill_timeout_ms") s->kill_timeout_ms = n;
    else if (key == "cgroup_version" && (n == 1 || n == 2)) s->cgroup_version = static_cast<int>(n);
    else if (key == "memory_hard_bytes" && n >= -1) s->memory_hard_bytes = n;
    else if (key == "memory_soft_bytes" && n >= 0) s->memory_soft_bytes = n;
    else if (key == "pids_max" && n >= 0) s->pids_max = n;
    else if (key == "cpu_shares" && n >= 0) s->cpu_shares = n;
    else return false;
  }
  for (const auto& c : s->cgroups) {
    auto colon = c.find(':');
    if (colon == std::string::npos || colon == 0 || c.compare(colon + 1, 1, "/") != 0) return false;
  }
  return !s->command.empty() && !s->stdout_base.empty() && !s->stderr_base.empty();
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

bool WriteFileDurably(const std::string& path, const std::string& data) {
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
  if (::fsync(fd) != 0 || ::close(fd) != 0) return false;
  if (::rename(tmp.c_str(), path.c_str()) != 0) return false;
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
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

std::optional<std::string> SendCommand(const std::string& state_dir, const std::string& command,
                                       int timeout_ms) {
  int dir_fd = ::open(state_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return std::nullopt;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "/proc/self/fd/%d/sock", dir_fd);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ::close(dir_fd);
    return std::nullopt;
  }
  auto fail = [fd]() -> std::optional<std::string> {
    int saved = errno;
    ::close(fd);
    errno = saved;
    return std::nullopt;
  };
  int connected = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  int connect_errno = errno;
  ::close(dir_fd);
  errno = connect_errno;
  if (connected != 0) return fail();
  std::string line = command + "\n";
  if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size()))
    return fail();
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
