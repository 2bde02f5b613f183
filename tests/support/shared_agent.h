// A test fixture with one agent for the whole suite:
//   class MyE2ETest : public SharedAgentTest<MyE2ETest> {};
// The agent starts before the suite's first test and is killed (with every
// task process) after its last; each suite (template argument) has its own.
#pragma once

#include <gtest/gtest.h>

#include <utility>

#include "tests/support/agent_process.h"

namespace drover::testing {

template <typename Suite>
class SharedAgentTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto agent = AgentProcess::Launch();
    ASSERT_TRUE(agent.ok()) << agent.status().ToString();
    agent_ = std::move(agent).value().release();
  }
  static void TearDownTestSuite() {
    delete agent_;
    agent_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(agent_, nullptr); }

  static inline AgentProcess* agent_ = nullptr;
};

}  // namespace drover::testing
