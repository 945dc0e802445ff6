// threadleak::Find in-process: real threads, the real helper (the CLI over
// ptrace), exact answers. Each test runs in its own process (gtest_discover_tests),
// so the default baseline is the test binary's start.
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "parked.hpp"
#include "threadleak/testing.hpp"

namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using tl_testing::Parked;
using Clock = std::chrono::steady_clock;

bool has_function(const threadleak::Thread& t, const std::string& fn) {
  for (const auto& f : t.frames)
    if (f.function.find(fn) != std::string::npos) return true;
  return false;
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

TEST(Find, NothingNewIsCleanAndFast) {
  auto t0 = Clock::now();
  threadleak::Leaks l = threadleak::Find();
  EXPECT_FALSE(l);
  EXPECT_LT(seconds_since(t0), 0.05);
  EXPECT_EQ(l.report(), "threadleak: no leaked threads\n");
}

TEST(Find, JoinedThreadIsClean) {
  std::thread([] {}).join();
  EXPECT_FALSE(threadleak::Find());
}

TEST(Find, LeakedThreadHasTidNameStateAndStack) {
  Parked p(tl_testing::tl_leaked_reader, "tl-leaker");
  auto t0 = Clock::now();
  threadleak::Leaks l = threadleak::Find(threadleak::MaxRetryTime(50ms));
  EXPECT_GE(seconds_since(t0), 0.05);
  ASSERT_TRUE(l) << "warnings: " << ::testing::PrintToString(l.warnings());
  EXPECT_TRUE(l.warnings().empty()) << l.warnings().front();
  ASSERT_EQ(l.threads().size(), 1u);
  const threadleak::Thread& t = l.threads()[0];
  EXPECT_EQ(t.tid, p.tid());
  EXPECT_EQ(t.name, "tl-leaker");
  EXPECT_EQ(t.state, threadleak::State::io);
  EXPECT_TRUE(has_function(t, "tl_leaked_reader"));
  ASSERT_EQ(l.groups().size(), 1u);
  EXPECT_EQ(l.groups()[0].members, std::vector<std::int64_t>{p.tid()});
  std::string r = l.report();
  EXPECT_THAT(r, HasSubstr("threadleak: 1 leaked thread (not at the baseline"));
  EXPECT_THAT(r, HasSubstr("TID " + std::to_string(p.tid()) + " \"tl-leaker\" io\n"));
  EXPECT_THAT(r, HasSubstr("1 thread in state io: TIDs " + std::to_string(p.tid())));
  EXPECT_THAT(r, HasSubstr("tl_testing::tl_leaked_reader(int)"));
  p.release();
  EXPECT_FALSE(threadleak::Find());
}

TEST(Find, ThreadExitingWithinRetryWindowIsNotReported) {
  std::thread([] { std::this_thread::sleep_for(150ms); }).detach();
  auto t0 = Clock::now();
  EXPECT_FALSE(threadleak::Find());  // default: up to 1 s
  double waited = seconds_since(t0);
  EXPECT_GE(waited, 0.1);
  EXPECT_LT(waited, 0.9);
}

TEST(Find, ThreadOutlivingMaxRetryTimeIsReported) {
  std::thread t([] { std::this_thread::sleep_for(600ms); });
  threadleak::Leaks l = threadleak::Find(threadleak::MaxRetryTime(50ms));
  ASSERT_TRUE(l);
  EXPECT_EQ(l.threads()[0].state, threadleak::State::sleep);
  t.join();
  EXPECT_FALSE(threadleak::Find());
}

TEST(Find, IgnoreTopFunction) {
  Parked p(tl_testing::tl_ignored_top);
  EXPECT_FALSE(threadleak::Find(threadleak::IgnoreTopFunction("tl_testing::tl_ignored_top")));
  EXPECT_FALSE(threadleak::Find(threadleak::IgnoreTopFunction("tl_testing::tl_ignored_top(int)")));
  // Names are qualified, as in goleak and `threadleak diff --ignore-top`.
  EXPECT_TRUE(threadleak::Find(threadleak::IgnoreTopFunction("tl_ignored_top"), threadleak::MaxRetryTime(10ms)));
  EXPECT_TRUE(threadleak::Find(threadleak::IgnoreTopFunction("tl_testing::tl_outer"), threadleak::MaxRetryTime(10ms)));
}

TEST(Find, IgnoreTopFunctionDoesNotMatchOuterFrames) {
  Parked p(tl_testing::tl_outer);
  EXPECT_FALSE(threadleak::Find(threadleak::IgnoreTopFunction("tl_testing::tl_inner")));
  threadleak::Leaks l = threadleak::Find(threadleak::IgnoreTopFunction("tl_testing::tl_outer"), threadleak::MaxRetryTime(10ms));
  ASSERT_TRUE(l);
  EXPECT_EQ(l.threads()[0].tid, p.tid());
}

TEST(Find, IgnoreAnyFunction) {
  Parked p(tl_testing::tl_outer);
  EXPECT_FALSE(threadleak::Find(threadleak::IgnoreAnyFunction("tl_testing::tl_outer")));
  EXPECT_FALSE(threadleak::Find(threadleak::IgnoreAnyFunction("tl_testing::tl_inner")));
  EXPECT_TRUE(threadleak::Find(threadleak::IgnoreAnyFunction("tl_testing::tl_elsewhere"), threadleak::MaxRetryTime(10ms)));
}

std::string write_expect(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + "/" + std::to_string(::getpid()) + "-" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(Find, ExpectFile) {
  Parked a(tl_testing::tl_outer), b(tl_testing::tl_outer);
  // A known group within max_count: not a leak.
  std::string two = write_expect("two.toml", "[[group]]\nfunction = \"tl_testing::tl_outer\"\nmax_count = 2\n"
                                             "comment = \"two parked helpers\"\n");
  EXPECT_FALSE(threadleak::Find(threadleak::Expect(two), threadleak::MaxRetryTime(10ms)));
  // Over it: both threads are reported.
  std::string one = write_expect("one.toml", "[[group]]\nfunction = \"tl_testing::tl_outer\"\nmax_growth = 1\n");
  threadleak::Leaks l = threadleak::Find(threadleak::Expect(one), threadleak::MaxRetryTime(10ms));
  ASSERT_EQ(l.threads().size(), 2u);
  EXPECT_TRUE(has_function(l.threads()[0], "tl_testing::tl_outer"));
  // [ignore] rules apply as the Ignore options do.
  EXPECT_FALSE(threadleak::Find(threadleak::Expect(write_expect("any.toml", "[ignore]\nany = [\"tl_testing::tl_inner\"]\n"))));
  // A malformed file: Error naming the file and line.
  std::string bad = write_expect("bad.toml", "[[group]]\nfunction = 3\nmax_count = 1\n");
  try {
    threadleak::Expect(bad);
    ADD_FAILURE() << "no error for " << bad;
  } catch (const threadleak::Error& e) {
    EXPECT_EQ(std::string(e.what()), bad + ":2: [[group]] function: expected a string");
  }
}

TEST(Find, IgnoreGroupByFingerprint) {
  Parked ignored(tl_testing::tl_ignored_top);
  Parked leaked(tl_testing::tl_leaked_reader);
  threadleak::Leaks all = threadleak::Find(threadleak::MaxRetryTime(10ms));
  ASSERT_EQ(all.groups().size(), 2u);
  std::string fp;
  for (const auto& g : all.groups())
    if (g.members == std::vector<std::int64_t>{ignored.tid()}) fp = g.fingerprint;
  ASSERT_EQ(fp.size(), 12u);
  EXPECT_THAT(all.report(), HasSubstr("[" + fp + "] 1 thread in state io: TIDs " + std::to_string(ignored.tid())));
  threadleak::Leaks l = threadleak::Find(threadleak::IgnoreGroup(fp.substr(0, 5)), threadleak::MaxRetryTime(10ms));
  ASSERT_EQ(l.threads().size(), 1u);
  EXPECT_EQ(l.threads()[0].tid, leaked.tid());
  leaked.release();
  EXPECT_FALSE(threadleak::Find(threadleak::IgnoreGroup(fp)));
}

}  // namespace

namespace tl_testing {
// A pthread_create start routine of a known name (docs/threads.md).
__attribute__((noinline)) void* tl_started_routine(void* fd) {
  block_on(static_cast<int>(reinterpret_cast<std::intptr_t>(fd)));
  return nullptr;
}
}  // namespace tl_testing

namespace {

TEST(Find, IgnoreCreatedBy) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "ASan's pthread_create interceptor starts every thread at asan_thread_start";
#endif
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pthread_t started;
  ASSERT_EQ(::pthread_create(&started, nullptr, tl_testing::tl_started_routine,
                             reinterpret_cast<void*>(static_cast<std::intptr_t>(fds[0]))), 0);
  std::thread by_pointer(tl_testing::tl_leaked_reader, fds[0]);
  threadleak::Leaks l = threadleak::Find(threadleak::MaxRetryTime(10ms));
  ASSERT_EQ(l.threads().size(), 2u);
  std::vector<std::string> seen;
  for (const threadleak::Thread& t : l.threads()) {
    ASSERT_TRUE(t.created_by);
    seen.push_back(t.start_kind + " " + t.created_by->function.str());
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"pthread tl_testing::tl_started_routine(void*)",
                                            "std::thread tl_testing::tl_leaked_reader(int)"}));
  EXPECT_FALSE(threadleak::Find(threadleak::IgnoreCreatedBy("tl_testing::tl_started_routine"),
                                threadleak::IgnoreCreatedBy("tl_testing::tl_leaked_reader")));
  l = threadleak::Find(threadleak::IgnoreCreatedBy("tl_testing::tl_started_routine"), threadleak::MaxRetryTime(10ms));
  ASSERT_EQ(l.threads().size(), 1u);
  EXPECT_EQ(l.threads()[0].start_kind, "std::thread");
  ::close(fds[1]);
  ::pthread_join(started, nullptr);
  by_pointer.join();
  ::close(fds[0]);
  EXPECT_FALSE(threadleak::Find());
}

TEST(Find, IgnoredAndLeakedTogetherReportOnlyTheLeak) {
  Parked ignored(tl_testing::tl_ignored_top);
  Parked leaked(tl_testing::tl_leaked_reader);
  threadleak::Leaks l = threadleak::Find(threadleak::IgnoreTopFunction("tl_testing::tl_ignored_top"), threadleak::MaxRetryTime(10ms));
  ASSERT_EQ(l.threads().size(), 1u);
  EXPECT_EQ(l.threads()[0].tid, leaked.tid());
}

TEST(Find, IgnoreCurrent) {
  Parked before(tl_testing::tl_leaked_reader);
  auto baseline = threadleak::IgnoreCurrent();
  EXPECT_FALSE(threadleak::Find(baseline));
  Parked after(tl_testing::tl_inner);
  threadleak::Leaks l = threadleak::Find(baseline, threadleak::MaxRetryTime(10ms));
  ASSERT_EQ(l.threads().size(), 1u);
  EXPECT_EQ(l.threads()[0].tid, after.tid());
  EXPECT_EQ(threadleak::Find(threadleak::MaxRetryTime(10ms)).threads().size(), 2u);  // default baseline
}

TEST(Find, ThreadWithAllSignalsBlockedIsReportedWithoutHanging) {
  Parked p(tl_testing::tl_sigblocked_reader);
  std::ifstream status("/proc/self/task/" + std::to_string(p.tid()) + "/status");
  std::string line, sigblk;
  while (std::getline(status, line))
    if (line.rfind("SigBlk:", 0) == 0) sigblk = line;
  // Every signal is blocked except those the kernel (SIGKILL, SIGSTOP) and
  // glibc (its two internal ones, 32 and 33) refuse to block.
  unsigned long long mask = std::strtoull(sigblk.substr(7).c_str(), nullptr, 16);
  unsigned long long unblockable = (1ull << 8) | (1ull << 18) | (1ull << 31) | (1ull << 32);
  ASSERT_EQ(mask | unblockable, ~0ull) << sigblk;
  auto t0 = Clock::now();
  threadleak::Leaks l = threadleak::Find(threadleak::MaxRetryTime(10ms));
  EXPECT_LT(seconds_since(t0), 10);
  ASSERT_EQ(l.threads().size(), 1u);
  EXPECT_EQ(l.threads()[0].state, threadleak::State::io);
  EXPECT_TRUE(has_function(l.threads()[0], "tl_sigblocked_reader"));
}

TEST(Find, CallingThreadIsNeverReported) {
  bool found = true;
  std::thread([&] { found = static_cast<bool>(threadleak::Find(threadleak::MaxRetryTime(10ms))); }).join();
  EXPECT_FALSE(found);
}

TEST(Find, WithoutHelperStillReportsTidNameAndState) {
  ::setenv("THREADLEAK_CLI", "/nonexistent/threadleak", 1);
  Parked p(tl_testing::tl_leaked_reader, "tl-nohelper");
  threadleak::Leaks l = threadleak::Find(threadleak::MaxRetryTime(10ms));
  ::unsetenv("THREADLEAK_CLI");
  ASSERT_EQ(l.threads().size(), 1u);
  EXPECT_EQ(l.threads()[0].tid, p.tid());
  EXPECT_EQ(l.threads()[0].name, "tl-nohelper");
  EXPECT_EQ(l.threads()[0].error, "no stack (kernel state S)");
  ASSERT_EQ(l.warnings().size(), 1u);
  EXPECT_THAT(l.warnings()[0], HasSubstr("no stacks: threadleak CLI not found"));
  EXPECT_THAT(l.report(), HasSubstr("warning: no stacks: threadleak CLI not found"));
}

TEST(Find, HungHelperIsKilledAndThreadsStillReported) {
  std::string script = ::testing::TempDir() + "/tl_hung_helper.sh";
  {
    std::ofstream f(script);
    f << "#!/bin/sh\nexec sleep 100\n";
  }
  ASSERT_EQ(::chmod(script.c_str(), 0755), 0);
  ::setenv("THREADLEAK_CLI", script.c_str(), 1);
  Parked p(tl_testing::tl_leaked_reader, "tl-hung");
  auto t0 = Clock::now();
  threadleak::Leaks l = threadleak::Find(threadleak::MaxRetryTime(10ms), threadleak::CaptureTimeout(std::chrono::seconds(1)));
  ::unsetenv("THREADLEAK_CLI");
  EXPECT_LT(seconds_since(t0), 4);
  ASSERT_EQ(l.threads().size(), 1u);
  EXPECT_EQ(l.threads()[0].name, "tl-hung");
  ASSERT_EQ(l.warnings().size(), 1u);
  EXPECT_THAT(l.warnings()[0], HasSubstr("failed (exit status 142)"));  // SIGALRM
}

TEST(Find, HelperIsTheBuildTreeCli) {
  EXPECT_EQ(threadleak::helper_path(), THREADLEAK_CLI_PATH);
}

}  // namespace
