// End to end: parked and spinning threads between captures of one process
// (docs/activity.md). Live: two and three `snapshot --pid` of the park
// sample with a spinner, some hundreds of ms apart. Cores: a kernel core of
// it (the child's own RLIMIT_CORE raised, core_pattern "core" in a temporary
// directory) records CPU times; gdb's gcore records none.
#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "schema_check.hpp"

namespace fs = std::filesystem;
using tl_test::Proc;

namespace {

double now_s() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

// A park with 3 condvar waiters, a lock holder and 2 mutex waiters, 2
// sleepers and 1 spinner; the main thread reads stdin. 10 threads.
std::vector<std::string> park_argv() {
  return {tl_test::sample_bin("park"), "--condvar", "3", "--mutex", "2", "--sleep", "2", "--spin", "1"};
}

struct Timed {
  std::string path;
  double started = 0, ended = 0;   // seconds since the epoch, around the command
};

Timed snapshot(pid_t pid, const std::string& path) {
  Timed t{path, now_s(), 0};
  auto r = tl_test::run({tl_test::threadleak_bin(), "snapshot", "--pid", std::to_string(pid), "-o", path});
  t.ended = now_s();
  EXPECT_EQ(r.status, 0) << r.err;
  return t;
}

std::string short_name(std::string fn) {
  auto colon = fn.rfind("::");
  return colon == std::string::npos ? fn : fn.substr(colon + 2);
}

// "FUNCTION" -> "COUNT: P parked, S spinning, W woke" for every group listed.
std::map<std::string, std::string> per_group(const nlohmann::json& activity) {
  std::map<std::string, std::string> m;
  for (const auto& g : activity.at("groups"))
    m[short_name(g.at("function"))] = std::to_string(g.at("count").get<int>()) + ": " +
                                      std::to_string(g.at("parked").get<int>()) + " parked, " +
                                      std::to_string(g.at("spinning").get<int>()) + " spinning, " +
                                      std::to_string(g.at("woke").get<int>()) + " woke";
  return m;
}

const std::map<std::string, std::string> kParkAnswer = {
    {"pool_worker()", "3: 3 parked, 0 spinning, 0 woke"},
    {"lock_waiter()", "2: 2 parked, 0 spinning, 0 woke"},
    {"sleeper()", "2: 2 parked, 0 spinning, 0 woke"},
    {"lock_holder()", "1: 1 parked, 0 spinning, 0 woke"},
    {"wait_for_command()", "1: 1 parked, 0 spinning, 0 woke"},
    {"spinner()", "1: 0 parked, 1 spinning, 0 woke"},
};

}  // namespace

TEST(LiveActivity, TwoSnapshotsTellParkedFromSpinning) {
  Proc p(park_argv());
  EXPECT_EQ(p.expect("ready"), "ready 10");
  p.wait_reading_stdin();
  std::string d = tl_test::temp_dir();
  Timed a = snapshot(p.pid(), d + "/a.json");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Timed b = snapshot(p.pid(), d + "/b.json");

  // The snapshot files keep every thread's CPU time and the capture time to the microsecond.
  auto sa = tl_test::read_json(a.path), sb = tl_test::read_json(b.path);
  EXPECT_EQ(sa.at("process").at("cpu_from"), "schedstat");
  EXPECT_EQ(sa.at("process").at("captured_at_from"), "clock");
  EXPECT_EQ(sa.at("process").at("captured_at").get<std::string>().size(), std::string("2026-12-03T14:01:49.123456Z").size());
  for (const auto& t : sb.at("threads")) EXPECT_TRUE(t.contains("cpu_ns")) << t.dump();

  auto j = tl_test::threadleak_json({"diff", a.path, b.path}, 0);
  ASSERT_TRUE(j.contains("activity")) << j.dump();
  const auto& act = j.at("activity");
  ASSERT_TRUE(act.at("compared")) << act.dump();
  EXPECT_EQ(act.at("cpu_from"), "schedstat");
  EXPECT_EQ(act.at("captured_at_from"), nlohmann::json({"clock", "clock"}));
  EXPECT_EQ(act.at("parked"), 9);
  EXPECT_EQ(act.at("spinning"), 1);
  EXPECT_EQ(act.at("woke"), 0);
  EXPECT_EQ(per_group(act), kParkAnswer);
  // The time between them: that of the two freezes, which lie within the two commands.
  double seconds = act.at("seconds");
  EXPECT_GE(seconds, b.started - a.ended);
  EXPECT_LE(seconds, b.ended - a.started);
  EXPECT_GE(seconds, 0.3);

  auto text = tl_test::run({tl_test::threadleak_bin(), "diff", a.path, b.path});
  EXPECT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("9 parked, 1 spinning, 0 woke (same TIDs)"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("times: recorded by threadleak at each capture; CPU: /proc/PID/task/TID/schedstat (ns)"),
            std::string::npos) << text.out;
  EXPECT_NE(text.out.find("3 threads in state condvar in (anonymous namespace)::pool_worker(): 3 parked >= "),
            std::string::npos) << text.out;
  EXPECT_NE(text.out.find("1 thread in state running in (anonymous namespace)::spinner(): 1 spinning"),
            std::string::npos) << text.out;
  tl_test::save_json(d, "diff.json", {"diff", a.path, b.path}, 0);
  tl_test::expect_valid({a.path, d + "/diff.json"});
  std::string why;
  EXPECT_TRUE(tl_test::all_threads_running_untraced(p.pid(), &why)) << why;
}

TEST(LiveActivity, ASeriesCountsAcrossEverySnapshot) {
  Proc p(park_argv());
  p.expect("ready");
  p.wait_reading_stdin();
  std::string d = tl_test::temp_dir();
  std::vector<std::string> paths;
  for (int i = 0; i < 3; ++i) {
    if (i) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    paths.push_back(snapshot(p.pid(), d + "/s" + std::to_string(i) + ".json").path);
  }
  // A series counts, and a spinning thread's pc moves within its function:
  // grouped by pc it may hop between groups and look like growth.
  std::string out = tl_test::save_json(d, "series.json", {"diff", "--group-by", "function", paths[0], paths[1], paths[2]}, 0);
  auto j = tl_test::read_json(out);
  const auto& act = j.at("activity");
  ASSERT_TRUE(act.at("compared")) << act.dump();
  EXPECT_EQ(act.at("parked"), 9);
  EXPECT_EQ(act.at("spinning"), 1);
  EXPECT_EQ(act.at("woke"), 0);
  EXPECT_EQ(per_group(act), kParkAnswer);
  EXPECT_GE(act.at("seconds").get<double>(), 0.4);
  // Each group of the last snapshot carries its own counts too.
  int spinning = 0;
  for (const auto& g : j.at("groups"))
    if (g.contains("activity")) spinning += g.at("activity").at("spinning").get<int>();
  EXPECT_EQ(spinning, 1);
  tl_test::expect_valid({out});
}

TEST(CoreActivity, AKernelCoreRecordsTheSpinnersCpuTime) {
  std::string dir = tl_test::temp_dir();
  // core_pattern is "core": the core goes to the working directory, a temporary one.
  std::string cmd = "cd '" + dir + "' && exec";
  for (const std::string& a : park_argv()) cmd += " '" + a + "'";
  Proc p({"/bin/sh", "-c", cmd});
  p.expect("ready");
  p.wait_reading_stdin();
  // Only this child may dump: its own limit is raised, not the host's settings.
  rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
  ASSERT_EQ(::prlimit(p.pid(), RLIMIT_CORE, &unlimited, nullptr), 0) << std::strerror(errno);
  Timed before = snapshot(p.pid(), dir + "/before.json");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  p.send("abort");
  EXPECT_EQ(p.wait_exit(60), 128 + SIGABRT);
  std::string core;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind("core", 0) == 0) core = e.path().string();
  ASSERT_FALSE(core.empty()) << "no kernel core in " << dir << " (core_pattern: "
                             << tl_test::run({"cat", "/proc/sys/kernel/core_pattern"}).out << ")";

  std::string snap = dir + "/core.json";
  auto r = tl_test::run({tl_test::threadleak_bin(), "snapshot", core, "-o", snap});
  ASSERT_EQ(r.status, 0) << r.err;
  auto s = tl_test::read_json(snap);
  EXPECT_EQ(s.at("process").at("cpu_from"), "core-prstatus");
  EXPECT_EQ(s.at("process").at("captured_at_from"), "file-mtime");
  int pid = s.at("process").at("pid");
  std::uint64_t spinner = 0, others = 0;
  std::size_t timed = 0;
  for (const auto& t : s.at("threads")) {
    // The main thread's record holds the whole process's total: left unknown.
    if (t.at("tid") == pid) {
      EXPECT_FALSE(t.contains("cpu_ns")) << t.dump();
      continue;
    }
    ASSERT_TRUE(t.contains("cpu_ns")) << t.dump();
    ++timed;
    if (t.at("state") == "running") spinner = t.at("cpu_ns");
    else others = std::max<std::uint64_t>(others, t.at("cpu_ns"));
  }
  EXPECT_EQ(timed, 9u);
  EXPECT_GT(spinner, 0u);
  EXPECT_GT(spinner, others);

  // A live baseline and the kernel core: one process, CPU times of two kinds.
  auto j = tl_test::threadleak_json({"diff", before.path, core}, 0);
  const auto& act = j.at("activity");
  EXPECT_FALSE(act.at("compared"));
  EXPECT_EQ(act.at("not_compared"), "CPU times from different sources (schedstat in " + before.path +
                                        ", core-prstatus in " + core + ")");
  EXPECT_EQ(act.at("captured_at_from"), nlohmann::json({"clock", "file-mtime"}));
  tl_test::expect_valid({snap});
  fs::remove(core);
}

TEST(CoreActivity, GcoreRecordsNoCpuTimesAndTheDiffSaysSo) {
  Proc p(park_argv());
  p.expect("ready");
  p.wait_reading_stdin();
  std::string d1 = tl_test::temp_dir(), d2 = tl_test::temp_dir();
  std::string c1 = tl_test::gcore(p.pid(), d1);
  std::string c2 = tl_test::gcore(p.pid(), d2);
  auto s = tl_test::threadleak_json({"stacks", c1});
  EXPECT_FALSE(s.at("process").contains("cpu_from"));
  EXPECT_EQ(s.at("process").at("captured_at_from"), "file-mtime");
  auto j = tl_test::threadleak_json({"diff", c1, c2}, 0);
  const auto& act = j.at("activity");
  EXPECT_FALSE(act.at("compared"));
  EXPECT_EQ(act.at("not_compared"), c1 + ": gdb's gcore records no CPU times in a core");
  EXPECT_EQ(act.at("captured_at_from"), nlohmann::json({"file-mtime", "file-mtime"}));
  EXPECT_TRUE(act.contains("seconds"));
  auto text = tl_test::run({tl_test::threadleak_bin(), "diff", c1, c2});
  EXPECT_NE(text.out.find("parked and spinning not told: " + c1 + ": gdb's gcore records no CPU times in a core\n"
                          "  times: a core's is its file's mtime (a core records no capture time)\n"),
            std::string::npos) << text.out;
  fs::remove(c1);
  fs::remove(c2);
}
