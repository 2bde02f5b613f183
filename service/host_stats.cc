#include "service/host_stats.h"

#include <sys/statvfs.h>

#include <charconv>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <thread>

#include "lifecycle/proc_stats.h"

namespace drover {
namespace {

bool ParseU64(std::string_view s, std::uint64_t& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

double Percent(std::uint64_t part, std::uint64_t whole) {
  return whole == 0 ? 0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

}  // namespace

Result<std::vector<CpuTimes>> ParseProcStat(std::string_view text) {
  std::vector<CpuTimes> out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    // Per-core lines only: "cpu" followed by a digit.
    if (line.size() < 4 || line.compare(0, 3, "cpu") != 0 || line[3] < '0' || line[3] > '9') {
      continue;
    }
    std::istringstream fields(line);
    CpuTimes t;
    fields >> t.name >> t.user >> t.nice >> t.system >> t.idle;
    if (!fields) return InvalidArgument("/proc/stat: malformed line \"" + line + "\"");
    // Older kernels stop earlier; absent fields stay 0.
    fields >> t.iowait >> t.irq >> t.softirq >> t.steal;
    out.push_back(std::move(t));
  }
  if (out.empty()) return InvalidArgument("/proc/stat: no cpu lines");
  return out;
}

CpuStats CpuPercent(const CpuTimes& before, const CpuTimes& after) {
  CpuStats s;
  s.CPU = after.name;
  auto delta = [](std::uint64_t a, std::uint64_t b) { return b > a ? b - a : 0; };
  const std::uint64_t total = delta(before.Total(), after.Total());
  if (total == 0) {
    s.Idle = 100;
    return s;
  }
  s.User = Percent(delta(before.user + before.nice, after.user + after.nice), total);
  s.System = Percent(delta(before.system + before.irq + before.softirq,
                           after.system + after.irq + after.softirq),
                     total);
  s.Idle = Percent(delta(before.idle + before.iowait, after.idle + after.iowait), total);
  s.Total = 100.0 - s.Idle;
  return s;
}

Result<MemoryStats> ParseMeminfo(std::string_view text) {
  MemoryStats m;
  bool have_total = false, have_available = false;
  std::istringstream in{std::string(text)};
  std::string key, unit;
  std::uint64_t kb = 0;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    if (!(fields >> key >> kb)) continue;
    const std::uint64_t bytes = kb * 1024;
    if (key == "MemTotal:") {
      m.Total = bytes;
      have_total = true;
    } else if (key == "MemAvailable:") {
      m.Available = bytes;
      have_available = true;
    } else if (key == "MemFree:") {
      m.Free = bytes;
    }
  }
  if (!have_total) return InvalidArgument("/proc/meminfo: no MemTotal");
  if (!have_available) m.Available = m.Free;  // kernels before 3.14
  m.Used = m.Total > m.Available ? m.Total - m.Available : 0;
  return m;
}

Result<std::uint64_t> ParseUptime(std::string_view text) {
  std::size_t end = text.find_first_of(". \n");
  std::uint64_t seconds = 0;
  if (!ParseU64(text.substr(0, end), seconds)) {
    return InvalidArgument("/proc/uptime: malformed \"" + std::string(text) + "\"");
  }
  return seconds;
}

std::optional<MountEntry> MountFor(std::string_view mounts_text, const std::string& path) {
  std::optional<MountEntry> best;
  std::istringstream in{std::string(mounts_text)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    MountEntry e;
    if (!(fields >> e.device >> e.mountpoint)) continue;
    const std::string& mp = e.mountpoint;
    bool holds = mp == "/" || path == mp ||
                 (path.compare(0, mp.size(), mp) == 0 && path.size() > mp.size() &&
                  path[mp.size()] == '/');
    // Later entries over the same mount point shadow earlier ones.
    if (holds && (!best || mp.size() >= best->mountpoint.size())) best = std::move(e);
  }
  return best;
}

Result<DiskStats> FileSystemStats(const std::string& path) {
  struct statvfs vfs {};
  if (::statvfs(path.c_str(), &vfs) != 0) return Internal("statvfs " + path + " failed");
  DiskStats d;
  d.Size = static_cast<std::uint64_t>(vfs.f_blocks) * vfs.f_frsize;
  d.Available = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  d.Used = (static_cast<std::uint64_t>(vfs.f_blocks) - vfs.f_bfree) * vfs.f_frsize;
  // As df: used over what non-root users can have.
  d.UsedPercent = Percent(d.Used, d.Used + d.Available);
  if (vfs.f_files > 0) d.InodesUsedPercent = Percent(vfs.f_files - vfs.f_ffree, vfs.f_files);
  return d;
}

// ---- HostStatsCollector ------------------------------------------------------

struct HostStatsCollector::Impl {
  HostStatsOptions options;
  std::thread thread;
  mutable std::mutex mu;
  std::condition_variable wake;
  bool stopping = false;
  std::vector<CpuTimes> last_cpu;  // sampling thread only
  HostStats latest;                // guarded by mu

  void Sample() {
    HostStats s;
    s.Timestamp = NowNanos();
    if (auto text = ReadTextFile("/proc/stat"); text.ok()) {
      if (auto cpus = ParseProcStat(*text); cpus.ok()) {
        const double mhz_per_core =
            cpus->empty() ? 0 : options.cpu_mhz_total / static_cast<double>(cpus->size());
        for (std::size_t i = 0; i < cpus->size(); ++i) {
          CpuStats c = i < last_cpu.size() ? CpuPercent(last_cpu[i], (*cpus)[i])
                                           : CpuStats{(*cpus)[i].name, 0, 0, 100, 0};
          s.CPUTicksConsumed += c.Total / 100.0 * mhz_per_core;
          s.CPU.push_back(std::move(c));
        }
        last_cpu = std::move(*cpus);
      }
    }
    if (auto text = ReadTextFile("/proc/meminfo"); text.ok()) {
      if (auto mem = ParseMeminfo(*text); mem.ok()) s.Memory = *mem;
    }
    if (auto text = ReadTextFile("/proc/uptime"); text.ok()) {
      if (auto up = ParseUptime(*text); up.ok()) s.Uptime = *up;
    }
    std::error_code ec;
    const std::string data_dir = std::filesystem::canonical(options.data_dir, ec).string();
    if (auto disk = FileSystemStats(data_dir); disk.ok()) {
      if (auto mounts = ReadTextFile("/proc/self/mounts"); mounts.ok()) {
        if (auto m = MountFor(*mounts, data_dir)) {
          disk->Device = m->device;
          disk->Mountpoint = m->mountpoint;
        }
      }
      s.Disks.push_back(*disk);
    }
    // As Nomad: the alloc dir's file system, without device or mount point.
    if (auto alloc = FileSystemStats(data_dir + "/alloc"); alloc.ok()) {
      s.AllocDirStats = *alloc;
    } else if (auto data = FileSystemStats(data_dir); data.ok()) {
      s.AllocDirStats = *data;
    }
    std::lock_guard<std::mutex> lock(mu);
    latest = std::move(s);
  }

  void Run() {
    std::unique_lock<std::mutex> lock(mu);
    while (!wake.wait_for(lock, std::chrono::nanoseconds(options.interval),
                          [this] { return stopping; })) {
      lock.unlock();
      Sample();
      lock.lock();
    }
  }
};

HostStatsCollector::HostStatsCollector(HostStatsOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
}

HostStatsCollector::~HostStatsCollector() { Stop(); }

void HostStatsCollector::Start() {
  if (impl_->thread.joinable()) return;
  impl_->Sample();
  impl_->thread = std::thread([this] { impl_->Run(); });
}

void HostStatsCollector::Stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

HostStats HostStatsCollector::Latest() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->latest;
}

}  // namespace drover
