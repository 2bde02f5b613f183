// The pure parts of the client endpoints: /proc parsers (host and process
// tree), CPU percentages from two samples, and node metadata validation.
#include "service/host_stats.h"

#include <gtest/gtest.h>

#include "lifecycle/proc_stats.h"
#include "service/node_meta.h"

namespace drover {
namespace {

// ---- /proc/stat ---------------------------------------------------------------

constexpr const char* kProcStat =
    "cpu  2255 34 2290 22625563 6290 127 456 0 0 0\n"
    "cpu0 1132 34 1441 11311718 3675 127 438 0 0 0\n"
    "cpu1 1123 0 849 11313845 2614 0 18 7 0 0\n"
    "intr 114930548 113199788 3 0 5 263 0 4 [... lots more numbers ...]\n"
    "ctxt 1990473\n"
    "btime 1062191376\n"
    "processes 2915\n";

TEST(ProcStatTest, ParsesPerCoreLinesOnly) {
  auto cpus = ParseProcStat(kProcStat);
  ASSERT_TRUE(cpus.ok()) << cpus.status().ToString();
  ASSERT_EQ(cpus->size(), 2u);
  EXPECT_EQ((*cpus)[0].name, "cpu0");
  EXPECT_EQ((*cpus)[0].user, 1132u);
  EXPECT_EQ((*cpus)[0].nice, 34u);
  EXPECT_EQ((*cpus)[0].system, 1441u);
  EXPECT_EQ((*cpus)[0].idle, 11311718u);
  EXPECT_EQ((*cpus)[1].steal, 7u);
}

TEST(ProcStatTest, OldKernelWithFourFields) {
  auto cpus = ParseProcStat("cpu 1 2 3 4\ncpu0 1 2 3 4\n");
  ASSERT_TRUE(cpus.ok());
  ASSERT_EQ(cpus->size(), 1u);
  EXPECT_EQ((*cpus)[0].Total(), 10u);
  EXPECT_EQ((*cpus)[0].iowait, 0u);
}

TEST(ProcStatTest, Malformed) {
  EXPECT_FALSE(ParseProcStat("").ok());
  EXPECT_FALSE(ParseProcStat("cpu0 x y z\n").ok());
}

TEST(CpuPercentTest, DeltasOverTotal) {
  CpuTimes a{"cpu0", 100, 0, 50, 800, 50, 0, 0, 0};
  CpuTimes b{"cpu0", 130, 10, 60, 890, 60, 0, 0, 0};  // +40 user, +10 sys, +100 idle
  CpuStats s = CpuPercent(a, b);
  EXPECT_EQ(s.CPU, "cpu0");
  EXPECT_DOUBLE_EQ(s.User, 40.0 * 100 / 150);
  EXPECT_DOUBLE_EQ(s.System, 10.0 * 100 / 150);
  EXPECT_DOUBLE_EQ(s.Idle, 100.0 * 100 / 150);
  EXPECT_DOUBLE_EQ(s.Total, 100.0 - s.Idle);
}

TEST(CpuPercentTest, NoTimePassedIsIdle) {
  CpuTimes a{"cpu3", 1, 1, 1, 1, 1, 1, 1, 1};
  CpuStats s = CpuPercent(a, a);
  EXPECT_EQ(s.Idle, 100);
  EXPECT_EQ(s.Total, 0);
}

// ---- /proc/meminfo, /proc/uptime, mounts ----------------------------------------

TEST(MeminfoTest, Bytes) {
  auto m = ParseMeminfo(
      "MemTotal:       16318616 kB\n"
      "MemFree:         1290304 kB\n"
      "MemAvailable:   10229628 kB\n"
      "Buffers:          452936 kB\n");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->Total, 16318616ull * 1024);
  EXPECT_EQ(m->Free, 1290304ull * 1024);
  EXPECT_EQ(m->Available, 10229628ull * 1024);
  EXPECT_EQ(m->Used, (16318616ull - 10229628ull) * 1024);
}

TEST(MeminfoTest, WithoutMemAvailableUsesFree) {
  auto m = ParseMeminfo("MemTotal: 100 kB\nMemFree: 40 kB\n");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->Available, 40u * 1024);
  EXPECT_EQ(m->Used, 60u * 1024);
  EXPECT_FALSE(ParseMeminfo("MemFree: 40 kB\n").ok());
}

TEST(UptimeTest, WholeSeconds) {
  auto up = ParseUptime("350735.47 234388.90\n");
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(*up, 350735u);
  EXPECT_FALSE(ParseUptime("abc 1\n").ok());
}

TEST(MountForTest, LongestPrefixWins) {
  const char* mounts =
      "/dev/sda1 / ext4 rw 0 0\n"
      "tmpfs /tmp tmpfs rw 0 0\n"
      "/dev/sdb1 /var/lib ext4 rw 0 0\n"
      "/dev/sdc1 /var/lib/drover2 xfs rw 0 0\n";
  auto m = MountFor(mounts, "/var/lib/drover");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->device, "/dev/sdb1");
  EXPECT_EQ(m->mountpoint, "/var/lib");
  EXPECT_EQ(MountFor(mounts, "/tmp")->device, "tmpfs");
  EXPECT_EQ(MountFor(mounts, "/home/x")->mountpoint, "/");
  EXPECT_EQ(MountFor(mounts, "/var/lib/drover2/a")->device, "/dev/sdc1");
}

// ---- Process trees ---------------------------------------------------------------

TEST(ProcPidStatTest, CommandWithSpacesAndParens) {
  auto st = ParseProcPidStat(
      "4242 (my (odd) cmd) S 4241 4242 4242 0 -1 4194560 100 0 0 0 "
      "1500 250 0 0 20 0 1 0 987654 12345678 300 18446744073709551615\n");
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->pid, 4242);
  EXPECT_EQ(st->ppid, 4241);
  EXPECT_EQ(st->pgrp, 4242);
  EXPECT_EQ(st->utime, 1500u);
  EXPECT_EQ(st->stime, 250u);
  EXPECT_EQ(st->start_ticks, 987654u);
  EXPECT_FALSE(ParseProcPidStat("garbage").ok());
}

TEST(ProcPidStatusTest, Memory) {
  ProcMemory m = ParseProcPidStatus(
      "Name:\tsh\nVmHWM:\t   52000 kB\nVmRSS:\t   51000 kB\nVmSwap:\t       8 kB\n");
  EXPECT_EQ(m.rss, 51000u * 1024);
  EXPECT_EQ(m.peak_rss, 52000u * 1024);
  EXPECT_EQ(m.swap, 8u * 1024);
  EXPECT_EQ(ParseProcPidStatus("Name:\tkthreadd\n").rss, 0u);
}

TEST(ProcessTreeTest, GroupAndDescendants) {
  std::vector<ProcStat> procs = {
      {1, 0, 1},       // init
      {100, 1, 100},   // executor
      {200, 100, 200}, // the task: leader of group 200
      {201, 200, 200}, // its child
      {202, 201, 202}, // a grandchild in a group of its own
      {203, 1, 200},   // reparented to init, still in the group
      {300, 1, 300},   // unrelated
  };
  EXPECT_EQ(ProcessTree(procs, 200), (std::vector<int>{200, 201, 202, 203}));
  EXPECT_TRUE(ProcessTree(procs, 999).empty());
}

TEST(UsageBetweenTest, PercentOfOneCore) {
  TreeSample before{{200}, 100, 20, {}, 0};
  TreeSample after{{200}, 150, 30, {4096, 0, 8192}, 1 * kSecond};
  ResourceUsage u = UsageBetween(before, after, /*mhz_per_core=*/2000, /*ticks=*/100);
  EXPECT_DOUBLE_EQ(u.CpuStats.UserMode, 50);
  EXPECT_DOUBLE_EQ(u.CpuStats.SystemMode, 10);
  EXPECT_DOUBLE_EQ(u.CpuStats.Percent, 60);
  EXPECT_DOUBLE_EQ(u.CpuStats.TotalTicks, 1200);
  EXPECT_EQ(u.MemoryStats.RSS, 4096u);
  EXPECT_EQ(u.MemoryStats.MaxUsage, 8192u);

  ResourceUsage total;
  AddUsage(total, u);
  AddUsage(total, u);
  EXPECT_DOUBLE_EQ(total.CpuStats.Percent, 120);
  EXPECT_EQ(total.MemoryStats.RSS, 8192u);
  EXPECT_EQ(total.MemoryStats.Measured, u.MemoryStats.Measured);
}

// ---- Node metadata -------------------------------------------------------------

TEST(NodeMetaTest, KeysAreDottedHclIdentifiers) {
  for (const char* good : {"foo", "connect.log_level", "_x", "a-b.c_d.e9", "A.B"}) {
    EXPECT_TRUE(ValidateNodeMetaUpdate({{good, "v"}}).ok()) << good;
  }
  for (const char* bad : {"some/path", "9lives", "a..b", ".a", "a.", "-x", "a b", "a.1b",
                          "k=v"}) {
    Status st = ValidateNodeMetaUpdate({{bad, "v"}});
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(st.message(), std::string("\"") + bad +
                                "\" is invalid; metadata keys must be valid dotted hcl identifiers");
  }
  EXPECT_EQ(ValidateNodeMetaUpdate({{"", "v"}}).message(), "metadata keys must not be empty");
  EXPECT_EQ(ValidateNodeMetaUpdate({}).message(), "missing required Meta object");
}

TEST(NodeMetaTest, MergeAndCodec) {
  StringMap statics{{"a", "1"}, {"b", "2"}};
  DynamicMeta dynamic{{"b", std::nullopt}, {"c", ""}, {"a", "9"}};
  EXPECT_EQ(MergeNodeMeta(statics, dynamic), (StringMap{{"a", "9"}, {"c", ""}}));
  auto round = DecodeDynamicMeta(EncodeDynamicMeta(dynamic));
  ASSERT_TRUE(round.ok());
  EXPECT_EQ(*round, dynamic);
  EXPECT_FALSE(DecodeDynamicMeta(R"({"a": 1})").ok());
}

}  // namespace
}  // namespace drover
