#include "lifecycle/executor/cgroup.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace drover::cgroup {
namespace {

// v1 hierarchies a task group lives in; the first three are required.
constexpr const char* kV1Required[] = {"memory", "pids", "freezer"};
constexpr const char* kV1Optional[] = {"cpu", "cpuacct"};
constexpr std::int64_t kMiB = 1024 * 1024;

std::int64_t NowMillis() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

// Writes `value` to an existing control file. 0 or errno.
int WriteFile(const std::string& path, const std::string& value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return errno;
  ssize_t n;
  do {
    n = ::write(fd, value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  int err = n == static_cast<ssize_t>(value.size()) ? 0 : (n < 0 ? errno : EIO);
  ::close(fd);
  return err;
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    std::size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return out;
    start = at + 1;
  }
}

// "<root>/<sub><own>/drover", with own "/" collapsing.
std::string ParentDir(const std::string& mount, const std::string& own) {
  std::string dir = mount;
  if (own != "/") dir += own;
  return dir + "/drover";
}

std::string MkdirOk(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST) return "";
  return Errno("mkdir " + dir);
}

// A parent group exists (made now or by an earlier agent) and task groups
// can be made in it: an agent without the right (not root, read-only
// mount) finds out here, not when its first task starts.
std::string UsableParent(const std::string& dir) {
  if (std::string e = MkdirOk(dir); !e.empty()) return e;
  if (::access(dir.c_str(), W_OK | X_OK) != 0) return Errno("cannot create groups in " + dir);
  return "";
}

std::uint64_t ReadNumber(const std::string& path) {
  std::string text = ReadSmallFile(path);
  if (text.empty() || text[0] < '0' || text[0] > '9') return 0;  // also "max"
  return std::strtoull(text.c_str(), nullptr, 10);
}

Layout DetectV2(const std::string& root, const std::map<std::string, std::string>& own) {
  Layout l;
  auto it = own.find(kUnified);
  if (it == own.end()) {
    l.off_reason = "cgroup v2 mounted but this process has no v2 group";
    return l;
  }
  std::string own_dir = it->second == "/" ? root : root + it->second;
  // Controllers must be enabled for the children of the agent's group and
  // of the drover group. A group with processes of its own (other than the
  // root) cannot enable them: then containment is off.
  if (it->second != "/") {
    if (int e = WriteFile(own_dir + "/cgroup.subtree_control", "+memory +pids +cpu"); e != 0) {
      l.off_reason = "enable controllers in " + own_dir + ": " + std::strerror(e);
      return l;
    }
  }
  std::string parent = ParentDir(root, it->second);
  if (std::string e = UsableParent(parent); !e.empty()) {
    l.off_reason = e;
    return l;
  }
  if (int e = WriteFile(parent + "/cgroup.subtree_control", "+memory +pids +cpu"); e != 0) {
    l.off_reason = "enable controllers in " + parent + ": " + std::strerror(e);
    return l;
  }
  l.version = Version::kV2;
  l.mountpoint = root;
  l.parents[kUnified] = parent;
  return l;
}

Layout DetectV1(const std::string& root, const std::map<std::string, std::string>& own) {
  Layout l;
  auto mounted = [&](const char* controller) {
    return own.count(controller) != 0 && Exists(root + "/" + controller + "/cgroup.procs");
  };
  for (const char* c : kV1Required) {
    if (!mounted(c)) {
      l.off_reason = std::string("cgroup v1 controller ") + c + " is not mounted under " + root;
      return l;
    }
  }
  std::map<std::string, std::string> parents;
  auto add = [&](const char* controller) {
    std::string parent = ParentDir(root + "/" + controller, own.at(controller));
    l.off_reason = UsableParent(parent);
    if (l.off_reason.empty()) parents[controller] = parent;
    return l.off_reason.empty();
  };
  for (const char* c : kV1Required) {
    if (!add(c)) return l;
  }
  for (const char* c : kV1Optional) {
    if (mounted(c) && !add(c)) return l;
  }
  l.version = Version::kV1;
  l.mountpoint = root;
  l.parents = std::move(parents);
  return l;
}

}  // namespace

std::string TaskGroup::Dir(const std::string& controller) const {
  auto it = dirs.find(version == Version::kV2 ? std::string(kUnified) : controller);
  return it == dirs.end() ? "" : it->second;
}

std::map<std::string, std::string> ParseProcCgroup(const std::string& text) {
  std::map<std::string, std::string> out;
  for (const std::string& line : Split(text, '\n')) {
    std::size_t a = line.find(':');
    if (a == std::string::npos) continue;
    std::size_t b = line.find(':', a + 1);
    if (b == std::string::npos) continue;
    std::string controllers = line.substr(a + 1, b - a - 1);
    std::string path = line.substr(b + 1);
    if (path.empty() || path[0] != '/') continue;
    if (controllers.empty()) {
      out[kUnified] = path;
      continue;
    }
    for (const std::string& c : Split(controllers, ',')) {
      if (!c.empty()) out[c] = path;
    }
  }
  return out;
}

bool ValidComponent(const std::string& name) {
  if (name.empty() || name.size() > 255 || name == "." || name == "..") return false;
  for (char c : name) {
    if (c == '/' || c == '\0' || c == '\n') return false;
  }
  return true;
}

std::string TaskGroupName(const std::string& alloc_id, const std::string& task) {
  if (!ValidComponent(alloc_id) || !ValidComponent(task)) return "";
  std::string name = alloc_id + "." + task;
  return ValidComponent(name) ? name : "";
}

TaskGroup MakeTaskGroup(const Layout& layout, const std::string& name) {
  TaskGroup g;
  if (layout.version == Version::kNone || name.empty()) return g;
  g.version = layout.version;
  for (const auto& [controller, parent] : layout.parents) g.dirs[controller] = parent + "/" + name;
  return g;
}

MemoryLimits ComputeMemoryLimits(std::int64_t memory_mb, std::int64_t memory_max_mb) {
  auto bytes = [](std::int64_t mb) -> std::int64_t {
    if (mb <= 0) return 0;
    if (mb > INT64_MAX / kMiB) return INT64_MAX / kMiB * kMiB;
    return mb * kMiB;
  };
  MemoryLimits m;
  if (memory_max_mb == -1) {  // oversubscription: soft limit only
    m.hard_bytes = -1;
    m.soft_bytes = bytes(memory_mb);
  } else if (memory_max_mb > 0) {
    m.hard_bytes = bytes(memory_max_mb);
    m.soft_bytes = bytes(memory_mb);
    if (m.soft_bytes > m.hard_bytes) m.soft_bytes = m.hard_bytes;
  } else {
    m.hard_bytes = bytes(memory_mb);
  }
  return m;
}

Layout Detect(const std::string& root, const std::string& proc_self_cgroup) {
  std::map<std::string, std::string> own = ParseProcCgroup(proc_self_cgroup);
  if (own.empty()) {
    Layout l;
    l.off_reason = "no cgroup in /proc/self/cgroup";
    return l;
  }
  std::string controllers = ReadSmallFile(root + "/cgroup.controllers");
  if (!controllers.empty()) {
    bool all = true;
    for (const char* c : {"memory", "pids", "cpu"}) {
      bool found = false;
      for (const std::string& have : Split(controllers.substr(0, controllers.find('\n')), ' ')) {
        found = found || have == c;
      }
      all = all && found;
    }
    if (all) return DetectV2(root, own);
  }
  if (!Exists(root + "/memory")) {
    Layout l;
    l.off_reason = "no usable cgroup hierarchy under " + root;
    return l;
  }
  return DetectV1(root, own);
}

std::string Create(const TaskGroup& group, const Limits& limits) {
  for (const auto& [controller, dir] : group.dirs) {
    if (std::string e = MkdirOk(dir); !e.empty()) return e;
  }
  auto write = [](const std::string& dir, const char* file, const std::string& value) -> std::string {
    if (dir.empty()) return "";
    int e = WriteFile(dir + "/" + file, value);
    return e == 0 ? "" : "write " + dir + "/" + file + ": " + std::strerror(e);
  };
  const MemoryLimits& m = limits.memory;
  std::string mem = group.Dir("memory");
  std::string err;
  if (group.version == Version::kV1) {
    if (m.hard_bytes != 0)
      err = write(mem, "memory.limit_in_bytes", m.hard_bytes < 0 ? "-1" : std::to_string(m.hard_bytes));
    if (err.empty() && m.soft_bytes > 0)
      err = write(mem, "memory.soft_limit_in_bytes", std::to_string(m.soft_bytes));
    // As Nomad: no swapping, so that the limit holds (best effort: absent
    // on some kernels).
    if (err.empty() && m.hard_bytes != 0) (void)write(mem, "memory.swappiness", "0");
    if (err.empty() && limits.cpu_shares > 0)
      err = write(group.Dir("cpu"), "cpu.shares", std::to_string(limits.cpu_shares < 2 ? 2 : limits.cpu_shares));
  } else {
    if (m.hard_bytes != 0)
      err = write(mem, "memory.max", m.hard_bytes < 0 ? "max" : std::to_string(m.hard_bytes));
    if (err.empty() && m.soft_bytes > 0) err = write(mem, "memory.low", std::to_string(m.soft_bytes));
    if (err.empty() && m.hard_bytes != 0) (void)write(mem, "memory.swap.max", "0");
    if (err.empty() && limits.cpu_shares > 0) {
      // systemd's conversion of shares (2..262144) to weight (1..10000).
      std::int64_t shares = limits.cpu_shares < 2 ? 2 : (limits.cpu_shares > 262144 ? 262144 : limits.cpu_shares);
      std::int64_t weight = 1 + ((shares - 2) * 9999) / 262142;
      err = write(group.Dir("cpu"), "cpu.weight", std::to_string(weight));
    }
  }
  if (err.empty() && limits.pids_max > 0)
    err = write(group.Dir("pids"), "pids.max", std::to_string(limits.pids_max));
  return err;
}

std::vector<int> OpenJoinFiles(const TaskGroup& group, std::string* error) {
  std::vector<int> fds;
  std::map<std::string, bool> seen;  // v1 "cpu" and "cpuacct" may share a directory
  for (const auto& [controller, dir] : group.dirs) {
    if (seen[dir]) continue;
    seen[dir] = true;
    int fd = ::open((dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
      *error = Errno("open " + dir + "/cgroup.procs");
      for (int f : fds) ::close(f);
      return {};
    }
    fds.push_back(fd);
  }
  return fds;
}

int JoinByFds(const std::vector<int>& fds, int pid) {
  char buf[16];
  int n = 0;
  char rev[16];
  int r = 0;
  do {
    rev[r++] = static_cast<char>('0' + pid % 10);
    pid /= 10;
  } while (pid > 0 && r < 15);
  while (r > 0) buf[n++] = rev[--r];
  for (int fd : fds) {
    if (::write(fd, buf, static_cast<std::size_t>(n)) != n) return errno != 0 ? errno : EIO;
  }
  return 0;
}

std::vector<int> Pids(const TaskGroup& group) {
  std::vector<int> out;
  std::string dir = group.version == Version::kV2 ? group.Dir(kUnified) : group.Dir("freezer");
  if (dir.empty()) dir = group.Dir("memory");
  if (dir.empty()) return out;
  for (const std::string& line : Split(ReadSmallFile(dir + "/cgroup.procs"), '\n')) {
    if (line.empty()) continue;
    long pid = std::strtol(line.c_str(), nullptr, 10);
    if (pid > 0 && pid <= INT_MAX) out.push_back(static_cast<int>(pid));
  }
  return out;
}

bool KillAll(const TaskGroup& group, int timeout_ms) {
  if (!group.enabled()) return true;
  const std::int64_t deadline = NowMillis() + timeout_ms;
  std::string dir = group.version == Version::kV2 ? group.Dir(kUnified) : group.Dir("freezer");
  if (dir.empty() || !Exists(dir)) return true;
  if (group.version == Version::kV2 && WriteFile(dir + "/cgroup.kill", "1") == 0) {
    while (!Pids(group).empty()) {
      if (NowMillis() >= deadline) return false;
      ::usleep(5000);
    }
    return true;
  }
  // Freezing first means no member can fork while the pids are killed one
  // by one; the SIGKILLs take effect on thaw.
  const bool v1 = group.version == Version::kV1;
  const std::string freeze = v1 ? dir + "/freezer.state" : dir + "/cgroup.freeze";
  for (;;) {
    std::vector<int> pids = Pids(group);
    if (pids.empty()) {
      (void)WriteFile(freeze, v1 ? "THAWED" : "0");
      return true;
    }
    (void)WriteFile(freeze, v1 ? "FROZEN" : "1");
    for (int i = 0; i < 50 && v1; ++i) {  // FREEZING until every member stopped
      if (ReadSmallFile(freeze).rfind("FROZEN", 0) == 0) break;
      ::usleep(1000);
    }
    for (int pid : Pids(group)) ::kill(pid, SIGKILL);
    (void)WriteFile(freeze, v1 ? "THAWED" : "0");
    if (NowMillis() >= deadline) return Pids(group).empty();
    ::usleep(5000);
  }
}

bool OomKilled(const TaskGroup& group) {
  std::string dir = group.Dir("memory");
  if (dir.empty()) return false;
  const char* file = group.version == Version::kV2 ? "/memory.events" : "/memory.oom_control";
  auto kv = ParseFlatKeyed(ReadSmallFile(dir + file));
  auto it = kv.find("oom_kill");
  return it != kv.end() && it->second > 0;
}

bool Remove(const TaskGroup& group, int timeout_ms) {
  const std::int64_t deadline = NowMillis() + timeout_ms;
  for (;;) {
    bool left = false;
    for (const auto& [controller, dir] : group.dirs) {
      if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) left = true;
    }
    if (!left) return true;
    if (NowMillis() >= deadline) return false;
    ::usleep(10'000);
  }
}

std::map<std::string, std::uint64_t> ParseFlatKeyed(const std::string& text) {
  std::map<std::string, std::uint64_t> out;
  for (const std::string& line : Split(text, '\n')) {
    std::size_t sp = line.find(' ');
    if (sp == std::string::npos || sp == 0) continue;
    const char* num = line.c_str() + sp + 1;
    if (*num < '0' || *num > '9') continue;
    errno = 0;
    char* end = nullptr;
    unsigned long long v = std::strtoull(num, &end, 10);
    if (errno != 0) continue;
    out[line.substr(0, sp)] = v;
  }
  return out;
}

MemoryStat ReadMemory(const TaskGroup& group) {
  MemoryStat m;
  std::string dir = group.Dir("memory");
  if (dir.empty()) return m;
  auto stat = ParseFlatKeyed(ReadSmallFile(dir + "/memory.stat"));
  auto get = [&](const char* key) {
    auto it = stat.find(key);
    return it == stat.end() ? 0 : it->second;
  };
  if (group.version == Version::kV1) {
    m.rss = get("rss");
    m.cache = get("cache");
    m.swap = get("swap");
    m.mapped_file = get("mapped_file");
    m.usage = ReadNumber(dir + "/memory.usage_in_bytes");
    m.max_usage = ReadNumber(dir + "/memory.max_usage_in_bytes");
    m.kernel_usage = ReadNumber(dir + "/memory.kmem.usage_in_bytes");
    m.kernel_max_usage = ReadNumber(dir + "/memory.kmem.max_usage_in_bytes");
  } else {
    m.rss = get("anon");
    m.cache = get("file");
    m.mapped_file = get("file_mapped");
    m.kernel_usage = get("kernel");
    m.swap = ReadNumber(dir + "/memory.swap.current");
    m.usage = ReadNumber(dir + "/memory.current");
    m.max_usage = ReadNumber(dir + "/memory.peak");
  }
  return m;
}

CpuStat ReadCpu(const TaskGroup& group, long ticks_per_second) {
  CpuStat c;
  if (group.version == Version::kV2) {
    std::string dir = group.Dir(kUnified);
    auto stat = ParseFlatKeyed(ReadSmallFile(dir + "/cpu.stat"));
    c.user_ns = stat["user_usec"] * 1000;
    c.system_ns = stat["system_usec"] * 1000;
    c.throttled_periods = stat["nr_throttled"];
    c.throttled_time_ns = stat["throttled_usec"] * 1000;
    return c;
  }
  if (std::string dir = group.Dir("cpuacct"); !dir.empty()) {
    // Nanoseconds where the kernel has them (4.7+), else USER_HZ ticks.
    std::string user = ReadSmallFile(dir + "/cpuacct.usage_user");
    std::string sys = ReadSmallFile(dir + "/cpuacct.usage_sys");
    if (!user.empty() && !sys.empty()) {
      c.user_ns = std::strtoull(user.c_str(), nullptr, 10);
      c.system_ns = std::strtoull(sys.c_str(), nullptr, 10);
    } else if (ticks_per_second > 0) {
      auto stat = ParseFlatKeyed(ReadSmallFile(dir + "/cpuacct.stat"));
      const std::uint64_t ns_per_tick = 1'000'000'000ULL / static_cast<std::uint64_t>(ticks_per_second);
      c.user_ns = stat["user"] * ns_per_tick;
      c.system_ns = stat["system"] * ns_per_tick;
    }
  }
  if (std::string dir = group.Dir("cpu"); !dir.empty()) {
    auto stat = ParseFlatKeyed(ReadSmallFile(dir + "/cpu.stat"));
    c.throttled_periods = stat["nr_throttled"];
    c.throttled_time_ns = stat["throttled_time"];
  }
  return c;
}

std::string ReadSmallFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || out.size() > (1u << 20)) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace drover::cgroup
