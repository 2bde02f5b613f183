#include "service/node.h"

#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <fstream>
#include <thread>

#include "common/uuid.h"

namespace drover {
namespace {

namespace json = boost::json;

// The first "cpu MHz" of /proc/cpuinfo; 1000 where the kernel shows none
// (some virtual machines).
std::int64_t CpuMHz() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("cpu MHz", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        double mhz = std::atof(line.c_str() + colon + 1);
        if (mhz > 0) return static_cast<std::int64_t>(mhz);
      }
    }
  }
  return 1000;
}

std::int64_t MemTotalMB() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::int64_t kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit) {
    if (key == "MemTotal:") return kb / 1024;
  }
  return 0;
}

}  // namespace

std::string HostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0) return "localhost";
  return buf;
}

NodeCapacity FingerprintCapacity(const std::string& data_dir) {
  NodeCapacity cap;
  cap.cores = std::max<std::int64_t>(1, std::thread::hardware_concurrency());
  cap.cpu_mhz = cap.cores * CpuMHz();
  cap.memory_mb = MemTotalMB();
  struct statvfs vfs {};
  if (::statvfs(data_dir.c_str(), &vfs) == 0) {
    cap.disk_mb = static_cast<std::int64_t>(vfs.f_bavail * vfs.f_frsize / (1024 * 1024));
  }
  return cap;
}

Result<std::string> LoadOrCreateNodeID(StateStore& store) {
  ASSIGN_OR_RETURN(std::optional<std::string> id, store.GetMeta("node_id"));
  if (id) return *id;
  std::string fresh = NewUUID();
  RETURN_IF_ERROR(store.PutMeta("node_id", fresh));
  return fresh;
}

Node BuildNode(const std::string& id, const NodeSettings& s, const NodeCapacity& cap,
               const std::string& version, Nanos now) {
  Node n;
  n.ID = id;
  n.Name = s.name.empty() ? HostName() : s.name;
  n.Datacenter = s.datacenter.empty() ? "dc1" : s.datacenter;
  n.HTTPAddr = s.http_addr;
  n.NodeClass = s.node_class;
  n.NodePool = "default";
  n.Meta = s.meta;
  n.SchedulingEligibility = "eligible";
  n.Status = "ready";
  n.StatusUpdatedAt = now / kSecond;

  struct utsname uts {};
  ::uname(&uts);
  n.Attributes = {
      {"cpu.numcores", std::to_string(cap.cores)},
      {"cpu.totalcompute", std::to_string(cap.cpu_mhz)},
      {"driver.raw_exec", "1"},
      {"kernel.name", "linux"},
      {"kernel.version", uts.release},
      {"memory.totalbytes", std::to_string(cap.memory_mb * 1024 * 1024)},
      {"nomad.version", version},
      {"os.name", "debian"},
      {"unique.hostname", HostName()},
      {"unique.storage.volume", "/"},
      {"cpu.arch", uts.machine},
  };

  json::object cpu{{"CpuShares", cap.cpu_mhz}, {"TotalCpuCores", cap.cores}};
  json::array cores;
  for (std::int64_t i = 0; i < cap.cores; ++i) cores.push_back(i);
  cpu["ReservableCpuCores"] = std::move(cores);
  json::object res{{"Cpu", std::move(cpu)},
                   {"Memory", json::object{{"MemoryMB", cap.memory_mb}}},
                   {"Disk", json::object{{"DiskMB", cap.disk_mb}}},
                   {"Networks", nullptr},
                   {"Devices", nullptr},
                   {"NodeNetworks", nullptr},
                   {"MinDynamicPort", 20000},
                   {"MaxDynamicPort", 32000}};
  n.NodeResources.text = json::serialize(res);
  n.ReservedResources.text =
      R"({"Cpu":{"CpuShares":0,"ReservedCpuCores":null},"Memory":{"MemoryMB":0},"Disk":{"DiskMB":0},"Networks":{"ReservedHostPorts":""}})";
  json::object driver{{"Attributes", json::object{{"driver.raw_exec", "true"}}},
                      {"Detected", true},
                      {"Healthy", true},
                      {"HealthDescription", "Healthy"},
                      {"UpdateTime", FormatRFC3339Nano(GoTime::FromUnixNanos(now))}};
  n.Drivers.text = json::serialize(json::object{{"raw_exec", std::move(driver)}});
  return n;
}

}  // namespace drover
