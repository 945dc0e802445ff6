// Scenarios run as subprocesses by verify_test.cpp: some of these tests are
// meant to fail (that is what VerifyNone is for), so they are not CTest
// tests themselves. Each prints "parked TID" for the checks.
#include <cstdio>

#include <gtest/gtest.h>

#include "parked.hpp"
#include "threadleak/testing.hpp"

namespace {

using namespace std::chrono_literals;

void say_parked(int tid) {
  std::printf("parked %d\n", tid);
  std::fflush(stdout);
}

TEST(Scenario, LeakFailsWithStack) {
  static tl_testing::Parked* p = new tl_testing::Parked(tl_testing::tl_leaked_reader, "tl-leaker");
  say_parked(p->tid());
  threadleak::VerifyNone(threadleak::MaxRetryTime(50ms));
}

TEST(Scenario, CleanPasses) {
  { tl_testing::Parked p(tl_testing::tl_leaked_reader); }
  threadleak::VerifyNone();
}

TEST(Scenario, SignalsBlockedFailsWithStack) {
  static tl_testing::Parked* p = new tl_testing::Parked(tl_testing::tl_sigblocked_reader, "tl-sigblocked");
  say_parked(p->tid());
  threadleak::VerifyNone(threadleak::MaxRetryTime(50ms));
}

}  // namespace
