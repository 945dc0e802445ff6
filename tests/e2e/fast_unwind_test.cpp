// The per-PC rule cache (analyzer/src/fast_unwind.hpp) must give libdwfl's
// answer: on real cores of the park sample and of every hang_zoo scenario
// (including a kernel-written crash core), every thread's raw PCs,
// activation flags, truncation and errors are compared between the default
// unwinder and THREADLEAK_UNWINDER=libdwfl, and most threads must have
// taken the fast path.
#include <gtest/gtest.h>

#include <cstdlib>

#include "hang_zoo.hpp"
#include "harness.hpp"
#include "threadleak/threadleak.hpp"
#include "target.hpp"
#include "unwind.hpp"

namespace {

struct Unwound {
  threadleak::Snapshot snap;
  threadleak::detail::UnwindStats stats;
};

Unwound capture(const std::string& core, bool libdwfl_only) {
  if (libdwfl_only) ::setenv("THREADLEAK_UNWINDER", "libdwfl", 1);
  else ::unsetenv("THREADLEAK_UNWINDER");
  Unwound u{threadleak::capture(threadleak::Source::path(core)), threadleak::detail::last_unwind_stats()};
  ::unsetenv("THREADLEAK_UNWINDER");
  return u;
}

// Compares the two unwinders on one core; returns how many threads the
// fast path took.
std::uint64_t expect_same_stacks(const std::string& core) {
  Unwound fast = capture(core, false);
  Unwound slow = capture(core, true);
  EXPECT_EQ(slow.stats.fast_threads, 0u);
  EXPECT_EQ(fast.snap.threads.size(), slow.snap.threads.size());
  for (std::size_t i = 0; i < fast.snap.threads.size() && i < slow.snap.threads.size(); ++i) {
    const auto& a = fast.snap.threads[i];
    const auto& b = slow.snap.threads[i];
    EXPECT_EQ(a.tid, b.tid);
    EXPECT_EQ(a.error, b.error) << "thread " << a.tid;
    EXPECT_EQ(a.truncated, b.truncated) << "thread " << a.tid;
    EXPECT_EQ(a.frames.size(), b.frames.size()) << "thread " << a.tid << " in " << core;
    if (a.frames.size() != b.frames.size()) continue;
    for (std::size_t k = 0; k < a.frames.size(); ++k) {
      EXPECT_EQ(a.frames[k].pc, b.frames[k].pc) << "thread " << a.tid << " frame " << k;
      EXPECT_EQ(a.frames[k].function, b.frames[k].function) << "thread " << a.tid << " frame " << k;
    }
  }
  return fast.stats.fast_threads;
}

TEST(FastUnwind, AgreesWithLibdwflOnPark) {
  tl_test::Proc p({tl_test::sample_bin("park"), "--condvar", "20", "--mutex", "20", "--sleep", "20",
                   "--read", "20", "--stack-kib", "64"});
  p.expect("ready", 60);
  std::string core = tl_test::gcore(p.pid(), tl_test::temp_dir());
  p.kill_now();
  std::uint64_t fast = expect_same_stacks(core);
  EXPECT_EQ(fast, 82u);   // every thread: park's code and glibc have plain CFI
  threadleak::detail::UnwindStats st = capture(core, false).stats;
  // Rules are asked of libdw once per distinct PC, not per frame.
  EXPECT_LT(st.cfi_lookups, 64u);
}

TEST(FastUnwind, AgreesWithLibdwflOnEveryHangZooScenario) {
  for (const char* scenario : {"abba", "cycle3", "convoy", "orphan", "self"}) {
    SCOPED_TRACE(scenario);
    EXPECT_GT(expect_same_stacks(tl_test::zoo_gcore(scenario)), 0u);
  }
}

TEST(FastUnwind, AgreesWithLibdwflOnAKernelCrashCore) {
  tl_test::Zoo z;
  std::string core = tl_test::zoo_kernel_core(z);
  if (HasFailure()) return;
  EXPECT_GT(expect_same_stacks(core), 0u);
  // The kernel writes the module notes after the first thread's: found
  // there before the rest of the notes were read (core_notes.hpp).
  threadleak::detail::CoreOpenStats open = threadleak::detail::last_core_open_stats();
  EXPECT_TRUE(open.early_modules);
  EXPECT_TRUE(open.early_confirmed);
}

}  // namespace
