// End to end on live processes: `threadleak stacks --pid`, snapshots of a
// live process diffed later, and the target left running and untraced.
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "harness.hpp"

using tl_test::Proc;

namespace {
std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}
}  // namespace

TEST(LiveStacks, SameGroupsAsTheCoreAndTargetLeftRunning) {
  Proc p({tl_test::sample_bin("park"), "--condvar", "3", "--mutex", "2", "--sleep", "4", "--read", "2"});
  EXPECT_EQ(p.expect("ready"), "ready 13");
  auto live = tl_test::threadleak_json({"stacks", "--pid", std::to_string(p.pid())});
  std::string why;
  EXPECT_TRUE(tl_test::all_threads_running_untraced(p.pid(), &why)) << why;
  std::string core = tl_test::gcore(p.pid(), tl_test::temp_dir());
  auto dead = tl_test::threadleak_json({"stacks", core});
  EXPECT_EQ(sorted(tl_test::group_summaries(live.at("groups"))),
            sorted(tl_test::group_summaries(dead.at("groups"))));
  EXPECT_EQ(live.at("process").at("source"), "live");
  EXPECT_EQ(live.at("process").at("total"), 13);
  // The sample still answers: its threads were thawed.
  p.send("gap");
  EXPECT_EQ(p.expect("gap").rfind("gap ", 0), 0u);
}

TEST(LiveStacks, ThreadNamesComeFromProc) {
  Proc p({tl_test::sample_bin("park"), "--sleep", "2"});
  p.expect("ready");
  auto r = tl_test::run({tl_test::threadleak_bin(), "snapshot", "--pid", std::to_string(p.pid()), "-o", "-"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  int named = 0;
  for (const auto& t : j.at("threads")) named += t.at("name") == "park";
  EXPECT_EQ(named, 3);
}

TEST(LiveDiff, LiveBaselineThenLiveCurrentCountsNewTids) {
  Proc p({tl_test::sample_bin("leak"), "--requests", "2"});
  p.expect("ready");
  std::string snap = tl_test::temp_dir() + "/base.json";
  auto r = tl_test::run({tl_test::threadleak_bin(), "snapshot", "--pid", std::to_string(p.pid()), "-o", snap});
  ASSERT_EQ(r.status, 0) << r.err;
  p.send("more 4");
  EXPECT_EQ(p.expect("ready"), "ready 7");
  std::string snap2 = tl_test::temp_dir() + "/cur.json";
  r = tl_test::run({tl_test::threadleak_bin(), "snapshot", "--pid", std::to_string(p.pid()), "-o", snap2});
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = tl_test::threadleak_json({"diff", snap, snap2}, 1);
  EXPECT_TRUE(j.at("same_process"));
  ASSERT_EQ(j.at("grown").size(), 1u);
  EXPECT_EQ(j.at("grown")[0].at("baseline"), 2);
  EXPECT_EQ(j.at("grown")[0].at("current"), 6);
  EXPECT_EQ(j.at("grown")[0].at("new_members").size(), 4u);
  EXPECT_EQ(j.at("grown")[0].at("state"), "sleep");
  std::string why;
  EXPECT_TRUE(tl_test::all_threads_running_untraced(p.pid(), &why)) << why;
}

TEST(LiveBadInput, NoSuchPid) {
  auto r = tl_test::run({tl_test::threadleak_bin(), "stacks", "--pid", "999999999"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "threadleak: pid 999999999: no such process\n");
}

TEST(LiveBadInput, AlreadyTracedTargetIsRefusedAndLeftAlone) {
  Proc p({tl_test::sample_bin("park"), "--sleep", "1"});
  p.expect("ready");
  // This test process becomes the tracer of the sample's main thread, as a
  // debugger would be; threadleak must say so and touch nothing.
  ASSERT_EQ(ptrace(PTRACE_SEIZE, p.pid(), nullptr, nullptr), 0);
  auto r = tl_test::run({tl_test::threadleak_bin(), "stacks", "--pid", std::to_string(p.pid())});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("not permitted to trace thread " + std::to_string(p.pid())), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
  // PTRACE_DETACH needs a stopped tracee.
  ASSERT_EQ(ptrace(PTRACE_INTERRUPT, p.pid(), nullptr, nullptr), 0);
  int status = 0;
  ASSERT_EQ(waitpid(p.pid(), &status, __WALL), p.pid());
  ASSERT_EQ(ptrace(PTRACE_DETACH, p.pid(), nullptr, nullptr), 0);
  std::string why;
  EXPECT_TRUE(tl_test::all_threads_running_untraced(p.pid(), &why)) << why;
}

TEST(LiveBadInput, ProcessExitingMidSnapshotIsAnErrorOrATrueAnswer) {
  // A process that lives a few milliseconds: whatever the timing, threadleak
  // answers with exit 0 (it was caught) or one line and exit 2.
  for (int i = 0; i < 20; ++i) {
    Proc p({"/bin/sleep", "0.0" + std::to_string(i % 10)});
    auto r = tl_test::run({tl_test::threadleak_bin(), "stacks", "--pid", std::to_string(p.pid())});
    EXPECT_TRUE(r.status == 0 || r.status == 2) << r.status << r.err;
    if (r.status == 2) {
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
  }
}

namespace {
// Starts `threadleak stacks --pid TARGET` with its output discarded; the
// caller kills or reaps it.
pid_t spawn_stacks_quietly(pid_t target) {
  pid_t tl = fork();
  if (tl == 0) {
    int devnull = ::open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    std::string pid = std::to_string(target);
    execl(tl_test::threadleak_bin().c_str(), "threadleak", "stacks", "--pid", pid.c_str(), nullptr);
    _exit(127);
  }
  return tl;
}
}  // namespace

TEST(LiveKill, KillingThreadleakMidSnapshotLeavesTheTargetRunning) {
  Proc p({tl_test::sample_bin("park"), "--sleep", "3000", "--stack-kib", "64"});
  EXPECT_EQ(p.expect("ready", 120), "ready 3001");
  for (int delay_ms : {1, 5, 20, 60}) {
    pid_t tl = spawn_stacks_quietly(p.pid());
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    kill(tl, SIGKILL);
    waitpid(tl, nullptr, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::string why;
    EXPECT_TRUE(tl_test::all_threads_running_untraced(p.pid(), &why)) << "after " << delay_ms << " ms: " << why;
  }
  p.send("gap");
  EXPECT_EQ(p.expect("gap").rfind("gap ", 0), 0u);
}

namespace {
std::vector<pid_t> tasks_of(pid_t pid) {
  std::vector<pid_t> tids;
  for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task"))
    tids.push_back(std::stoi(e.path().filename().string()));
  return tids;
}
}  // namespace

TEST(LiveSignals, SignalsSentWhileFrozenAreAllHandledOnce) {
  // Real-time signals queue, so each one sent must be handled exactly once.
  // Sent to the process and to single threads while threadleak seizes,
  // stops and resumes them, some reach a thread that threadleak holds: the
  // kernel must hand each back when the thread is released.
  Proc p({tl_test::sample_bin("park"), "--sleep", "300", "--read", "200", "--signals"});
  EXPECT_EQ(p.expect("ready", 60), "ready 501");
  const int sig = SIGRTMIN;
  std::vector<pid_t> tids = tasks_of(p.pid());
  long sent = 0;
  for (int look = 0; look < 4; ++look) {
    pid_t tl = spawn_stacks_quietly(p.pid());
    int status = 0;
    for (std::size_t i = 0; waitpid(tl, &status, WNOHANG) == 0; ++i) {
      int r = i % 2 ? static_cast<int>(::syscall(SYS_tgkill, p.pid(), tids[i / 2 % tids.size()], sig))
                    : ::kill(p.pid(), sig);
      sent += r == 0;
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "look " << look << ": status " << status;
  }
  EXPECT_GT(sent, 20);
  std::string got;
  for (int i = 0; i < 100; ++i) {   // handlers run once the threads are scheduled
    p.send("signals");
    got = p.expect("signals");
    if (got == "signals " + std::to_string(sent)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(got, "signals " + std::to_string(sent));
  std::string why;
  EXPECT_TRUE(tl_test::all_threads_running_untraced(p.pid(), &why)) << why;
}
