// `threadleak hang --pid` on the live processes of samples/cpp/hang_zoo:
// the same answers as on cores, and the target keeps running untraced.
#include <gtest/gtest.h>

#include "hang_zoo.hpp"

using namespace tl_test;

namespace {

nlohmann::json hang_live(const Zoo& z, int status) {
  auto j = threadleak_json({"hang", "--pid", std::to_string(z.pid())}, status);
  std::string why;
  EXPECT_TRUE(all_threads_running_untraced(z.pid(), &why)) << why;
  return j;
}

}  // namespace

TEST(HangLive, Abba) {
  Zoo z = start_zoo("abba");
  auto j = hang_live(z, 1);
  EXPECT_EQ(cycles_of(j),
            nlohmann::json::array({cycle({{z.tid["A"], z.lock["b"]}, {z.tid["B"], z.lock["a"]}})}));
}

TEST(HangLive, ThreeThreadCycle) {
  Zoo z = start_zoo("cycle3");
  auto j = hang_live(z, 1);
  EXPECT_EQ(cycles_of(j), nlohmann::json::array({cycle(
                              {{z.tid["T1"], z.lock["b"]}, {z.tid["T2"], z.lock["c"]}, {z.tid["T3"], z.lock["a"]}})}));
}

TEST(HangLive, Convoy) {
  Zoo z = start_zoo("convoy");
  auto j = hang_live(z, 0);
  std::vector<std::string> expected = {blocker(z.tid["holder"], 50, 55, z.lock["m"]),
                                       blocker(z.tid["middle"], 5, 5, z.lock["m2"])};
  EXPECT_EQ(blocker_summaries(j), expected);
}

TEST(HangLive, Orphan) {
  Zoo z = start_zoo("orphan");
  auto j = hang_live(z, 0);
  ASSERT_EQ(j.at("orphaned").size(), 1u);
  EXPECT_EQ(j.at("orphaned")[0].at("lock"), z.lock["m"]);
  EXPECT_EQ(j.at("orphaned")[0].at("owner"), z.tid["owner"]);
  EXPECT_EQ(j.at("orphaned")[0].at("waiters").size(), 2u);
}

TEST(HangLive, SelfDeadlock) {
  Zoo z = start_zoo("self");
  auto j = hang_live(z, 1);
  ASSERT_EQ(j.at("self_deadlocks").size(), 1u);
  EXPECT_EQ(j.at("self_deadlocks")[0].at("tid"), z.tid["self"]);
  EXPECT_EQ(j.at("self_deadlocks")[0].at("lock"), z.lock["self"]);
}

TEST(HangLive, CrashScenarioBeforeTheCrash) {
  Zoo z = start_zoo("crash");
  auto j = hang_live(z, 0);
  EXPECT_TRUE(j.at("crash").is_null());
  std::vector<std::string> expected = {blocker(z.tid["holder"], 3, 3, z.lock["m"])};
  EXPECT_EQ(blocker_summaries(j), expected);
  EXPECT_EQ(j.at("blockers")[0].at("state"), "io");
}

TEST(HangLive, HealthyParkExitsZero) {
  Proc p({sample_bin("park"), "--condvar", "2", "--sleep", "2", "--read", "1"});
  p.expect("ready");
  auto j = threadleak_json({"hang", "--pid", std::to_string(p.pid())}, 0);
  EXPECT_EQ(j.at("deadlocked"), false);
  EXPECT_TRUE(j.at("deadlocks").empty());
  EXPECT_TRUE(j.at("blockers").empty());
  EXPECT_TRUE(j.at("orphaned").empty());
  EXPECT_TRUE(j.at("self_deadlocks").empty());
}

TEST(HangLive, BadInputExitsTwo) {
  Result r = run({threadleak_bin(), "hang", "/nonexistent/core"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("/nonexistent/core"), std::string::npos) << r.err;
  r = run({threadleak_bin(), "hang"});
  EXPECT_EQ(r.status, 2);
}
