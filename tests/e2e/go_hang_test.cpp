// Hang triage of Go programs (issue 6, Go part): samples/go/gohang, real Go
// 1.19 runtime, real gcore cores and live processes, the real CLI.
// Goroutines waiting on one sync.Mutex are grouped by its address (the
// address the sample prints), and "all goroutines are asleep" is reported
// exactly when every user goroutine is. Every test runs on the DWARF build
// and on the stripped one (gohang_stripped): the same findings; cores are
// also checked against the runtime's own crash traceback.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <memory>

#include "go_oracle.hpp"
#include "harness.hpp"

using nlohmann::json;

namespace {

struct Started {
  std::unique_ptr<tl_test::GoProcess> proc;
  std::map<std::string, std::string> mu;  // "mu1" -> "0x56c860"
};

Started start(const std::string& bin, const std::string& mode) {
  Started g;
  std::vector<std::string> argv{std::string(GO_SAMPLES_DIR) + "/" + bin, mode};
  g.proc = std::make_unique<tl_test::GoProcess>(argv);
  for (const char* name : {"mu1", "mu2", "muA", "muB", "rw", "wg"}) {
    std::string line = g.proc->expect(std::string(name) + " ");
    g.mu[name] = line.substr(line.find(' ') + 1);
  }
  // main, the os/signal watcher, 12 goroutines of the sample's (+7 on rw and wg in convoy)
  EXPECT_EQ(g.proc->expect("ready"), mode == "convoy" ? "ready 21" : "ready 14");
  return g;
}

// "kind address: goroutine count" of every Go lock in the report.
std::map<std::string, std::size_t> go_objects(const json& hang) {
  std::map<std::string, std::size_t> out;
  for (const auto& o : hang.at("objects"))
    if (!o.at("goroutines").empty())
      out[o.at("kind").get<std::string>() + " " + o.at("address").get<std::string>()] = o.at("goroutines").size();
  return out;
}

void expect_convoy(const Started& g, const json& hang) {
  // rw: a writer on writerSem, two readers on readerSem, a writer on the inner mutex w
  std::map<std::string, std::size_t> want = {{"go-mutex " + g.mu.at("mu1"), 7}, {"go-mutex " + g.mu.at("mu2"), 3},
                                             {"go-rwmutex " + g.mu.at("rw"), 4}, {"go-waitgroup " + g.mu.at("wg"), 2}};
  EXPECT_EQ(go_objects(hang), want);
  EXPECT_EQ(hang.at("deadlocked"), false);
  const json& go = hang.at("go");
  EXPECT_EQ(go.at("all_asleep"), false);
  EXPECT_EQ(go.at("goroutines"), 20);  // main, 3 holders, 16 waiters
  EXPECT_EQ(go.at("asleep"), 16);      // the waiters; the holders sleep, main reads stdin
  EXPECT_EQ(go.at("awake").size(), 4u);
  EXPECT_GE(go.at("timers"), 3);       // the holders' time.Sleep
  EXPECT_EQ(go.at("signal_watcher"), true);
}

void expect_deadlock(const Started& g, const json& hang) {
  std::map<std::string, std::size_t> want = {{"go-mutex " + g.mu.at("mu1"), 7}, {"go-mutex " + g.mu.at("mu2"), 3},
                                             {"go-mutex " + g.mu.at("muA"), 1}, {"go-mutex " + g.mu.at("muB"), 1}};
  EXPECT_EQ(go_objects(hang), want);
  EXPECT_EQ(hang.at("deadlocked"), true);
  EXPECT_TRUE(hang.at("deadlocks").empty());  // no owner recorded: no cycle can be proved
  const json& go = hang.at("go");
  EXPECT_EQ(go.at("all_asleep"), true);
  EXPECT_EQ(go.at("goroutines"), 13);  // main in select {}, 2 crossed holders, 10 waiters
  EXPECT_EQ(go.at("asleep"), 13);
  EXPECT_EQ(go.at("awake"), json::array());
  EXPECT_EQ(go.at("timers"), 0);
  EXPECT_EQ(go.at("signal_watcher"), true);
}

void validate(const std::string& dir, const json& hang) {
  std::string path = dir + "/hang.json";
  std::ofstream(path) << hang.dump();
  auto v = tl_test::run({"/usr/bin/python3", std::string(SOURCE_DIR) + "/tests/schema/validate.py",
                         std::string(SOURCE_DIR) + "/docs/schema/hang.schema.json", path});
  EXPECT_EQ(v.status, 0) << v.out << v.err;
}

// The text of `hang` and the section heading `stacks` on one input.
void expect_text(const std::vector<std::string>& input, const Started& g, bool deadlock) {
  std::vector<std::string> hang = {tl_test::threadleak_bin(), "hang"};
  hang.insert(hang.end(), input.begin(), input.end());
  auto h = tl_test::run(hang);
  EXPECT_EQ(h.status, deadlock ? 1 : 0) << h.err;
  EXPECT_NE(h.out.find("go-mutex " + g.mu.at("mu1") + ": 7 goroutines waiting, owner not recorded"),
            std::string::npos) << h.out;
  EXPECT_EQ(h.out.find("ALL GOROUTINES ARE ASLEEP") != std::string::npos, deadlock) << h.out;
  std::vector<std::string> stacks = {tl_test::threadleak_bin(), "stacks"};
  stacks.insert(stacks.end(), input.begin(), input.end());
  auto s = tl_test::run(stacks);
  EXPECT_EQ(s.status, 0) << s.err;
  EXPECT_NE(s.out.find("go-mutex " + g.mu.at("mu2") + ": 3 goroutines waiting"), std::string::npos) << s.out;
  EXPECT_EQ(s.out.find("ALL GOROUTINES ARE ASLEEP") != std::string::npos, deadlock) << s.out;
}

// Each located goroutine's semaphore, read independently by delve: the
// sudog `s` that runtime.semacquire1 (frame 2 of delve's full stack) keeps
// on the goroutine's own stack, s.elem. Ours comes from runtime.semtable.
void expect_delve_agrees(const std::string& core, const std::string& dir) {  // DWARF build only
  std::string snap = dir + "/convoy.snapshot";
  auto s = tl_test::run({tl_test::threadleak_bin(), "snapshot", core, "-o", snap});
  ASSERT_EQ(s.status, 0) << s.err;
  std::ifstream in(snap);
  json j = json::parse(in);
  std::map<long, std::string> ours;  // goid -> semaphore
  for (const auto& t : j.at("threads"))
    if (t.contains("waiting_on")) ours[t.at("goid").get<long>()] = t.at("waiting_on").at("futex").get<std::string>();
  ASSERT_EQ(ours.size(), 16u);
  std::string cmds = dir + "/dlv.cmds";
  {
    std::ofstream c(cmds);
    for (const auto& [goid, _] : ours) c << "goroutine " << goid << " frame 2 print s.elem\n";
    c << "exit\n";
  }
  auto d = tl_test::run({"/usr/bin/dlv", "core", std::string(GO_SAMPLES_DIR) + "/gohang", core,
                         "--allow-non-terminal-interactive=true", "--init", cmds});
  std::map<long, std::string> theirs;
  std::size_t at = 0;
  for (const auto& [goid, _] : ours) {  // answers come in order: "unsafe.Pointer(0x56c864)"
    std::size_t p = d.out.find("unsafe.Pointer(", at);
    if (p == std::string::npos) break;
    std::size_t e = d.out.find(')', p);
    theirs[goid] = d.out.substr(p + 15, e - p - 15);
    at = e;
  }
  EXPECT_EQ(theirs, ours) << d.out << d.err;
}

// The core's goroutines, goroutine by goroutine, against the traceback.
void expect_traceback_agrees(const std::string& label, const tl_test::CoreAndTraceback& taken) {
  auto j = tl_test::threadleak_json({"stacks", taken.core.path()});
  tl_test::expect_agrees_with_traceback(label, j.at("groups"), taken.traceback);
}

std::string param_name(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

class GoHang : public ::testing::TestWithParam<std::string> {};

}  // namespace

INSTANTIATE_TEST_SUITE_P(Builds, GoHang, ::testing::Values("gohang", "gohang_stripped"), param_name);

TEST_P(GoHang, ConvoyCore) {
  Started g = start(GetParam(), "convoy");
  std::string dir = tl_test::temp_dir();
  auto taken = g.proc->core_then_traceback();
  const std::string& core = taken.core.path();
  auto j = tl_test::threadleak_json({"hang", core}, 0);
  expect_convoy(g, j);
  validate(dir, j);
  expect_text({core}, g, false);
  expect_traceback_agrees(GetParam() + " convoy", taken);
  if (GetParam() == "gohang") expect_delve_agrees(core, dir);
}

TEST_P(GoHang, ConvoyLive) {
  Started g = start(GetParam(), "convoy");
  std::string pid = std::to_string(g.proc->pid());
  expect_convoy(g, tl_test::threadleak_json({"hang", "--pid", pid}, 0));
  expect_text({"--pid", pid}, g, false);
  std::string why;
  EXPECT_TRUE(tl_test::all_threads_running_untraced(g.proc->pid(), &why)) << why;
}

TEST_P(GoHang, AllAsleepCore) {
  Started g = start(GetParam(), "deadlock");
  std::string dir = tl_test::temp_dir();
  auto taken = g.proc->core_then_traceback();
  const std::string& core = taken.core.path();
  auto j = tl_test::threadleak_json({"hang", core}, 1);
  expect_deadlock(g, j);
  validate(dir, j);
  expect_text({core}, g, true);
  expect_traceback_agrees(GetParam() + " deadlock", taken);
}

TEST_P(GoHang, AllAsleepLiveAndThroughASnapshotFile) {
  Started g = start(GetParam(), "deadlock");
  std::string pid = std::to_string(g.proc->pid());
  expect_deadlock(g, tl_test::threadleak_json({"hang", "--pid", pid}, 1));
  expect_text({"--pid", pid}, g, true);
  std::string snap = tl_test::temp_dir() + "/gohang.snapshot";
  auto s = tl_test::run({tl_test::threadleak_bin(), "snapshot", "--pid", pid, "-o", snap});
  ASSERT_EQ(s.status, 0) << s.err;
  expect_deadlock(g, tl_test::threadleak_json({"hang", snap}, 1));
  std::string why;
  EXPECT_TRUE(tl_test::all_threads_running_untraced(g.proc->pid(), &why)) << why;
}
