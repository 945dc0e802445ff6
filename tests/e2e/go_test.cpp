// Goroutines end to end: real Go 1.19 programs, real gcore, the real CLI,
// compared with the Go runtime's own full goroutine dump (runtime.Stack),
// written by the sample just before the core is taken.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "go_oracle.hpp"
#include "harness.hpp"

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

void expect_matches_oracle(const nlohmann::json& j, const std::vector<tl_test::GoroutineSummary>& oracle) {
  auto want = tl_test::oracle_groups(oracle, kDumper);
  auto got = tl_test::threadleak_groups(j.at("groups"), kDumper);
  EXPECT_EQ(tl_test::per_state(got), tl_test::per_state(want));
  EXPECT_EQ(got, want);
}

const nlohmann::json* find_group(const nlohmann::json& groups, const std::string& reason, const std::string& top) {
  for (const auto& g : groups)
    if (g.value("wait_reason", "") == reason && !g.at("frames").empty() &&
        g.at("frames")[0].value("function", "") == top)
      return &g;
  return nullptr;
}

void remove(const std::string& path) { std::filesystem::remove(path); }

}  // namespace

TEST(GoCore, ParkedGoroutinesMatchTheRuntimesOwnDump) {
  Proc p({go_bin("park")});
  EXPECT_EQ(p.expect("ready"), "ready 19");
  std::string dir = tl_test::temp_dir();
  auto oracle = dump(p, dir, "oracle.txt");
  std::string core = tl_test::gcore(p.pid(), dir);
  auto j = tl_test::threadleak_json({"stacks", core});
  remove(core);
  expect_matches_oracle(j, oracle);
  // Exact facts, independent of the oracle.
  const auto& gs = j.at("groups");
  auto count = [&](const std::string& reason, const std::string& top) {  // over all matching groups
    int n = 0;
    for (const auto& g : gs)
      if (g.value("wait_reason", "") == reason && !g.at("frames").empty() &&
          g.at("frames")[0].value("function", "") == top)
        n += g.at("count").get<int>();
    return n;
  };
  EXPECT_EQ(count("sleep", "time.Sleep"), 5);
  EXPECT_EQ(count("semacquire", "sync.runtime_SemacquireMutex"), 4);
  EXPECT_EQ(count("chan receive", "main.waitChan"), 3);
  EXPECT_EQ(count("select", "main.waitSelect"), 2);
  EXPECT_EQ(count("IO wait", "internal/poll.runtime_pollWait"), 3);  // 2 reads + 1 accept, two groups
  EXPECT_EQ(count("sync.Cond.Wait", "sync.runtime_notifyListWait"), 1);
  EXPECT_EQ(count("syscall", "syscall.Syscall"), 1);                  // main, reading stdin
  const nlohmann::json* sleepers = find_group(gs, "sleep", "time.Sleep");
  ASSERT_NE(sleepers, nullptr);
  EXPECT_EQ(sleepers->at("kind"), "goroutine");
  EXPECT_EQ(sleepers->at("created_by").at("function"), "main.startAll");
  EXPECT_EQ(sleepers->at("frames")[1].at("file").get<std::string>().ends_with("samples/go/park.go"), true);
  // The runtime's own OS threads are there, marked as such.
  bool runtime_threads = false;
  for (const auto& g : gs) runtime_threads |= g.value("kind", "") == "thread" && g.value("go_runtime", false);
  EXPECT_TRUE(runtime_threads);
}

TEST(GoLive, ParkedGoroutinesMatchTheRuntimesOwnDumpAndTargetRuns) {
  Proc p({go_bin("park")});
  EXPECT_EQ(p.expect("ready"), "ready 19");
  auto oracle = dump(p, tl_test::temp_dir(), "oracle.txt");
  auto j = tl_test::threadleak_json({"stacks", "--pid", std::to_string(p.pid())});
  expect_matches_oracle(j, oracle);
  std::string why;
  EXPECT_TRUE(tl_test::all_threads_running_untraced(p.pid(), &why)) << why;
  p.send("dump " + tl_test::temp_dir() + "/after.txt");
  EXPECT_EQ(p.expect("dumped").rfind("dumped ", 0), 0u);  // still answering
}

// The goleak story: one goroutine leaked per request, grown by exactly the
// requests made between two cores; the leaked group matches the oracle.
TEST(GoDiff, LeakingServiceGrowsByTheRequestsMade) {
  Proc p({go_bin("leaksvc"), "-requests", "5"});
  EXPECT_EQ(p.expect("ready"), "ready 6");
  std::string dir = tl_test::temp_dir();
  std::string core1 = tl_test::gcore(p.pid(), dir + "/");
  std::filesystem::rename(core1, dir + "/core.1");
  p.send("more 7");
  EXPECT_EQ(p.expect("ready"), "ready 13");
  auto oracle = dump(p, dir, "oracle.txt");
  std::string core2 = tl_test::gcore(p.pid(), dir);
  auto j = tl_test::threadleak_json({"stacks", core2});
  expect_matches_oracle(j, oracle);
  const nlohmann::json* leak = find_group(j.at("groups"), "sleep", "time.Sleep");
  ASSERT_NE(leak, nullptr);
  EXPECT_EQ(leak->at("count"), 12);
  std::vector<std::string> fns;
  for (const auto& f : leak->at("frames")) fns.push_back(f.at("function"));
  EXPECT_EQ(fns, (std::vector<std::string>{"time.Sleep", "main.GetResourceB"}));  // the go wrapper is hidden
  EXPECT_EQ(leak->at("created_by").at("function"), "main.Execute");

  auto d = tl_test::threadleak_json({"diff", dir + "/core.1", core2}, 1);
  ASSERT_EQ(d.at("leaked").size(), 1u) << d.dump(1);
  const auto& e = d.at("leaked")[0];
  EXPECT_EQ(e.at("kind"), "goroutine");
  EXPECT_EQ(e.at("wait_reason"), "sleep");
  EXPECT_EQ(e.at("baseline"), 5);
  EXPECT_EQ(e.at("current"), 12);
  EXPECT_EQ(e.at("new_goroutines").size(), 7u);
  auto text = tl_test::run({tl_test::threadleak_bin(), "diff", dir + "/core.1", core2});
  EXPECT_EQ(text.status, 1);
  EXPECT_NE(text.out.find("GREW +7: 5 -> 12 goroutines in state sleep, with time.Sleep on top of the stack"),
            std::string::npos) << text.out;
  EXPECT_NE(text.out.find("created by main.Execute"), std::string::npos) << text.out;
  remove(dir + "/core.1");
  remove(core2);
}

TEST(GoDiff, FixedServiceDoesNotGrow) {
  Proc p({go_bin("leaksvc"), "-fixed", "-requests", "5"});
  EXPECT_EQ(p.expect("ready"), "ready 1");
  std::string dir = tl_test::temp_dir();
  std::string core1 = tl_test::gcore(p.pid(), dir);
  std::filesystem::rename(core1, dir + "/core.1");
  p.send("more 7");
  EXPECT_EQ(p.expect("ready"), "ready 1");
  std::string core2 = tl_test::gcore(p.pid(), dir);
  auto d = tl_test::threadleak_json({"diff", dir + "/core.1", core2}, 0);
  EXPECT_EQ(d.at("grew"), false);
  EXPECT_TRUE(d.at("leaked").empty()) << d.dump(1);
  remove(dir + "/core.1");
  remove(core2);
}

// Without DWARF: a clear warning, the OS threads, no crash; core and live.
TEST(GoNoDwarf, WarnsAndShowsOsThreads) {
  for (std::string bin : {"leaksvc_nodwarf", "park_stripped"}) {
    SCOPED_TRACE(bin);
    Proc p({go_bin(bin)});
    EXPECT_EQ(p.expect("ready").rfind("ready ", 0), 0u);
    std::string core = tl_test::gcore(p.pid(), tl_test::temp_dir());
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"stacks", core}, {"stacks", "--pid", std::to_string(p.pid())}}) {
      auto j = tl_test::threadleak_json(args);
      std::string warnings = j.at("warnings").dump();
      EXPECT_NE(warnings.find("Go program without DWARF"), std::string::npos) << warnings;
      int threads = 0, goroutines = 0;
      for (const auto& g : j.at("groups"))
        (g.value("kind", "") == "goroutine" ? goroutines : threads) += g.at("count").get<int>();
      EXPECT_GE(threads, 2);
      EXPECT_EQ(goroutines, 0);
    }
    remove(core);
  }
}
