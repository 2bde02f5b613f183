#include "api/fd_limits.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

namespace drover::api {
namespace {

TEST(FdLimitsTest, ConnectionBudgetLeavesAQuarterAndAtLeast64Fds) {
  EXPECT_EQ(ConnectionBudget(1024), 768u);
  EXPECT_EQ(ConnectionBudget(256), 192u);
  EXPECT_EQ(ConnectionBudget(200), 136u);  // 64 kept, more than a quarter
  EXPECT_EQ(ConnectionBudget(56), 16u);    // never below 16
  EXPECT_EQ(ConnectionBudget(1ull << 40), 1u << 20);
}

TEST(FdLimitsTest, RaiseFdLimitReachesTheHardLimit) {
  rlimit before{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &before), 0);
  auto raised = RaiseFdLimit();
  ASSERT_TRUE(raised.ok()) << raised.status().ToString();
  rlimit after{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &after), 0);
  EXPECT_EQ(after.rlim_cur, after.rlim_max);
  EXPECT_EQ(*raised, static_cast<std::uint64_t>(after.rlim_cur));
  if (after.rlim_cur != RLIM_INFINITY) {
    EXPECT_EQ(CurrentFdLimit(), static_cast<std::uint64_t>(after.rlim_cur));
  }
  ::setrlimit(RLIMIT_NOFILE, &before);  // leave the test process as it was
}

}  // namespace
}  // namespace drover::api
