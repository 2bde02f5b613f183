// ValidateJob and CanonicalizeJob: Nomad's rules and texts, Drover's bounds,
// and the boundaries of each range.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>

#include "common/checked_math.h"
#include "service/job_spec.h"

namespace drover {
namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
const NodeCapacity kNode{/*cpu_mhz=*/4000, /*cores=*/2, /*memory_mb=*/8000, /*disk_mb=*/100000};

Job ValidJob() {
  Task t;
  t.Name = "t";
  t.Driver = "raw_exec";
  t.Config.text = R"({"command":"/bin/true","args":["a"]})";
  TaskGroup g;
  g.Name = "g";
  g.Tasks = {t};
  Job job;
  job.ID = "j";
  job.TaskGroups = {g};
  CanonicalizeJob(job);
  return job;
}

Task& TaskOf(Job& job) { return job.TaskGroups[0].Tasks[0]; }
TaskGroup& GroupOf(Job& job) { return job.TaskGroups[0]; }

// The validation message for `job` after `mutate`, "" when valid.
std::string Check(const std::function<void(Job&)>& mutate) {
  Job job = ValidJob();
  mutate(job);
  Status st = ValidateJob(job, kNode);
  if (st.ok()) return "";
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  return st.message();
}

bool Has(const std::string& message, const std::string& text) {
  return message.find(text) != std::string::npos;
}

TEST(JobValidateTest, CanonicalJobIsValid) { EXPECT_EQ(Check([](Job&) {}), ""); }

TEST(JobValidateTest, MultierrorFormatListsEveryError) {
  std::string m = Check([](Job& j) {
    j.ID = "a b";
    GroupOf(j).Count = -1;
  });
  EXPECT_TRUE(m.starts_with("2 errors occurred:\n\t* ")) << m;
  EXPECT_TRUE(Has(m, "\t* Job ID contains a space\n")) << m;
  EXPECT_TRUE(Has(m, "\t* Task group g validation failed: Task group count can't be negative\n"))
      << m;
  EXPECT_TRUE(m.ends_with("\n\n")) << m;
}

struct Case {
  const char* name;
  std::function<void(Job&)> mutate;
  const char* text;  // expected in the message; nullptr: valid
};

void RunTable(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    std::string m = Check(c.mutate);
    if (c.text == nullptr) {
      EXPECT_EQ(m, "") << c.name;
    } else {
      EXPECT_TRUE(Has(m, c.text)) << c.name << ": " << m;
    }
  }
}

TEST(JobValidateTest, CountBoundaries) {
  // 100 MHz / 300 MB per allocation on 4000 MHz / 8000 MB: 26 fit.
  RunTable({
      {"zero", [](Job& j) { GroupOf(j).Count = 0; }, nullptr},
      {"negative", [](Job& j) { GroupOf(j).Count = -1; }, "Task group count can't be negative"},
      {"what fits", [](Job& j) { GroupOf(j).Count = 26; }, nullptr},
      {"one more", [](Job& j) { GroupOf(j).Count = 27; },
       "Task group g validation failed: Task group count 27 exceeds what this node could ever "
       "place: 26 allocation(s) of 100 MHz / 300 MB fit in its 4000 MHz / 8000 MB"},
      {"2^31", [](Job& j) { GroupOf(j).Count = std::int64_t{1} << 31; },
       "Task group count 2147483648 exceeds"},
      {"int64 max", [](Job& j) { GroupOf(j).Count = kMax; }, "exceeds what this node"},
      // A group that never fits waits for capacity, as in Nomad (blocked eval).
      {"too big once", [](Job& j) { TaskOf(j).Resources->MemoryMB = 9000; }, nullptr},
      {"too big twice",
       [](Job& j) {
         TaskOf(j).Resources->MemoryMB = 9000;
         GroupOf(j).Count = 2;
       },
       "Task group count 2 exceeds what this node could ever place: 1 allocation(s)"},
  });
}

TEST(JobValidateTest, ResourcesAreSummedWithOverflowChecks) {
  RunTable({
      {"2^62 twice",
       [](Job& j) {
         TaskOf(j).Resources->MemoryMB = std::int64_t{1} << 62;
         Task second = TaskOf(j);
         second.Name = "u";
         GroupOf(j).Tasks.push_back(second);
       },
       "Task resources overflow"},
      {"cpu min", [](Job& j) { TaskOf(j).Resources->CPU = 1; }, nullptr},
      {"cpu below min", [](Job& j) { TaskOf(j).Resources->CPU = -1; },
       "minimum CPU value is 1; got -1"},
      {"memory min", [](Job& j) { TaskOf(j).Resources->MemoryMB = 10; }, nullptr},
      {"memory below min", [](Job& j) { TaskOf(j).Resources->MemoryMB = 9; },
       "minimum MemoryMB value is 10; got 9"},
      {"disk at task level", [](Job& j) { TaskOf(j).Resources->DiskMB = 1; },
       "Task can't ask for disk resources"},
      {"cores negative", [](Job& j) { TaskOf(j).Resources->Cores = -1; },
       "cores value (-1) cannot be negative"},
      {"memory max below memory", [](Job& j) { TaskOf(j).Resources->MemoryMaxMB = 20; },
       "MemoryMaxMB value (20) should be larger than MemoryMB value (300)"},
  });
}

TEST(JobValidateTest, LogConfigAndDiskBoundaries) {
  RunTable({
      {"files 1", [](Job& j) { TaskOf(j).LogConfig->MaxFiles = 1; }, nullptr},
      {"files negative", [](Job& j) { TaskOf(j).LogConfig->MaxFiles = -1; },
       "minimum number of files is 1; got -1"},
      {"size below min", [](Job& j) { TaskOf(j).LogConfig->MaxFileSizeMB = -1; },
       "minimum file size is 1MB; got -1"},
      {"size 2^44",
       [](Job& j) {
         GroupOf(j).EphemeralDisk->SizeMB = kMax;
         TaskOf(j).LogConfig->MaxFiles = 1;
         TaskOf(j).LogConfig->MaxFileSizeMB = std::int64_t{1} << 44;
       },
       "maximum file size is 8796093022207MB; got 17592186044416"},
      {"size at max",
       [](Job& j) {
         GroupOf(j).EphemeralDisk->SizeMB = kMax;
         TaskOf(j).LogConfig->MaxFiles = 1;
         TaskOf(j).LogConfig->MaxFileSizeMB = kMaxLogFileSizeMB;
       },
       nullptr},
      {"files above max",
       [](Job& j) {
         GroupOf(j).EphemeralDisk->SizeMB = kMax;
         TaskOf(j).LogConfig->MaxFiles = kMaxLogFiles + 1;
         TaskOf(j).LogConfig->MaxFileSizeMB = 1;
       },
       "maximum number of files is 2147483647; got 2147483648"},
      {"usage equals disk",
       [](Job& j) {
         GroupOf(j).EphemeralDisk->SizeMB = 100;
         TaskOf(j).LogConfig->MaxFiles = 10;
         TaskOf(j).LogConfig->MaxFileSizeMB = 10;
       },
       "log storage (100 MB) must be less than requested disk capacity (100 MB)"},
      {"usage overflows",
       [](Job& j) {
         TaskOf(j).LogConfig->MaxFiles = kMaxLogFiles;
         TaskOf(j).LogConfig->MaxFileSizeMB = kMaxLogFileSizeMB;
       },
       "must be less than requested disk capacity"},
      {"disk 10", [](Job& j) {
         GroupOf(j).EphemeralDisk->SizeMB = 10;
         TaskOf(j).LogConfig->MaxFiles = 1;
         TaskOf(j).LogConfig->MaxFileSizeMB = 1;
       }, nullptr},
      {"disk 9", [](Job& j) { GroupOf(j).EphemeralDisk->SizeMB = 9; },
       "minimum DiskMB value is 10; got 9"},
      {"disk negative", [](Job& j) { GroupOf(j).EphemeralDisk->SizeMB = -5; },
       "minimum DiskMB value is 10; got -5"},
  });
}

TEST(JobValidateTest, DurationsMustNotBeNegative) {
  RunTable({
      {"kill timeout huge", [](Job& j) { TaskOf(j).KillTimeout = kMax; }, nullptr},
      {"kill timeout negative", [](Job& j) { TaskOf(j).KillTimeout = -1; },
       "Task t validation failed: KillTimeout must be a positive value"},
      {"task shutdown delay", [](Job& j) { TaskOf(j).ShutdownDelay = -1; },
       "Task t validation failed: ShutdownDelay must be a positive value"},
      {"group shutdown delay 0", [](Job& j) { GroupOf(j).ShutdownDelay = 0; }, nullptr},
      {"group shutdown delay", [](Job& j) { GroupOf(j).ShutdownDelay = -kSecond; },
       "\t* ShutdownDelay must be a positive value\n"},
  });
}

TEST(JobValidateTest, RestartPolicyRules) {
  auto restart = [](Job& j) -> RestartPolicy& { return *GroupOf(j).RestartPolicy; };
  RunTable({
      {"interval 5s", [&](Job& j) { restart(j) = {2, 5 * kSecond, 2 * kSecond, "fail"}; }, nullptr},
      {"interval 4s", [&](Job& j) { restart(j) = {0, 4 * kSecond, 0, "fail"}; },
       "Interval can not be less than 5s (got 4s)"},
      {"attempts x delay = interval", [&](Job& j) { restart(j) = {3, 30 * kSecond, 10 * kSecond, "fail"}; },
       nullptr},
      {"attempts x delay > interval", [&](Job& j) { restart(j) = {4, 30 * kSecond, 10 * kSecond, "fail"}; },
       "Nomad can't restart the TaskGroup 4 times in an interval of 30s with a delay of 10s"},
      {"product overflows", [&](Job& j) { restart(j) = {kMax, kMax, kMax, "fail"}; },
       "Nomad can't restart the TaskGroup"},
      {"mode", [&](Job& j) { restart(j).Mode = "never"; }, "Unsupported restart mode: \"never\""},
      {"ambiguous", [&](Job& j) { restart(j) = {0, kMinute, kSecond, "delay"}; },
       "Restart policy \"delay\" with 0 attempts is ambiguous"},
      {"negative delay", [&](Job& j) { restart(j).Delay = -1; }, "Delay must be non-negative"},
      {"task override checked too",
       [](Job& j) { TaskOf(j).RestartPolicy = RestartPolicy{1, kMinute, 2 * kMinute, "fail"}; },
       "Task t validation failed: Nomad can't restart the TaskGroup 1 times"},
  });
}

TEST(JobValidateTest, ReschedulePolicyRules) {
  auto resched = [](Job& j) -> ReschedulePolicy& { return *GroupOf(j).ReschedulePolicy; };
  RunTable({
      {"service default", [](Job&) {}, nullptr},
      {"disabled is not checked", [&](Job& j) { resched(j) = {0, 0, -1, "bogus", 0, false}; }, nullptr},
      {"negative delay unlimited", [&](Job& j) { resched(j) = {0, 0, -kSecond, "constant", 0, true}; },
       "Delay cannot be less than 5s (got -1s)"},
      {"delay 5s", [&](Job& j) { resched(j) = {0, 0, 5 * kSecond, "constant", 0, true}; }, nullptr},
      {"delay 4.999s",
       [&](Job& j) { resched(j) = {0, 0, 5 * kSecond - 1, "constant", 0, true}; },
       "Delay cannot be less than 5s (got 4.999999999s)"},
      {"function", [&](Job& j) { resched(j) = {0, 0, 5 * kSecond, "linear", 0, true}; },
       "Invalid delay function \"linear\", must be one of [\"constant\" \"exponential\" \"fibonacci\"]"},
      {"max delay below delay",
       [&](Job& j) { resched(j) = {0, 0, 10 * kSecond, "exponential", 6 * kSecond, true}; },
       "Max Delay cannot be less than Delay 10s (got 6s)"},
      {"attempts and unlimited",
       [&](Job& j) { resched(j) = {2, kHour, 5 * kSecond, "constant", 0, true}; },
       "If Attempts >0, Unlimited cannot also be set to true"},
      {"interval 15s",
       [&](Job& j) { resched(j) = {1, 15 * kSecond, 5 * kSecond, "constant", 0, false}; }, nullptr},
      {"interval 14s",
       [&](Job& j) { resched(j) = {1, 14 * kSecond, 5 * kSecond, "constant", 0, false}; },
       "Interval cannot be less than 15s (got 14s)"},
      {"constant not viable",
       [&](Job& j) { resched(j) = {4, 15 * kSecond, 5 * kSecond, "constant", 0, false}; },
       "Nomad can only make 3 attempts in 15s with initial delay 5s and delay function "
       "\"constant\""},
      {"exponential not viable",
       [&](Job& j) { resched(j) = {5, kMinute, 5 * kSecond, "exponential", 20 * kSecond, false}; },
       "Nomad can only make 4 attempts in 1m0s with initial delay 5s, delay function "
       "\"exponential\", and delay ceiling 20s"},
      {"exponential recommends",
       [&](Job& j) { resched(j) = {5, kMinute, 5 * kSecond, "exponential", 20 * kSecond, false}; },
       "Set the interval to at least 1m0s to accommodate 5 attempts"},
      {"exponential huge attempts",
       [&](Job& j) { resched(j) = {kMax, kHour, 5 * kSecond, "exponential", kMinute, false}; },
       "Nomad can only make 63 attempts in 1h0m0s"},
      {"fibonacci not viable",
       [&](Job& j) { resched(j) = {6, 30 * kSecond, 5 * kSecond, "fibonacci", kMinute, false}; },
       "Nomad can only make 5 attempts in 30s"},
      {"fibonacci huge attempts",
       [&](Job& j) { resched(j) = {kMax, kHour, 5 * kSecond, "fibonacci", kMinute, false}; },
       "Nomad can only make"},
      {"fibonacci viable",
       [&](Job& j) { resched(j) = {3, kMinute, 5 * kSecond, "fibonacci", kMinute, false}; }, nullptr},
  });
}

TEST(JobValidateTest, SysbatchRejectsAReschedulePolicy) {
  std::string m = Check([](Job& j) {
    j.Type = kJobTypeSysBatch;
    GroupOf(j).ReschedulePolicy = ReschedulePolicy{1, kHour, 5 * kSecond, "constant", 0, false};
  });
  EXPECT_TRUE(Has(m, "System or sysbatch jobs should not have a reschedule policy")) << m;
}

TEST(JobValidateTest, TaskAndGroupNames) {
  RunTable({
      {"alloc", [](Job& j) { TaskOf(j).Name = "alloc"; }, "Task cannot be named \"alloc\""},
      {"dotdot", [](Job& j) { TaskOf(j).Name = ".."; }, "Task cannot be named \"..\""},
      {"dot", [](Job& j) { TaskOf(j).Name = "."; }, "Task cannot be named \".\""},
      {"three dots are a name", [](Job& j) { TaskOf(j).Name = "..."; }, nullptr},
      {"slash", [](Job& j) { TaskOf(j).Name = "a/b"; }, "Task name cannot include slashes"},
      {"backslash", [](Job& j) { TaskOf(j).Name = "a\\b"; }, "Task name cannot include slashes"},
      {"nul", [](Job& j) { TaskOf(j).Name = std::string("a\0b", 3); },
       "Task name cannot include null characters"},
      {"newline", [](Job& j) { TaskOf(j).Name = "a\nb"; },
       "Task name cannot include control characters"},
      {"group nul", [](Job& j) { GroupOf(j).Name = std::string("g\0", 2); },
       "Task group name contains null character"},
      {"group newline", [](Job& j) { GroupOf(j).Name = "g\n"; },
       "Task group name cannot include control characters"},
      {"duplicate task",
       [](Job& j) { GroupOf(j).Tasks.push_back(TaskOf(j)); },
       "Task 2 redefines 't' from task 1"},
      {"duplicate group",
       [](Job& j) { j.TaskGroups.push_back(GroupOf(j)); },
       "Job task group 2 redefines 'g' from group 1"},
      {"only lifecycle tasks",
       [](Job& j) { TaskOf(j).Lifecycle = TaskLifecycle{"prestart", false}; },
       "Task group g must have at least one main task"},
  });
}

TEST(JobValidateTest, JobIDRules) {
  RunTable({
      {"slash allowed", [](Job& j) { j.ID = j.Name = "a/b"; }, nullptr},
      {"newline allowed, as in Nomad", [](Job& j) { j.ID = j.Name = "a\nb"; }, nullptr},
      {"space", [](Job& j) { j.ID = "a b"; }, "Job ID contains a space"},
      {"nul", [](Job& j) { j.ID = std::string("a\0", 2); }, "Job ID contains a null character"},
      {"name nul", [](Job& j) { j.Name = std::string("a\0", 2); },
       "Job Name contains a null character"},
  });
}

TEST(JobValidateTest, NulInAnyStringIsNamedByItsPath) {
  RunTable({
      {"arg",
       [](Job& j) { TaskOf(j).Config.text = R"({"command":"/bin/echo","args":["a\u0000b"]})"; },
       "Job.TaskGroups[0].Tasks[0].Config.args[0] contains a null character"},
      {"env value",
       [](Job& j) { TaskOf(j).Env = StringMap{{"K", std::string("v\0", 2)}}; },
       "Job.TaskGroups[0].Tasks[0].Env.K contains a null character"},
      {"env key",
       [](Job& j) { TaskOf(j).Env = StringMap{{std::string("K\0", 2), "v"}}; },
       "Job.TaskGroups[0].Tasks[0].Env has a key that contains a null character"},
      {"job meta", [](Job& j) { j.Meta = StringMap{{"k", std::string("\0", 1)}}; },
       "Job.Meta.k contains a null character"},
      {"datacenter", [](Job& j) { j.Datacenters = {std::string("d\0", 2)}; },
       "Job.Datacenters[0] contains a null character"},
  });
}

TEST(JobCanonicalizeTest, ZeroFieldsThatCanNeverBeValidGetDefaults) {
  Job job = ValidJob();
  GroupOf(job).RestartPolicy = RestartPolicy{0, 0, 0, "", false};
  GroupOf(job).ReschedulePolicy = ReschedulePolicy{3, 0, 0, "", 0, false};
  GroupOf(job).EphemeralDisk = EphemeralDisk{false, 0, false};
  TaskOf(job).LogConfig = LogConfig{3, 0, false};
  TaskOf(job).RestartPolicy = RestartPolicy{1, 0, 0, "", false};
  job.Type = kJobTypeBatch;
  CanonicalizeJob(job);
  EXPECT_EQ(GroupOf(job).RestartPolicy->Interval, 24 * kHour);
  EXPECT_EQ(GroupOf(job).RestartPolicy->Mode, "fail");
  EXPECT_EQ(GroupOf(job).RestartPolicy->Attempts, 0);  // a zero that is valid stays
  EXPECT_EQ(GroupOf(job).ReschedulePolicy->Interval, 24 * kHour);
  EXPECT_EQ(GroupOf(job).ReschedulePolicy->Delay, 5 * kSecond);
  EXPECT_EQ(GroupOf(job).ReschedulePolicy->DelayFunction, "constant");
  EXPECT_EQ(GroupOf(job).EphemeralDisk->SizeMB, 300);
  EXPECT_EQ(TaskOf(job).LogConfig->MaxFiles, 3);
  EXPECT_EQ(TaskOf(job).LogConfig->MaxFileSizeMB, 10);
  EXPECT_EQ(TaskOf(job).RestartPolicy->Interval, 24 * kHour);  // from the group's
  EXPECT_TRUE(ValidateJob(job, kNode).ok()) << ValidateJob(job, kNode).message();
}

TEST(CheckedMathTest, SaturatesInsteadOfWrapping) {
  std::int64_t out = 0;
  EXPECT_FALSE(CheckedAdd(std::int64_t{1} << 62, std::int64_t{1} << 62, &out));
  EXPECT_TRUE(CheckedAdd(kMax - 1, 1, &out));
  EXPECT_EQ(out, kMax);
  EXPECT_TRUE(CheckedMul(std::int64_t{1} << 43, std::int64_t{1} << 19, &out));
  EXPECT_EQ(out, std::int64_t{1} << 62);
  EXPECT_FALSE(CheckedMul(std::int64_t{1} << 44, std::int64_t{1} << 20, &out));
  EXPECT_EQ(SaturatingAdd(kMax, 1), kMax);
  EXPECT_EQ(SaturatingAdd(std::numeric_limits<std::int64_t>::min(), -1),
            std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(SaturatingMul(kMax, 2), kMax);
  EXPECT_EQ(SaturatingMul(kMax, -2), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(SaturatingMul(3, 4), 12);
}

TEST(JobValidateTest, UpdateBlockFollowsNomadsRules) {
  EXPECT_EQ(Check([](Job& j) { GroupOf(j).Update.text = R"({"MaxParallel":2})"; }), "");
  std::string m = Check([](Job& j) {
    GroupOf(j).Update.text =
        R"({"MaxParallel":-1,"MinHealthyTime":600000000000,"HealthCheck":"nope"})";
  });
  EXPECT_TRUE(Has(m, "Invalid health check given: \"nope\"")) << m;
  EXPECT_TRUE(Has(m, "Max parallel can not be less than zero: -1 < 0")) << m;
  EXPECT_TRUE(Has(m, "Minimum healthy time must be less than healthy deadline: 10m0s > 5m0s"))
      << m;
  // The job's block merges under the group's.
  m = Check([](Job& j) { j.Update.text = R"({"HealthyDeadline":0})"; });
  EXPECT_TRUE(Has(m, "Healthy deadline must be greater than zero: 0s")) << m;
  // Batch jobs have no deployments: their update block is not checked.
  EXPECT_FALSE(Has(Check([](Job& j) {
                     j.Type = "batch";
                     GroupOf(j).Update.text = R"({"MaxParallel":-1})";
                   }),
                   "Max parallel"));
}

}  // namespace
}  // namespace drover
