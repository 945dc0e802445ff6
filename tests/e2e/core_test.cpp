// End to end on real cores: samples parked in known ways, dumped with gcore,
// read by the threadleak CLI. Exact groups, counts, states and functions.
#include <filesystem>

#include <gtest/gtest.h>

#include "harness.hpp"

using tl_test::Proc;

namespace {

const std::vector<std::string> kParkArgs = {"--condvar", "3", "--mutex", "2", "--sleep", "4", "--read", "2"};

// Expected groups of `park` with kParkArgs, largest first (ties by signature,
// which we do not pin, so compare as sorted lists).
std::vector<std::string> park_expected() {
  std::vector<std::string> e = {
      "4 sleep (anonymous namespace)::sleeper()",
      "3 condvar (anonymous namespace)::pool_worker()",
      "2 mutex (anonymous namespace)::lock_waiter()",
      "2 io (anonymous namespace)::pipe_reader()",
      "1 sleep (anonymous namespace)::lock_holder()",
      "1 io (anonymous namespace)::wait_for_command()",
  };
  std::sort(e.begin(), e.end());
  return e;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

Proc start_park(const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv{tl_test::sample_bin("park")};
  argv.insert(argv.end(), kParkArgs.begin(), kParkArgs.end());
  argv.insert(argv.end(), extra.begin(), extra.end());
  return Proc(argv);
}

}  // namespace

TEST(CoreStacks, ParkedThreadsGroupedByStackWithStates) {
  Proc p = start_park();
  EXPECT_EQ(p.expect("ready"), "ready 13");
  std::string core = tl_test::gcore(p.pid(), tl_test::temp_dir());
  auto j = tl_test::threadleak_json({"stacks", core});
  EXPECT_EQ(j.at("version"), 2);
  EXPECT_EQ(j.at("process").at("total"), 13);
  EXPECT_EQ(j.at("process").at("pid"), p.pid());
  EXPECT_EQ(sorted(tl_test::group_summaries(j.at("groups"))), park_expected());
  // Largest first; TIDs sorted; every group's count matches its TIDs.
  auto groups = j.at("groups");
  EXPECT_EQ(groups[0].at("count"), 4);
  for (const auto& g : groups) {
    auto tids = g.at("members").get<std::vector<int>>();
    EXPECT_EQ(tids.size(), g.at("count").get<std::size_t>());
    EXPECT_TRUE(std::is_sorted(tids.begin(), tids.end()));
  }
}

TEST(CoreStacks, FramesCarryFileLineAndInlinedCalls) {
  Proc p = start_park();
  p.expect("ready");
  std::string core = tl_test::gcore(p.pid(), tl_test::temp_dir());
  auto j = tl_test::threadleak_json({"stacks", core});
  bool seen = false;
  for (const auto& g : j.at("groups")) {
    if (g.at("state") != "mutex") continue;
    seen = true;
    std::vector<std::string> fns;
    for (const auto& f : g.at("frames")) fns.push_back(f.at("function"));
    // std::lock_guard -> std::mutex::lock inlined into lock_waiter, as eu-stack -i shows.
    auto it = std::find(fns.begin(), fns.end(), "std::mutex::lock()");
    ASSERT_NE(it, fns.end());
    EXPECT_EQ(*(it + 1), "std::lock_guard<std::mutex>::lock_guard(std::mutex&)");
    EXPECT_EQ(*(it + 2), "(anonymous namespace)::lock_waiter()");
    const auto& own = g.at("frames")[static_cast<std::size_t>(it + 2 - fns.begin())];
    EXPECT_TRUE(own.at("file").get<std::string>().ends_with("samples/cpp/park.cpp"));
    EXPECT_GT(own.at("line").get<int>(), 0);
    EXPECT_EQ(own.at("module"), "park");
  }
  EXPECT_TRUE(seen);
}

TEST(CoreStacks, GroupByFunctionMergesNothingHereButKeepsCounts) {
  Proc p = start_park();
  p.expect("ready");
  std::string core = tl_test::gcore(p.pid(), tl_test::temp_dir());
  auto j = tl_test::threadleak_json({"stacks", core, "--group-by", "function"});
  EXPECT_EQ(sorted(tl_test::group_summaries(j.at("groups"))), park_expected());
}

TEST(CoreDiff, LeakingSampleGrowsByExactlyTheNewRequests) {
  auto [core1, core2] = tl_test::leak_cores({"--requests", "3"}, "more 5");

  auto j = tl_test::threadleak_json({"diff", core1, core2}, 1);
  EXPECT_TRUE(j.at("same_process"));
  ASSERT_EQ(j.at("grown").size(), 1u);
  const auto& g = j.at("grown")[0];
  EXPECT_EQ(g.at("baseline"), 3);
  EXPECT_EQ(g.at("current"), 8);
  EXPECT_EQ(g.at("new_members").size(), 5u);
  EXPECT_EQ(g.at("state"), "sleep");
  EXPECT_EQ(tl_test::own_function(g.at("frames")),
            "(anonymous namespace)::get_resource_b(std::shared_ptr<(anonymous namespace)::Call>)");
  EXPECT_EQ(j.at("shrunk").size(), 0u);
  EXPECT_EQ(j.at("baseline_total"), 4);
  EXPECT_EQ(j.at("current_total"), 9);
}

TEST(CoreDiff, FixedSampleDoesNotGrow) {
  auto [core1, core2] = tl_test::leak_cores({"--fixed", "--requests", "3"}, "more 5");
  auto j = tl_test::threadleak_json({"diff", core1, core2}, 0);
  EXPECT_EQ(j.at("grown").size(), 0u);
  EXPECT_FALSE(j.at("grew"));
}

TEST(CoreDiff, IgnoreRulesAndMinGrowth) {
  auto [core1, core2] = tl_test::leak_cores({"--requests", "1"}, "more 2");
  tl_test::threadleak_json({"diff", core1, core2, "--ignore-top", "(anonymous namespace)::get_resource_b"}, 0);
  tl_test::threadleak_json({"diff", core1, core2, "--ignore-top", "(anonymous namespace)::execute"}, 1);
  tl_test::threadleak_json({"diff", core1, core2, "--ignore-any", "std::this_thread::sleep_for"}, 0);
  auto j = tl_test::threadleak_json({"diff", core1, core2, "--ignore-any", "clock_nanosleep"}, 0);
  EXPECT_EQ(j.at("ignored"), 4);   // sleepers on both sides: 1 at the baseline, 3 now
  tl_test::threadleak_json({"diff", core1, core2, "--min-growth", "3"}, 0);
  tl_test::threadleak_json({"diff", core1, core2, "--min-growth", "2"}, 1);
}

TEST(SnapshotFile, SavedBaselineDiffsLikeTheCore) {
  Proc p({tl_test::sample_bin("leak"), "--requests", "2"});
  p.expect("ready");
  std::string dir = tl_test::temp_dir();
  std::string core1 = tl_test::gcore(p.pid(), dir);
  std::string snap = dir + "/base.json";
  auto r = tl_test::run({tl_test::threadleak_bin(), "snapshot", core1, "-o", snap});
  ASSERT_EQ(r.status, 0) << r.err;
  // The snapshot alone gives the same groups as the core.
  auto from_core = tl_test::threadleak_json({"stacks", core1});
  auto from_snap = tl_test::threadleak_json({"stacks", snap});
  EXPECT_EQ(from_core.at("groups"), from_snap.at("groups"));
  p.send("more 3");
  p.expect("ready");
  std::string core2 = tl_test::gcore(p.pid(), tl_test::temp_dir());
  auto j = tl_test::threadleak_json({"diff", snap, core2}, 1);
  ASSERT_EQ(j.at("grown").size(), 1u);
  EXPECT_EQ(j.at("grown")[0].at("baseline"), 2);
  EXPECT_EQ(j.at("grown")[0].at("current"), 5);
}

namespace {
std::string own_function_of_state(const nlohmann::json& j, const std::string& state) {
  for (const auto& g : j.at("groups"))
    if (g.at("state") == state) return tl_test::own_function(g.at("frames"));
  return "(no group in state " + state + ")";
}
}  // namespace

// A core from "another machine": the executable is no longer where the core
// says. Without help, frames degrade to module+offset with a warning naming
// the module; with --sysroot (or --exe) the names come back. A different file
// at the recorded path (a rebuilt binary) is refused by build-id, with a warning.
TEST(CoreModules, MissingMovedAndMismatchedExecutable) {
  namespace fs = std::filesystem;
  std::string dir = tl_test::temp_dir();
  std::string exe = dir + "/bin/park";
  fs::create_directories(dir + "/bin");
  fs::copy_file(tl_test::sample_bin("park"), exe);
  std::string core;
  {
    Proc p({exe, "--sleep", "2"});
    p.expect("ready");
    core = tl_test::gcore(p.pid(), tl_test::temp_dir());
  }
  std::string sysroot = dir + "/sysroot";
  fs::create_directories(sysroot + dir + "/bin");
  fs::rename(exe, sysroot + exe);

  auto r = tl_test::run({tl_test::threadleak_bin(), "stacks", core, "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("warning: module " + exe + ": no file with build-id"), std::string::npos) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("groups").size(), 2u);   // still grouped by pc: 2 sleepers, main
  EXPECT_EQ(j.at("groups")[0].at("count"), 2);

  auto with_sysroot = tl_test::threadleak_json({"stacks", core, "--sysroot", sysroot});
  EXPECT_EQ(own_function_of_state(with_sysroot, "sleep"), "(anonymous namespace)::sleeper()");
  auto with_exe = tl_test::threadleak_json({"stacks", core, "--exe", sysroot + exe});
  EXPECT_EQ(own_function_of_state(with_exe, "sleep"), "(anonymous namespace)::sleeper()");

  fs::copy_file("/bin/true", exe);   // another program where the core's executable was
  r = tl_test::run({tl_test::threadleak_bin(), "stacks", core, "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("warning: module " + exe + ": no file with build-id"), std::string::npos) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).at("groups").size(), 2u);
}
