// `threadleak hang` on real cores of samples/cpp/hang_zoo (gcore, and a
// kernel core for the crash): the exact cycles, blockers with their waiter
// counts, the orphaned lock, the self-deadlock, the crashed thread.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "hang_zoo.hpp"

using namespace tl_test;

namespace {

std::string core_of(const Zoo& z) { return gcore(z.pid(), temp_dir()); }

// Validates a `hang --json` document against docs/schema/hang.schema.json with
// tests/schema/validate.py (python3-jsonschema).
void expect_schema(const nlohmann::json& j) {
  std::string path = temp_dir() + "/hang.json";
  std::ofstream(path) << j.dump();
  Result r = run({"/usr/bin/python3", std::string(SOURCE_DIR) + "/tests/schema/validate.py", HANG_SCHEMA, path});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
}

}  // namespace

TEST(HangCore, AbbaIsOneTwoThreadCycle) {
  Zoo z = start_zoo("abba");
  auto j = threadleak_json({"hang", core_of(z)}, 1);
  int a = z.tid["A"], b = z.tid["B"];
  EXPECT_EQ(j.at("deadlocked"), true);
  EXPECT_EQ(cycles_of(j), nlohmann::json::array({cycle({{a, z.lock["b"]}, {b, z.lock["a"]}})}));
  std::vector<std::string> expected = {blocker(a, 1, 1, z.lock["a"]), blocker(b, 1, 1, z.lock["b"])};
  EXPECT_EQ(blocker_summaries(j), expected);
  for (const auto& m : j.at("deadlocks")[0].at("members"))
    EXPECT_EQ(own_function(m.at("frames")).rfind("(anonymous namespace)::lock_in_order(", 0), 0u) << m.dump();
  EXPECT_TRUE(j.at("orphaned").empty());
  EXPECT_TRUE(j.at("self_deadlocks").empty());
  // Lock layouts come from glibc's DWARF (libc6-dbg is installed).
  EXPECT_EQ(j.at("deadlocks")[0].at("members")[0].at("waiting_on").at("layout"), "dwarf");
  expect_schema(j);
}

TEST(HangCore, ThreeThreadCycle) {
  Zoo z = start_zoo("cycle3");
  auto j = threadleak_json({"hang", core_of(z)}, 1);
  int t1 = z.tid["T1"], t2 = z.tid["T2"], t3 = z.tid["T3"];
  EXPECT_EQ(cycles_of(j),
            nlohmann::json::array({cycle({{t1, z.lock["b"]}, {t2, z.lock["c"]}, {t3, z.lock["a"]}})}));
  std::vector<std::string> expected = {blocker(t1, 1, 2, z.lock["a"]), blocker(t2, 1, 2, z.lock["b"]),
                                       blocker(t3, 1, 2, z.lock["c"])};
  EXPECT_EQ(blocker_summaries(j), expected);
}

TEST(HangCore, ConvoyBlockersRankedByTransitiveWaiters) {
  Zoo z = start_zoo("convoy");
  auto j = threadleak_json({"hang", core_of(z)}, 0);
  EXPECT_EQ(j.at("deadlocked"), false);
  EXPECT_TRUE(j.at("deadlocks").empty());
  std::vector<std::string> expected = {blocker(z.tid["holder"], 50, 55, z.lock["m"]),
                                       blocker(z.tid["middle"], 5, 5, z.lock["m2"])};
  EXPECT_EQ(blocker_summaries(j), expected);
  EXPECT_EQ(j.at("blockers")[0].at("state"), "sleep");
  EXPECT_EQ(own_function(j.at("blockers")[0].at("frames")).rfind("(anonymous namespace)::holder(", 0), 0u);
  EXPECT_EQ(j.at("lock_waiters"), 55);
  EXPECT_EQ(j.at("located"), 55);
  expect_schema(j);
}

TEST(HangCore, OwnerExitedHoldingTheMutex) {
  Zoo z = start_zoo("orphan");
  auto j = threadleak_json({"hang", core_of(z)}, 0);
  ASSERT_EQ(j.at("orphaned").size(), 1u) << j.dump();
  const auto& o = j.at("orphaned")[0];
  EXPECT_EQ(o.at("lock"), z.lock["m"]);
  EXPECT_EQ(o.at("owner"), z.tid["owner"]);
  EXPECT_EQ(o.at("waiters").size(), 2u);
  EXPECT_TRUE(j.at("blockers").empty());
  EXPECT_TRUE(j.at("deadlocks").empty());
}

TEST(HangCore, SelfDeadlock) {
  Zoo z = start_zoo("self");
  auto j = threadleak_json({"hang", core_of(z)}, 1);
  EXPECT_EQ(j.at("self_deadlocks").size(), 1u);
  EXPECT_EQ(j.at("self_deadlocks")[0].at("tid"), z.tid["self"]);
  EXPECT_EQ(j.at("self_deadlocks")[0].at("lock"), z.lock["self"]);
  EXPECT_TRUE(j.at("deadlocks").empty());
}

TEST(HangCore, CrashWhileHoldingALockKernelCore) {
  Zoo z;
  std::string core = zoo_kernel_core(z);
  if (HasFailure()) return;
  auto j = threadleak_json({"hang", core}, 0);
  const auto& c = j.at("crash");
  EXPECT_EQ(c.at("tid"), z.tid["holder"]);
  EXPECT_EQ(c.at("signal_name"), "SIGSEGV");
  EXPECT_EQ(c.at("address"), "0x0");
  EXPECT_EQ(c.at("held_locks"), nlohmann::json::array({z.lock["m"]}));
  EXPECT_EQ(c.at("waiters").size(), 3u);
  EXPECT_EQ(own_function(c.at("frames")).rfind("(anonymous namespace)::crash_holder(", 0), 0u);
  std::vector<std::string> expected = {blocker(z.tid["holder"], 3, 3, z.lock["m"])};
  EXPECT_EQ(blocker_summaries(j), expected);
  expect_schema(j);
}

TEST(HangCore, SnapshotFileKeepsTheLocks) {
  Zoo z = start_zoo("abba");
  std::string dir = temp_dir();
  std::string snap = dir + "/abba.json";
  Result r = run({threadleak_bin(), "snapshot", core_of(z), "-o", snap});
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = threadleak_json({"hang", snap}, 1);
  EXPECT_EQ(cycles_of(j),
            nlohmann::json::array({cycle({{z.tid["A"], z.lock["b"]}, {z.tid["B"], z.lock["a"]}})}));
}

TEST(HangCore, StacksCarriesTheHangSection) {
  Zoo z = start_zoo("abba");
  std::string core = core_of(z);
  auto j = threadleak_json({"stacks", core}, 0);
  EXPECT_EQ(j.at("hang").at("deadlocked"), true);
  EXPECT_EQ(j.at("hang").at("deadlocks").size(), 1u);
  Result r = run({threadleak_bin(), "stacks", core});
  ASSERT_EQ(r.status, 0) << r.err;
  auto second = r.out.substr(r.out.find('\n') + 1);
  EXPECT_EQ(second.rfind("hang: DEADLOCK: 1 cycle, 0 self-deadlocks\nDEADLOCK (2 threads): thread ", 0), 0u) << r.out;
}

TEST(HangCore, HealthyParkHasNoDeadlock) {
  Proc p({sample_bin("park"), "--mutex", "2", "--condvar", "2", "--sleep", "1"});
  p.expect("ready");
  auto j = threadleak_json({"hang", gcore(p.pid(), temp_dir())}, 0);
  EXPECT_EQ(j.at("deadlocked"), false);
  EXPECT_TRUE(j.at("deadlocks").empty());
  ASSERT_EQ(j.at("blockers").size(), 1u);
  EXPECT_EQ(j.at("blockers")[0].at("waiters"), 2);
  EXPECT_EQ(own_function(j.at("blockers")[0].at("frames")), "(anonymous namespace)::lock_holder()");
  // Condvar waiters grouped by the condvar's address.
  int condvars = 0;
  for (const auto& o : j.at("objects"))
    if (o.at("kind") == "condvar") { ++condvars; EXPECT_EQ(o.at("waiters").size(), 2u); }
  EXPECT_EQ(condvars, 1);
}
