// A mutex waiter caught outside the futex system call: real gdb 13 runs
// samples/cpp/hang_zoo abba with a breakpoint on glibc's __lll_lock_wait for
// the two ABBA mutexes, lets the first thread go on into its futex wait,
// and takes a core (gcore) while the second sits at the breakpoint. That
// thread's lock comes from __lll_lock_wait's `futex` parameter, in a
// register per glibc's DWARF; without the fallback no cycle is found.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "hang_zoo.hpp"

using namespace tl_test;

TEST(HangFallback, WaiterStoppedInLllLockWaitClosesTheCycle) {
  std::string core = temp_dir() + "/abba-breakpoint.core";
  std::string cond = "break __lll_lock_wait if $rdi == (long)&'(anonymous namespace)::g_a' || "
                     "$rdi == (long)&'(anonymous namespace)::g_b'";
  Result g = run({"/usr/bin/gdb", "-q", "-batch", "-nx", "-ex", "set pagination off", "-ex",
                  "set breakpoint pending on", "-ex", cond, "-ex", "run", "-ex", "continue", "-ex", "gcore " + core,
                  "-ex", "kill", "--args", sample_bin("hang_zoo"), "abba"},
                 120);
  ASSERT_TRUE(std::filesystem::exists(core)) << g.out << g.err;
  std::map<std::string, std::string> said;  // "tid A" -> "1234", "lock a" -> "0x55..."
  std::istringstream lines(g.out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream w(line);
    std::string what, name, value;
    w >> what >> name >> value;
    if (what == "tid" || what == "lock") said[what + " " + name] = value;
  }
  ASSERT_EQ(said.count("tid A") + said.count("tid B") + said.count("lock a") + said.count("lock b"), 4u) << g.out;
  int a = std::stoi(said["tid A"]), b = std::stoi(said["tid B"]);
  auto j = threadleak_json({"hang", core}, 1);
  std::filesystem::remove(core);
  EXPECT_EQ(cycles_of(j), nlohmann::json::array({cycle({{a, said["lock b"]}, {b, said["lock a"]}})}));
  // One of the two was at the breakpoint (gdb's core records its SIGTRAP).
  ASSERT_FALSE(j.at("crash").is_null()) << j.dump();
  EXPECT_EQ(j.at("crash").at("signal_name"), "SIGTRAP");
  EXPECT_EQ(j.at("crash").at("frames")[0].at("function"), "__GI___lll_lock_wait");
}
