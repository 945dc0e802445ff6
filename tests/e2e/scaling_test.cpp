// Regression guard for speed at scale (docs/performance.md), without timing
// anything: on real cores of the park sample with 100 and 1,000 threads, the
// libdwfl thread callbacks and memory reads per thread must not grow with
// the thread count, on cores and on live looks. A quadratic path (a
// callback that scans every thread, libdwfl emulating get_thread through
// next_thread, ...) fails it.
#include <gtest/gtest.h>

#include "harness.hpp"
#include "threadleak/threadleak.hpp"
#include "target.hpp"
#include "unwind.hpp"

namespace {

struct Capture {
  std::size_t threads = 0;
  threadleak::detail::UnwindStats stats;
};

// Captures a gcore'd core of park with n threads parked four ways.
Capture capture_park(int n) {
  std::string q = std::to_string(n / 4);
  tl_test::Proc p({tl_test::sample_bin("park"), "--condvar", q, "--mutex", q, "--sleep", q,
                   "--read", q, "--stack-kib", "64"});
  std::string ready = p.expect("ready", 120);
  std::string core = tl_test::gcore(p.pid(), tl_test::temp_dir());
  p.kill_now();
  threadleak::Snapshot s = threadleak::capture(threadleak::Source::path(core));
  // gcore writes the module notes last: found there, debug info started
  // loading before the ~3.5 KB per thread of notes were read, and the full
  // read agreed.
  threadleak::detail::CoreOpenStats open = threadleak::detail::last_core_open_stats();
  EXPECT_TRUE(open.early_modules);
  EXPECT_TRUE(open.early_confirmed);
  EXPECT_EQ(ready, "ready " + std::to_string(s.threads.size()));
  for (const auto& t : s.threads) EXPECT_EQ(t.error, "") << "thread " << t.tid;
  return {s.threads.size(), threadleak::detail::last_unwind_stats()};
}

// A live look at park with n threads parked four ways (the stacks are
// copied while it is frozen and unwound after the thaw, through the same
// unwinder as a core).
Capture look_at_park(int n) {
  std::string q = std::to_string(n / 4);
  tl_test::Proc p({tl_test::sample_bin("park"), "--condvar", q, "--mutex", q, "--sleep", q,
                   "--read", q, "--stack-kib", "64"});
  std::string ready = p.expect("ready", 120);
  threadleak::Snapshot s = threadleak::capture(threadleak::Source::live(p.pid()));
  p.kill_now();
  EXPECT_EQ(ready, "ready " + std::to_string(s.threads.size()));
  for (const auto& t : s.threads) EXPECT_EQ(t.error, "") << "thread " << t.tid;
  return {s.threads.size(), threadleak::detail::last_unwind_stats()};
}

double per_thread(std::uint64_t calls, std::size_t threads) {
  return static_cast<double>(calls) / static_cast<double>(threads);
}

// pc_slack: distinct PCs the big look may have beyond the small one's (a live
// thread caught a few instructions apart).
void expect_flat(const Capture& small, const Capture& big, std::uint64_t pc_slack) {
  ASSERT_EQ(small.threads, 102u);   // + main thread and lock_holder
  ASSERT_EQ(big.threads, 1002u);
  for (const Capture& r : {small, big}) {
    // Every thread unwound by the per-PC rule cache, or else by libdwfl with
    // one registers call; at most one pass of next_thread (+1 for its end).
    EXPECT_EQ(r.stats.fast_threads + r.stats.set_registers_calls, r.threads);
    EXPECT_EQ(r.stats.fast_threads, r.threads);
    EXPECT_LE(r.stats.next_thread_calls, r.threads + 1);
    EXPECT_EQ(r.stats.get_thread_calls, 0u);
  }
  // CFI rules asked of libdw once per distinct PC: as many at 1,000 threads
  // as at 100.
  EXPECT_GT(small.stats.cfi_lookups, 0u);
  EXPECT_LE(big.stats.cfi_lookups, small.stats.cfi_lookups + pc_slack);
  EXPECT_GE(big.stats.cfi_lookups + pc_slack, small.stats.cfi_lookups);
  // Memory reads per thread: the same stacks, so the same reads, give or take
  // the few threads that differ (main, lock_holder).
  double small_reads = per_thread(small.stats.memory_reads, small.threads);
  double big_reads = per_thread(big.stats.memory_reads, big.threads);
  EXPECT_GT(small_reads, 0);
  EXPECT_LE(big_reads, small_reads * 1.1) << small_reads << " reads/thread at 100 threads, "
                                          << big_reads << " at 1,000";
}

TEST(Scaling, UnwindCallbacksPerThreadDoNotGrowWithThreads) {
  Capture small = capture_park(100);
  Capture big = capture_park(1000);
  expect_flat(small, big, 0);
}

// The same guard on live looks (the frozen window's ptrace calls are not
// counted here; bench/run.sh shows the pause per thread).
TEST(Scaling, LiveUnwindCallbacksPerThreadDoNotGrowWithThreads) {
  Capture small = look_at_park(100);
  Capture big = look_at_park(1000);
  expect_flat(small, big, 4);
}

}  // namespace
