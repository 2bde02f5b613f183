// Task users and containment beneath the executor: cgroup layout and names
// (from /proc/self/cgroup and a fake cgroup root in a temp dir), memory
// limits as Nomad computes them, the control files a group gets, reading
// its usage and OOM kills, the launch spec and exit record, the client's
// user lists, and user resolution.
#include "lifecycle/executor/cgroup.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "lifecycle/containment.h"
#include "lifecycle/executor/protocol.h"
#include "lifecycle/executor/task_user.h"
#include "lifecycle/proc_stats.h"

namespace drover {
namespace {

namespace fs = std::filesystem;
using cgroup::Version;

// This machine's kind: v1 controllers, the memory one in a nested group,
// a v2 tree with nothing in it.
constexpr const char* kHybrid =
    "9:name=systemd:/\n"
    "8:pids:/\n"
    "6:freezer:/\n"
    "4:memory:/process_api/27e2\n"
    "2:cpu,cpuacct:/\n"
    "0::/\n";

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("drover-cgroup-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

void Touch(const fs::path& p, const std::string& text = "") {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

std::string Read(const fs::path& p) {
  std::ifstream in(p);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return s;
}

// ---- /proc/self/cgroup and names ----------------------------------------------

TEST(ProcCgroupTest, HybridLayoutByController) {
  auto own = cgroup::ParseProcCgroup(kHybrid);
  EXPECT_EQ(own["memory"], "/process_api/27e2");
  EXPECT_EQ(own["pids"], "/");
  EXPECT_EQ(own["cpu"], "/");
  EXPECT_EQ(own["cpuacct"], "/");  // a comma list gives each its entry
  EXPECT_EQ(own["name=systemd"], "/");
  EXPECT_EQ(own[cgroup::kUnified], "/");
}

TEST(ProcCgroupTest, PureV2AndGarbage) {
  auto own = cgroup::ParseProcCgroup("0::/user.slice/session-1.scope\n");
  ASSERT_EQ(own.size(), 1u);
  EXPECT_EQ(own[cgroup::kUnified], "/user.slice/session-1.scope");
  EXPECT_TRUE(cgroup::ParseProcCgroup("garbage\n1:memory:relative\n\n").empty());
}

TEST(TaskGroupNameTest, RefusesHostileComponents) {
  EXPECT_EQ(cgroup::TaskGroupName("5c1a", "web"), "5c1a.web");
  EXPECT_EQ(cgroup::TaskGroupName("5c1a", "a.b-c_d"), "5c1a.a.b-c_d");
  for (const std::string& bad :
       std::vector<std::string>{"", ".", "..", "a/b", "../x", std::string("a\0b", 3), "a\nb",
                                std::string(300, 'x')}) {
    EXPECT_EQ(cgroup::TaskGroupName("5c1a", bad), "") << bad;
    EXPECT_EQ(cgroup::TaskGroupName(bad, "web"), "") << bad;
  }
}

TEST(TaskGroupNameTest, GroupDirsBeneathEachParent) {
  cgroup::Layout layout;
  layout.version = Version::kV1;
  layout.parents = {{"memory", "/sys/fs/cgroup/memory/process_api/27e2/drover"},
                    {"pids", "/sys/fs/cgroup/pids/drover"}};
  cgroup::TaskGroup g = cgroup::MakeTaskGroup(layout, "5c1a.web");
  ASSERT_TRUE(g.enabled());
  EXPECT_EQ(g.Dir("memory"), "/sys/fs/cgroup/memory/process_api/27e2/drover/5c1a.web");
  EXPECT_EQ(g.Dir("pids"), "/sys/fs/cgroup/pids/drover/5c1a.web");
  EXPECT_EQ(g.Dir("cpu"), "");

  EXPECT_FALSE(cgroup::MakeTaskGroup(layout, "").enabled());
  EXPECT_FALSE(cgroup::MakeTaskGroup(cgroup::Layout{}, "5c1a.web").enabled());

  cgroup::Layout v2;
  v2.version = Version::kV2;
  v2.parents = {{cgroup::kUnified, "/sys/fs/cgroup/drover"}};
  cgroup::TaskGroup g2 = cgroup::MakeTaskGroup(v2, "5c1a.web");
  // Every controller's files are in the one directory.
  EXPECT_EQ(g2.Dir("memory"), "/sys/fs/cgroup/drover/5c1a.web");
  EXPECT_EQ(g2.Dir("pids"), "/sys/fs/cgroup/drover/5c1a.web");
}

// ---- Memory limits ---------------------------------------------------------------

TEST(MemoryLimitsTest, AsNomad) {
  auto m = cgroup::ComputeMemoryLimits(256, 0);
  EXPECT_EQ(m.hard_bytes, 256LL << 20);  // MemoryMB is the hard limit
  EXPECT_EQ(m.soft_bytes, 0);

  m = cgroup::ComputeMemoryLimits(256, 1024);
  EXPECT_EQ(m.hard_bytes, 1024LL << 20);  // MemoryMaxMB hard, MemoryMB soft
  EXPECT_EQ(m.soft_bytes, 256LL << 20);

  m = cgroup::ComputeMemoryLimits(256, -1);
  EXPECT_EQ(m.hard_bytes, -1);  // oversubscription: no hard limit
  EXPECT_EQ(m.soft_bytes, 256LL << 20);

  m = cgroup::ComputeMemoryLimits(0, 0);
  EXPECT_EQ(m.hard_bytes, 0);
  EXPECT_EQ(m.soft_bytes, 0);
}

TEST(MemoryLimitsTest, RangeChecked) {
  auto m = cgroup::ComputeMemoryLimits(INT64_MAX, 0);
  EXPECT_GT(m.hard_bytes, 0);  // no overflow into a negative number
  m = cgroup::ComputeMemoryLimits(2048, 100);  // soft above hard: clamped
  EXPECT_EQ(m.hard_bytes, 100LL << 20);
  EXPECT_EQ(m.soft_bytes, 100LL << 20);
  m = cgroup::ComputeMemoryLimits(-5, -7);
  EXPECT_EQ(m.hard_bytes, 0);
}

// ---- Detection on a fake cgroup root ------------------------------------------

TEST(DetectTest, V1CreatesParentsBeneathOwnGroups) {
  TempDir root;
  for (const char* c : {"memory", "pids", "freezer", "cpu", "cpuacct"}) {
    Touch(root.path() / c / "cgroup.procs");
  }
  fs::create_directories(root.path() / "memory/process_api/27e2");
  cgroup::Layout l = cgroup::Detect(root.path().string(), kHybrid);
  ASSERT_EQ(l.version, Version::kV1) << l.off_reason;
  EXPECT_EQ(l.mountpoint, root.path().string());
  EXPECT_EQ(l.parents["memory"], (root.path() / "memory/process_api/27e2/drover").string());
  EXPECT_EQ(l.parents["pids"], (root.path() / "pids/drover").string());
  EXPECT_EQ(l.parents.size(), 5u);
  EXPECT_TRUE(fs::is_directory(root.path() / "memory/process_api/27e2/drover"));
  EXPECT_TRUE(fs::is_directory(root.path() / "freezer/drover"));
}

TEST(DetectTest, V1WithoutFreezerIsOff) {
  TempDir root;
  for (const char* c : {"memory", "pids"}) Touch(root.path() / c / "cgroup.procs");
  cgroup::Layout l = cgroup::Detect(root.path().string(), kHybrid);
  EXPECT_EQ(l.version, Version::kNone);
  EXPECT_NE(l.off_reason.find("freezer"), std::string::npos) << l.off_reason;
}

TEST(DetectTest, V2WhenControllersListed) {
  TempDir root;
  Touch(root.path() / "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma\n");
  Touch(root.path() / "drover/cgroup.subtree_control");
  cgroup::Layout l = cgroup::Detect(root.path().string(), "0::/\n");
  ASSERT_EQ(l.version, Version::kV2) << l.off_reason;
  EXPECT_EQ(l.parents[cgroup::kUnified], (root.path() / "drover").string());
  EXPECT_EQ(Read(root.path() / "drover/cgroup.subtree_control"), "+memory +pids +cpu");
}

TEST(DetectTest, V2MissingMemoryFallsBackToV1OrOff) {
  TempDir root;
  // The unified tree of this machine: only hugetlb.
  Touch(root.path() / "cgroup.controllers", "hugetlb\n");
  cgroup::Layout l = cgroup::Detect(root.path().string(), kHybrid);
  EXPECT_EQ(l.version, Version::kNone);
  EXPECT_FALSE(l.off_reason.empty());
}

TEST(DetectTest, NothingMounted) {
  TempDir root;
  cgroup::Layout l = cgroup::Detect(root.path().string(), kHybrid);
  EXPECT_EQ(l.version, Version::kNone);
  EXPECT_FALSE(l.off_reason.empty());
  EXPECT_EQ(cgroup::Detect(root.path().string(), "").version, Version::kNone);
}

// ---- Control files -----------------------------------------------------------------

// A fake v1 group whose control files exist (the kernel makes them).
cgroup::TaskGroup FakeV1(const fs::path& root) {
  cgroup::TaskGroup g;
  g.version = Version::kV1;
  for (const char* c : {"memory", "pids", "cpu", "freezer"}) {
    fs::path dir = root / c / "drover/a.t";
    g.dirs[c] = dir.string();
    for (const char* f : {"memory.limit_in_bytes", "memory.soft_limit_in_bytes", "memory.swappiness",
                          "pids.max", "cpu.shares", "cgroup.procs"}) {
      Touch(dir / f);
    }
  }
  return g;
}

TEST(CreateTest, V1WritesNomadsLimits) {
  TempDir root;
  cgroup::TaskGroup g = FakeV1(root.path());
  cgroup::Limits limits;
  limits.memory = cgroup::ComputeMemoryLimits(100, 200);
  limits.pids_max = 4096;
  limits.cpu_shares = 500;
  ASSERT_EQ(cgroup::Create(g, limits), "");
  fs::path mem = g.Dir("memory");
  EXPECT_EQ(Read(mem / "memory.limit_in_bytes"), std::to_string(200LL << 20));
  EXPECT_EQ(Read(mem / "memory.soft_limit_in_bytes"), std::to_string(100LL << 20));
  EXPECT_EQ(Read(mem / "memory.swappiness"), "0");
  EXPECT_EQ(Read(fs::path(g.Dir("pids")) / "pids.max"), "4096");
  EXPECT_EQ(Read(fs::path(g.Dir("cpu")) / "cpu.shares"), "500");
}

TEST(CreateTest, V2WritesMaxLowAndWeight) {
  TempDir root;
  cgroup::TaskGroup g;
  g.version = Version::kV2;
  fs::path dir = root.path() / "drover/a.t";
  g.dirs[cgroup::kUnified] = dir.string();
  for (const char* f : {"memory.max", "memory.low", "memory.swap.max", "pids.max", "cpu.weight"}) {
    Touch(dir / f);
  }
  cgroup::Limits limits;
  limits.memory = cgroup::ComputeMemoryLimits(64, -1);
  limits.pids_max = 10;
  limits.cpu_shares = 1024;
  ASSERT_EQ(cgroup::Create(g, limits), "");
  EXPECT_EQ(Read(dir / "memory.max"), "max");
  EXPECT_EQ(Read(dir / "memory.low"), std::to_string(64LL << 20));
  EXPECT_EQ(Read(dir / "pids.max"), "10");
  EXPECT_EQ(Read(dir / "cpu.weight"), "39");  // systemd's shares -> weight
}

TEST(CreateTest, MissingControlFileIsAnError) {
  TempDir root;
  cgroup::TaskGroup g;
  g.version = Version::kV1;
  g.dirs["pids"] = (root.path() / "pids/drover/a.t").string();
  fs::create_directories(root.path() / "pids/drover");
  cgroup::Limits limits;
  limits.pids_max = 5;
  std::string err = cgroup::Create(g, limits);
  EXPECT_NE(err.find("pids.max"), std::string::npos) << err;
}

TEST(JoinTest, WritesPidInDecimalToEveryFile) {
  TempDir root;
  cgroup::TaskGroup g = FakeV1(root.path());
  std::string error;
  std::vector<int> fds = cgroup::OpenJoinFiles(g, &error);
  ASSERT_EQ(fds.size(), 4u) << error;
  EXPECT_EQ(cgroup::JoinByFds(fds, 40213), 0);
  for (int fd : fds) ::close(fd);
  EXPECT_EQ(Read(fs::path(g.Dir("memory")) / "cgroup.procs"), "40213");
  EXPECT_EQ(Read(fs::path(g.Dir("freezer")) / "cgroup.procs"), "40213");
}

// ---- Reading ------------------------------------------------------------------------

TEST(CgroupReadTest, FlatKeyed) {
  auto kv = cgroup::ParseFlatKeyed("cache 4096\nrss 8192\nbad x\n\noom_kill 2\n");
  EXPECT_EQ(kv["cache"], 4096u);
  EXPECT_EQ(kv["rss"], 8192u);
  EXPECT_EQ(kv["oom_kill"], 2u);
  EXPECT_EQ(kv.count("bad"), 0u);
}

TEST(CgroupReadTest, OomKilledV1AndV2) {
  TempDir root;
  cgroup::TaskGroup g1;
  g1.version = Version::kV1;
  g1.dirs["memory"] = root.path().string() + "/m";
  Touch(root.path() / "m/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
  EXPECT_FALSE(cgroup::OomKilled(g1));
  Touch(root.path() / "m/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
  EXPECT_TRUE(cgroup::OomKilled(g1));

  cgroup::TaskGroup g2;
  g2.version = Version::kV2;
  g2.dirs[cgroup::kUnified] = root.path().string() + "/u";
  Touch(root.path() / "u/memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
  EXPECT_TRUE(cgroup::OomKilled(g2));
}

TEST(CgroupReadTest, MemoryAndCpuV1) {
  TempDir root;
  cgroup::TaskGroup g;
  g.version = Version::kV1;
  g.dirs = {{"memory", root.path().string() + "/memory"},
            {"cpuacct", root.path().string() + "/cpuacct"},
            {"cpu", root.path().string() + "/cpu"}};
  Touch(root.path() / "memory/memory.stat", "cache 1000\nrss 2000\nmapped_file 300\nswap 7\n");
  Touch(root.path() / "memory/memory.usage_in_bytes", "3500\n");
  Touch(root.path() / "memory/memory.max_usage_in_bytes", "9000\n");
  Touch(root.path() / "memory/memory.kmem.usage_in_bytes", "50\n");
  Touch(root.path() / "memory/memory.kmem.max_usage_in_bytes", "60\n");
  Touch(root.path() / "cpuacct/cpuacct.stat", "user 150\nsystem 50\n");
  Touch(root.path() / "cpu/cpu.stat", "nr_periods 10\nnr_throttled 4\nthrottled_time 12345\n");
  cgroup::MemoryStat m = cgroup::ReadMemory(g);
  EXPECT_EQ(m.rss, 2000u);
  EXPECT_EQ(m.cache, 1000u);
  EXPECT_EQ(m.mapped_file, 300u);
  EXPECT_EQ(m.swap, 7u);
  EXPECT_EQ(m.usage, 3500u);
  EXPECT_EQ(m.max_usage, 9000u);
  EXPECT_EQ(m.kernel_usage, 50u);
  EXPECT_EQ(m.kernel_max_usage, 60u);
  cgroup::CpuStat c = cgroup::ReadCpu(g, 100);
  EXPECT_EQ(c.user_ns, 1'500'000'000u);
  EXPECT_EQ(c.system_ns, 500'000'000u);
  EXPECT_EQ(c.throttled_periods, 4u);
  EXPECT_EQ(c.throttled_time_ns, 12345u);
}

TEST(CgroupReadTest, V1PrefersNanosecondCounters) {
  TempDir root;
  cgroup::TaskGroup g;
  g.version = Version::kV1;
  g.dirs = {{"cpuacct", root.path().string()}};
  Touch(root.path() / "cpuacct.stat", "user 150\nsystem 50\n");
  Touch(root.path() / "cpuacct.usage_user", "1234567\n");
  Touch(root.path() / "cpuacct.usage_sys", "89\n");
  cgroup::CpuStat c = cgroup::ReadCpu(g, 100);
  EXPECT_EQ(c.user_ns, 1234567u);
  EXPECT_EQ(c.system_ns, 89u);
}

TEST(CgroupReadTest, MemoryAndCpuV2) {
  TempDir root;
  cgroup::TaskGroup g;
  g.version = Version::kV2;
  g.dirs[cgroup::kUnified] = root.path().string();
  Touch(root.path() / "memory.stat", "anon 2000\nfile 1000\nfile_mapped 300\nkernel 40\n");
  Touch(root.path() / "memory.current", "3500\n");
  Touch(root.path() / "memory.peak", "9000\n");
  Touch(root.path() / "memory.swap.current", "0\n");
  Touch(root.path() / "cpu.stat", "usage_usec 2000\nuser_usec 1500\nsystem_usec 500\nnr_throttled 2\nthrottled_usec 7\n");
  cgroup::MemoryStat m = cgroup::ReadMemory(g);
  EXPECT_EQ(m.rss, 2000u);
  EXPECT_EQ(m.cache, 1000u);
  EXPECT_EQ(m.mapped_file, 300u);
  EXPECT_EQ(m.kernel_usage, 40u);
  EXPECT_EQ(m.usage, 3500u);
  EXPECT_EQ(m.max_usage, 9000u);
  cgroup::CpuStat c = cgroup::ReadCpu(g, 100);
  EXPECT_EQ(c.user_ns, 1'500'000u);
  EXPECT_EQ(c.throttled_time_ns, 7000u);
}

TEST(CgroupReadTest, UsageCarriesNomadsMeasuredLists) {
  TreeSample a, b;
  a.at = 0;
  b.at = kSecond;
  a.user_ticks = 0;
  b.user_ticks = 50;  // half a core at 100 ticks/s
  cgroup::MemoryStat mem;
  mem.cache = 4096;
  mem.usage = 8192;
  cgroup::CpuStat cpu;
  cpu.throttled_periods = 3;
  ResourceUsage u = CgroupUsage(a, b, mem, cpu, Version::kV1, 2000, 100);
  EXPECT_EQ(u.MemoryStats.Cache, 4096u);
  EXPECT_EQ(u.MemoryStats.Usage, 8192u);
  EXPECT_DOUBLE_EQ(u.CpuStats.UserMode, 50.0);
  EXPECT_EQ(u.CpuStats.ThrottledPeriods, 3u);
  EXPECT_EQ(u.MemoryStats.Measured,
            (std::vector<std::string>{"RSS", "Cache", "Swap", "Usage", "Max Usage", "Kernel Usage",
                                      "Kernel Max Usage"}));
  EXPECT_EQ(u.CpuStats.Measured,
            (std::vector<std::string>{"System Mode", "User Mode", "Throttled Periods",
                                      "Throttled Time", "Percent"}));
  EXPECT_EQ(CgroupMeasuredMemory(Version::kV2),
            (std::vector<std::string>{"RSS", "Cache", "Swap", "Usage"}));
}

// ---- Spec and exit record ---------------------------------------------------------

// A spec that passes ValidateSpec, before the containment fields.
executor::Spec BaseSpec() {
  executor::Spec s;
  s.command = "/bin/true";
  s.alloc_dir = "/x";
  s.logs_dir = "alloc/logs";
  s.stdout_name = "t.stdout";
  s.stderr_name = "t.stderr";
  return s;
}

TEST(SpecTest, UserAndCgroupRoundTrip) {
  executor::Spec s = BaseSpec();
  s.user = "nobody";
  s.chown = {"local", "tmp"};
  s.cgroup_version = 1;
  s.cgroups = {"memory:/sys/fs/cgroup/memory/drover/a.t", "pids:/sys/fs/cgroup/pids/drover/a.t"};
  s.memory_hard_bytes = -1;
  s.memory_soft_bytes = 1 << 20;
  s.pids_max = 4096;
  s.cpu_shares = 100;
  auto encoded = executor::EncodeLaunchSpec(s);
  ASSERT_TRUE(encoded.ok()) << encoded.status().ToString();
  auto decoded = executor::DecodeLaunchSpec(*encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  const executor::Spec& d = *decoded;
  EXPECT_EQ(d, s);
  EXPECT_EQ(d.user, "nobody");
  EXPECT_EQ(d.chown, s.chown);
  EXPECT_EQ(d.cgroups, s.cgroups);
  EXPECT_EQ(d.memory_hard_bytes, -1);
  EXPECT_EQ(d.pids_max, 4096);
  cgroup::TaskGroup g = executor::SpecGroup(d);
  EXPECT_EQ(g.version, Version::kV1);
  EXPECT_EQ(g.Dir("pids"), "/sys/fs/cgroup/pids/drover/a.t");
}

TEST(SpecTest, RefusesBadCgroupEntries) {
  executor::Spec s = BaseSpec();
  s.cgroup_version = 1;
  for (const std::string& bad : std::vector<std::string>{"memory", ":/x", "memory:relative"}) {
    s.cgroups = {bad};
    EXPECT_FALSE(executor::EncodeLaunchSpec(s).ok()) << bad;
  }
  s.cgroups = {"pids:/a"};
  s.pids_max = -3;
  EXPECT_FALSE(executor::EncodeLaunchSpec(s).ok());
  // The decoder refuses the same, and cgroup fields without their version.
  s.pids_max = 10;
  auto good = executor::EncodeLaunchSpec(s);
  ASSERT_TRUE(good.ok());
  std::string text = *good;
  std::string no_version = text;
  no_version.erase(no_version.find("cgroup_version 1\n1\n"), std::string("cgroup_version 1\n1\n").size());
  EXPECT_FALSE(executor::DecodeLaunchSpec(no_version).ok());
  std::string bad_pids = text;
  bad_pids.replace(bad_pids.find("pids_max 2\n10\n"), std::string("pids_max 2\n10\n").size(),
                   "pids_max 2\n-3\n");
  EXPECT_FALSE(executor::DecodeLaunchSpec(bad_pids).ok());
}

TEST(ExitRecordTest, OomKilledSurvivesAndOldRecordsRead) {
  executor::ExitRecord r;
  r.exit_code = 137;
  r.signal = 9;
  r.time_ns = 5;
  r.oom_killed = true;
  auto d = executor::DecodeExit(executor::EncodeExit(r));
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->oom_killed);
  EXPECT_EQ(d->exit_code, 137);
  // Written by an executor from before cgroups: three fields.
  d = executor::DecodeExit("1 0 77\n");
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->oom_killed);
  EXPECT_EQ(d->exit_code, 1);
}

// ---- Client options and the user check -------------------------------------------

TEST(ClientOptionsTest, NomadsDefaultsLeaveRawExecUnchecked) {
  auto o = ParseClientOptions({});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->pids_max, 4096);
  EXPECT_EQ(o->user_denylist, (std::set<std::string>{"root", "Administrator"}));
  EXPECT_TRUE(CheckTaskUser(*o, "raw_exec", "root").ok());
  Status st = CheckTaskUser(*o, "exec", "root");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "running as user \"root\" is disallowed");
}

TEST(ClientOptionsTest, DenylistAllowlistAndAlias) {
  auto o = ParseClientOptions({{"user.denylist", " root , daemon"},
                               {"user.checked_drivers", "raw_exec"},
                               {"drover.pids_max", "64"}});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->pids_max, 64);
  EXPECT_FALSE(CheckTaskUser(*o, "raw_exec", "daemon").ok());
  EXPECT_TRUE(CheckTaskUser(*o, "raw_exec", "nobody").ok());
  EXPECT_TRUE(CheckTaskUser(*o, "raw_exec", "").ok());

  o = ParseClientOptions({{"user.blacklist", "nobody"}, {"user.checked_drivers", "raw_exec"}});
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(CheckTaskUser(*o, "raw_exec", "nobody").ok());

  o = ParseClientOptions({{"user.allowlist", "nobody"}, {"user.checked_drivers", "raw_exec"}});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(CheckTaskUser(*o, "raw_exec", "nobody").ok());
  EXPECT_FALSE(CheckTaskUser(*o, "raw_exec", "daemon").ok());
}

TEST(ClientOptionsTest, BadPidsMax) {
  for (const char* bad : {"", "0", "-1", "12x", "99999999999999999999", "5000000"}) {
    auto o = ParseClientOptions({{"drover.pids_max", bad}});
    EXPECT_FALSE(o.ok()) << bad;
  }
}

// ---- User resolution -----------------------------------------------------------------

TEST(ResolveUserTest, KnownUsers) {
  executor::Credentials c;
  bool unknown = true;
  ASSERT_EQ(executor::ResolveUser("root", &c, &unknown), "");
  EXPECT_FALSE(unknown);
  EXPECT_EQ(c.uid, 0u);
  EXPECT_EQ(c.gid, 0u);
  EXPECT_EQ(c.name, "root");
  EXPECT_FALSE(c.groups.empty());

  executor::Credentials n;
  ASSERT_EQ(executor::ResolveUser("nobody", &n, &unknown), "");
  EXPECT_NE(n.uid, 0u);
  EXPECT_FALSE(n.home.empty());
}

TEST(ResolveUserTest, UnknownUserInNomadsWords) {
  executor::Credentials c;
  bool unknown = false;
  EXPECT_EQ(executor::ResolveUser("no-such-user-drover", &c, &unknown),
            "failed to identify user no-such-user-drover: user: unknown user no-such-user-drover");
  EXPECT_TRUE(unknown);
  unknown = false;
  EXPECT_NE(executor::ResolveUser(std::string("root\0x", 6), &c, &unknown), "");
  EXPECT_TRUE(unknown);
}

TEST(ResolveUserTest, SetEnvReplacesWholeKeysOnly) {
  std::vector<std::string> env = {"USERX=1", "USER=root", "HOME=/root"};
  executor::SetEnv(env, "USER", "nobody");
  executor::SetEnv(env, "LOGNAME", "nobody");
  EXPECT_EQ(env, (std::vector<std::string>{"USERX=1", "USER=nobody", "HOME=/root", "LOGNAME=nobody"}));
}

}  // namespace
}  // namespace drover
