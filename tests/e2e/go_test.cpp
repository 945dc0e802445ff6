// Goroutines end to end: real Go 1.19 programs, real gcore, the real CLI,
// compared with the Go runtime's own full goroutine dump (runtime.Stack),
// written by the sample just before the core is taken, and with the
// runtime's crash traceback of the same process right after it. Every test
// runs on the DWARF build of its sample and on the stripped one
// (-ldflags "-s -w"): the same exact facts on both.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "go_oracle.hpp"
#include "harness.hpp"

using tl_test::GoProcess;
using tl_test::Proc;

namespace {

std::string go_bin(const std::string& name) { return std::string(GO_SAMPLES_DIR) + "/" + name; }

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  return {std::istreambuf_iterator<char>(f), {}};
}

// Asks the sample for its runtime.Stack dump; returns the parsed oracle.
std::vector<tl_test::GoroutineSummary> dump(Proc& p, const std::string& dir, const std::string& name) {
  std::string path = dir + "/" + name;
  p.send("dump " + path);
  EXPECT_EQ(p.expect("dumped"), "dumped " + path);
  return tl_test::parse_go_dump(slurp(path));
}

// Goroutine 1 wrote the dump (so it shows "running" there); it is left out
// of both sides.
constexpr long kDumper = 1;

const nlohmann::json* find_group(const nlohmann::json& groups, const std::string& reason, const std::string& top) {
  for (const auto& g : groups)
    if (g.value("wait_reason", "") == reason && !g.at("frames").empty() &&
        g.at("frames")[0].value("function", "") == top)
      return &g;
  return nullptr;
}

// Goroutines per (wait reason, top function), over all matching groups.
int count(const nlohmann::json& groups, const std::string& reason, const std::string& top) {
  int n = 0;
  for (const auto& g : groups)
    if (g.value("wait_reason", "") == reason && !g.at("frames").empty() &&
        g.at("frames")[0].value("function", "") == top)
      n += g.at("count").get<int>();
  return n;
}

// User goroutines (the ones runtime.NumGoroutine counts) and OS threads.
std::pair<int, int> goroutines_and_threads(const nlohmann::json& groups) {
  int goroutines = 0, threads = 0;
  for (const auto& g : groups) {
    if (g.value("kind", "") == "thread") threads += g.at("count").get<int>();
    else if (!g.value("go_runtime", false)) goroutines += g.at("count").get<int>();
  }
  return {goroutines, threads};
}

std::string param_name(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

// A sample's DWARF build and its stripped twin.
class GoCore : public ::testing::TestWithParam<std::string> {};
class GoLive : public ::testing::TestWithParam<std::string> {};
class GoDiff : public ::testing::TestWithParam<std::string> {};

}  // namespace

INSTANTIATE_TEST_SUITE_P(Builds, GoCore, ::testing::Values("park", "park_stripped", "park_pie_stripped"), param_name);
INSTANTIATE_TEST_SUITE_P(Builds, GoLive, ::testing::Values("park", "park_stripped", "park_pie_stripped"), param_name);
INSTANTIATE_TEST_SUITE_P(Builds, GoDiff, ::testing::Values("leaksvc", "leaksvc_stripped", "leaksvc_pie_stripped"), param_name);

TEST_P(GoCore, ParkedGoroutinesMatchTheRuntimesOwnDumpAndTraceback) {
  GoProcess p({go_bin(GetParam())});
  EXPECT_EQ(p.expect("ready"), "ready 19");
  auto oracle = dump(p, p.dir(), "oracle.txt");
  auto taken = p.core_then_traceback();
  auto j = tl_test::threadleak_json({"stacks", taken.core.path()});
  tl_test::expect_matches_dump(j, oracle, kDumper);
  tl_test::expect_agrees_with_traceback(GetParam(), j.at("groups"), taken.traceback);
  // Exact facts, independent of the oracles.
  const auto& gs = j.at("groups");
  EXPECT_EQ(count(gs, "sleep", "time.Sleep"), 5);
  EXPECT_EQ(count(gs, "semacquire", "sync.runtime_SemacquireMutex"), 4);
  EXPECT_EQ(count(gs, "chan receive", "main.waitChan"), 3);
  EXPECT_EQ(count(gs, "select", "main.waitSelect"), 2);
  EXPECT_EQ(count(gs, "IO wait", "internal/poll.runtime_pollWait"), 3);  // 2 reads + 1 accept, two groups
  EXPECT_EQ(count(gs, "sync.Cond.Wait", "sync.runtime_notifyListWait"), 1);
  EXPECT_EQ(count(gs, "syscall", "syscall.Syscall"), 1);                  // main, reading stdin
  EXPECT_EQ(goroutines_and_threads(gs).first, 19);                        // nothing else
  const nlohmann::json* sleepers = find_group(gs, "sleep", "time.Sleep");
  ASSERT_NE(sleepers, nullptr);
  EXPECT_EQ(sleepers->at("kind"), "goroutine");
  EXPECT_EQ(sleepers->at("created_by").at("function"), "main.startAll");
  EXPECT_TRUE(sleepers->at("created_by").at("file").get<std::string>().ends_with("samples/go/park.go"));
  EXPECT_EQ(sleepers->at("frames")[1].at("function"), "main.sleepLong");
  EXPECT_TRUE(sleepers->at("frames")[1].at("file").get<std::string>().ends_with("samples/go/park.go"));
  EXPECT_EQ(sleepers->at("frames")[1].at("line"), 42);
  // The runtime's own OS threads are there, marked as such.
  bool runtime_threads = false;
  for (const auto& g : gs) runtime_threads |= g.value("kind", "") == "thread" && g.value("go_runtime", false);
  EXPECT_TRUE(runtime_threads);
}

TEST_P(GoLive, ParkedGoroutinesMatchTheRuntimesOwnDumpAndTargetRuns) {
  GoProcess p({go_bin(GetParam())});
  EXPECT_EQ(p.expect("ready"), "ready 19");
  auto oracle = dump(p, p.dir(), "oracle.txt");
  auto j = tl_test::threadleak_json({"stacks", "--pid", std::to_string(p.pid())});
  tl_test::expect_matches_dump(j, oracle, kDumper);
  std::string why;
  EXPECT_TRUE(tl_test::all_threads_running_untraced(p.pid(), &why)) << why;
  p.send("dump " + p.dir() + "/after.txt");
  EXPECT_EQ(p.expect("dumped").rfind("dumped ", 0), 0u);  // still answering
  tl_test::expect_agrees_with_traceback(GetParam() + " live", j.at("groups"), p.traceback());
}

// The goleak story: one goroutine leaked per request, grown by exactly the
// requests made between two cores; the leaked group matches the oracles.
TEST_P(GoDiff, LeakingServiceGrowsByTheRequestsMade) {
  GoProcess p({go_bin(GetParam()), "-requests", "5"});
  EXPECT_EQ(p.expect("ready"), "ready 6");
  tl_test::CoreFile core1(tl_test::gcore(p.pid(), tl_test::temp_dir()));
  p.send("more 7");
  EXPECT_EQ(p.expect("ready"), "ready 13");
  auto oracle = dump(p, p.dir(), "oracle.txt");
  auto taken = p.core_then_traceback();
  const std::string& core2 = taken.core.path();
  auto j = tl_test::threadleak_json({"stacks", core2});
  tl_test::expect_matches_dump(j, oracle, kDumper);
  tl_test::expect_agrees_with_traceback(GetParam(), j.at("groups"), taken.traceback);
  const nlohmann::json* leak = find_group(j.at("groups"), "sleep", "time.Sleep");
  ASSERT_NE(leak, nullptr);
  EXPECT_EQ(leak->at("count"), 12);
  std::vector<std::string> fns;
  for (const auto& f : leak->at("frames")) fns.push_back(f.at("function"));
  EXPECT_EQ(fns, (std::vector<std::string>{"time.Sleep", "main.GetResourceB"}));  // the go wrapper is hidden
  EXPECT_TRUE(leak->at("frames")[1].at("file").get<std::string>().ends_with("samples/go/leaksvc.go"));
  EXPECT_EQ(leak->at("frames")[1].at("line"), 34);
  EXPECT_EQ(leak->at("created_by").at("function"), "main.Execute");

  auto d = tl_test::threadleak_json({"diff", core1.path(), core2}, 1);
  ASSERT_EQ(d.at("grown").size(), 1u) << d.dump(1);
  const auto& e = d.at("grown")[0];
  EXPECT_EQ(e.at("kind"), "goroutine");
  EXPECT_EQ(e.at("wait_reason"), "sleep");
  EXPECT_EQ(e.at("baseline"), 5);
  EXPECT_EQ(e.at("current"), 12);
  EXPECT_EQ(e.at("new_members").size(), 7u);
  auto text = tl_test::run({tl_test::threadleak_bin(), "diff", core1.path(), core2});
  EXPECT_EQ(text.status, 1);
  EXPECT_NE(text.out.find("GREW +7: 5 -> 12 goroutines in state sleep, with time.Sleep on top of the stack"),
            std::string::npos) << text.out;
  EXPECT_NE(text.out.find("created by main.Execute"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("main.GetResourceB +0x"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("samples/go/leaksvc.go:34"), std::string::npos) << text.out;  // file:line
}

TEST_P(GoDiff, FixedServiceDoesNotGrow) {
  GoProcess p({go_bin(GetParam()), "-fixed", "-requests", "5"});
  EXPECT_EQ(p.expect("ready"), "ready 1");
  tl_test::CoreFile core1(tl_test::gcore(p.pid(), tl_test::temp_dir()));
  p.send("more 7");
  EXPECT_EQ(p.expect("ready"), "ready 1");
  auto taken = p.core_then_traceback();
  auto j = tl_test::threadleak_json({"stacks", taken.core.path()});
  tl_test::expect_agrees_with_traceback(GetParam() + " -fixed", j.at("groups"), taken.traceback);
  EXPECT_EQ(count(j.at("groups"), "syscall", "syscall.Syscall"), 1);  // main, reading stdin
  EXPECT_EQ(goroutines_and_threads(j.at("groups")).first, 1);         // and nothing else
  auto d = tl_test::threadleak_json({"diff", core1.path(), taken.core.path()}, 0);
  EXPECT_EQ(d.at("grew"), false);
  EXPECT_TRUE(d.at("grown").empty()) << d.dump(1);
}

// Without DWARF (-w, or -s -w): goroutines read all the same, from the
// pclntab and the runtime's own type descriptors; core and live.
TEST(GoNoDwarf, ReadsGoroutines) {
  for (std::string bin : {"leaksvc_nodwarf", "park_stripped"}) {
    SCOPED_TRACE(bin);
    Proc p({go_bin(bin)});
    std::string ready = p.expect("ready");
    ASSERT_EQ(ready.rfind("ready ", 0), 0u);
    int user_goroutines = std::stoi(ready.substr(6));  // runtime.NumGoroutine()
    tl_test::CoreFile core(tl_test::gcore(p.pid(), tl_test::temp_dir()));
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"stacks", core.path()}, {"stacks", "--pid", std::to_string(p.pid())}}) {
      auto j = tl_test::threadleak_json(args);
      std::string warnings = j.at("warnings").dump();
      EXPECT_EQ(warnings.find("without DWARF"), std::string::npos) << warnings;
      auto [goroutines, threads] = goroutines_and_threads(j.at("groups"));
      EXPECT_EQ(goroutines, user_goroutines);
      EXPECT_GE(threads, 2);
      EXPECT_EQ(count(j.at("groups"), "syscall", "syscall.Syscall"), 1);  // main, reading stdin
    }
  }
}
