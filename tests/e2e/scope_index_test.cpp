// The per-unit scope index (analyzer/src/scope_index.hpp) must give libdw's
// answer: on real cores of the park sample, of hang_zoo scenarios and of a
// kernel-written crash core, every thread's frames (functions, inlined
// calls, files and lines) are compared between the default and
// THREADLEAK_SCOPES=libdw, and the cores must hold inlined calls at all.
#include <gtest/gtest.h>

#include <cstdlib>

#include "hang_zoo.hpp"
#include "harness.hpp"
#include "threadleak/threadleak.hpp"

namespace {

threadleak::Snapshot capture(const std::string& core, bool libdw) {
  if (libdw) ::setenv("THREADLEAK_SCOPES", "libdw", 1);
  else ::unsetenv("THREADLEAK_SCOPES");
  threadleak::Snapshot s = threadleak::capture(threadleak::Source::path(core));
  ::unsetenv("THREADLEAK_SCOPES");
  return s;
}

// Compares the two on one core; returns how many inlined frames it has.
std::size_t expect_same_frames(const std::string& core) {
  threadleak::Snapshot ours = capture(core, false);
  threadleak::Snapshot theirs = capture(core, true);
  std::size_t inlined = 0;
  EXPECT_EQ(ours.threads.size(), theirs.threads.size());
  for (std::size_t i = 0; i < ours.threads.size() && i < theirs.threads.size(); ++i) {
    const auto& a = ours.threads[i];
    const auto& b = theirs.threads[i];
    EXPECT_EQ(a.frames.size(), b.frames.size()) << "thread " << a.tid << " in " << core;
    if (a.frames.size() != b.frames.size()) continue;
    for (std::size_t k = 0; k < a.frames.size(); ++k) {
      SCOPED_TRACE("thread " + std::to_string(a.tid) + " frame " + std::to_string(k));
      EXPECT_EQ(a.frames[k].function, b.frames[k].function);
      EXPECT_EQ(a.frames[k].file, b.frames[k].file);
      EXPECT_EQ(a.frames[k].line, b.frames[k].line);
      EXPECT_EQ(a.frames[k].inlined, b.frames[k].inlined);
      EXPECT_EQ(a.frames[k].offset, b.frames[k].offset);
      inlined += a.frames[k].inlined;
    }
  }
  return inlined;
}

TEST(ScopeIndex, AgreesWithLibdwOnPark) {
  tl_test::Proc p({tl_test::sample_bin("park"), "--condvar", "5", "--mutex", "5", "--sleep", "5", "--read", "5"});
  p.expect("ready", 60);
  std::string core = tl_test::gcore(p.pid(), tl_test::temp_dir());
  p.kill_now();
  // park's workers inline their helpers, glibc inlines its futex calls.
  EXPECT_GE(expect_same_frames(core), 20u);
}

TEST(ScopeIndex, AgreesWithLibdwOnHangZoo) {
  for (const char* scenario : {"abba", "convoy", "self"}) {
    SCOPED_TRACE(scenario);
    EXPECT_GT(expect_same_frames(tl_test::zoo_gcore(scenario)), 0u);
  }
}

TEST(ScopeIndex, AgreesWithLibdwOnAKernelCrashCore) {
  tl_test::Zoo z;
  std::string core = tl_test::zoo_kernel_core(z);
  if (HasFailure()) return;
  EXPECT_GT(expect_same_frames(core), 0u);
}

}  // namespace
