// VerifyNone, the listener and the story sample, seen from outside: each
// GoogleTest binary runs as a subprocess; its exit status and output must
// name the failing test and the leaked thread's TID, state and stack.
#include <regex>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../e2e/harness.hpp"

namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string parked_tid(const std::string& out) {
  std::smatch m;
  if (!std::regex_search(out, m, std::regex("parked ([0-9]+)"))) return "?";
  return m[1];
}

tl_test::Result scenario(const std::string& name) {
  return tl_test::run({SCENARIOS_BIN, "--gtest_filter=Scenario." + name}, 60);
}

TEST(VerifyNone, LeakFailsTheTestWithTheThreadsStack) {
  tl_test::Result r = scenario("LeakFailsWithStack");
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  std::string tid = parked_tid(r.out);
  EXPECT_THAT(r.out, HasSubstr("[  FAILED  ] Scenario.LeakFailsWithStack"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("scenarios.cpp:[0-9]+: Failure\nFailed\nthreadleak: 1 leaked"));
  EXPECT_THAT(r.out, HasSubstr("threadleak: 1 leaked thread"));
  EXPECT_THAT(r.out, HasSubstr("TID " + tid + " \"tl-leaker\" io\n"));
  EXPECT_THAT(r.out, HasSubstr("1 thread in state io: TIDs " + tid + "\n"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("#[0-9]+ +0x[0-9a-f]+ tl_testing::tl_leaked_reader\\(int\\) \\+0x[0-9a-f]+ at [^ ]*parked.hpp:[0-9]+ \\[testing_scenarios\\]"));
}

TEST(VerifyNone, CleanTestPasses) {
  tl_test::Result r = scenario("CleanPasses");
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("[  PASSED  ] 1 test."));
  EXPECT_THAT(r.out, Not(HasSubstr("leaked thread")));
}

TEST(VerifyNone, ThreadWithAllSignalsBlockedIsReportedWithoutHanging) {
  auto t0 = std::chrono::steady_clock::now();
  tl_test::Result r = scenario("SignalsBlockedFailsWithStack");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20));
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  std::string tid = parked_tid(r.out);
  EXPECT_THAT(r.out, HasSubstr("TID " + tid + " \"tl-sigblocked\" io\n"));
  EXPECT_THAT(r.out, HasSubstr("tl_testing::tl_sigblocked_reader(int)"));
}

TEST(Listener, BlamesTheTestThatLeaked) {
  tl_test::Result r = tl_test::run({LISTENER_BIN}, 60);
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  std::string tid = parked_tid(r.out);
  EXPECT_THAT(r.out, HasSubstr("[       OK ] Attribution.A_Clean"));
  EXPECT_THAT(r.out, HasSubstr("[  FAILED  ] Attribution.B_Leaks"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("listener_scenarios.cpp:[0-9]+: Failure\nFailed\nthread leaked by Attribution.B_Leaks"));
  EXPECT_THAT(r.out, HasSubstr("[       OK ] Attribution.C_CleanAfterLeak"));
  EXPECT_THAT(r.out, HasSubstr("thread leaked by Attribution.B_Leaks\nthreadleak: 1 leaked thread"));
  EXPECT_THAT(r.out, HasSubstr("TID " + tid + " \"tl-leaked-in-b\" io\n"));
  EXPECT_THAT(r.out, HasSubstr("tl_leaked_in_b(int)"));
  // The whole-binary check at exit reports it again, against the start.
  EXPECT_THAT(r.out, HasSubstr("threads leaked by the test binary\nthreadleak: 1 leaked thread"));
  EXPECT_THAT(r.out, HasSubstr("1 FAILED TEST"));
}

TEST(Sample, StoryLeakCaughtAndFixPasses) {
  tl_test::Result r = tl_test::run({STORY_BIN}, 60);
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("[  FAILED  ] Story.Leaky"));
  EXPECT_THAT(r.out, HasSubstr("[       OK ] Story.Fixed"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("story_test.cpp:[0-9]+: Failure\nFailed\nthreadleak: 1 leaked thread"));
  EXPECT_THAT(r.out, HasSubstr("1 thread in state sleep"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("=> #[0-9]+ +0x[0-9a-f]+ \\(anonymous namespace\\)::get_resource_b"));
}

}  // namespace
