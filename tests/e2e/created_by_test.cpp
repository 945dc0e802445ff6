// "Created by" for native threads, end to end on samples/cpp/pool: the
// start routine of every thread (pthread_create's routine, std::thread's
// callable), the main thread's and the clone()d thread's markers, on a
// gcore'd core, a live process (`stacks --pid`, `snapshot --pid` and the
// file read back), and `diff --ignore-created-by`. The pool's two kinds of
// workers tail-call one loop: in an optimized build their stacks are the
// same, in a Debug build the start routine is a frame of its own; either
// way they are two groups, told apart by created_by.
#include <map>
#include <utility>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "schema_check.hpp"

using namespace tl_test;

namespace {

const char* kLambdaRun =
    "std::thread::_State_impl<std::thread::_Invoker<std::tuple<pool::start_all()::{lambda()#1}> > >::_M_run()";

// (start_kind, created_by's function) -> threads, over the groups.
using Starts = std::map<std::pair<std::string, std::string>, int>;

Starts starts_of(const nlohmann::json& groups) {
  Starts s;
  for (const auto& g : groups) {
    std::string fn = g.contains("created_by") ? g.at("created_by").at("function").get<std::string>() : "";
    s[{g.value("start_kind", ""), fn}] += g.at("count").get<int>();
  }
  return s;
}

Starts expected(int io_workers = 3) {
  return {{{"pthread", "pool::io_worker_main(void*)"}, io_workers},
          {{"pthread", "pool::cpu_worker_main(void*)"}, 2},
          {{"std::thread", "pool::stats_loop(int)"}, 1},
          {{"std::thread", kLambdaRun}, 1},
          {{"not-pthread", ""}, 1},
          {{"main", ""}, 1}};
}

const nlohmann::json& group_created_by(const nlohmann::json& groups, const std::string& fn) {
  for (const auto& g : groups)
    if (g.contains("created_by") && g.at("created_by").at("function") == fn) return g;
  static const nlohmann::json none;
  ADD_FAILURE() << "no group created by " << fn;
  return none;
}

// Both kinds of workers: one group each, parked in the shared loop.
void expect_two_pool_groups(const nlohmann::json& groups) {
  const auto& io = group_created_by(groups, "pool::io_worker_main(void*)");
  const auto& cpu = group_created_by(groups, "pool::cpu_worker_main(void*)");
  if (io.is_null() || cpu.is_null()) return;
  EXPECT_EQ(own_function(io.at("frames")), "pool::pool_loop(void*, int)");
  EXPECT_EQ(own_function(cpu.at("frames")), "pool::pool_loop(void*, int)");
  EXPECT_EQ(io.at("state"), "condvar");
  EXPECT_NE(io.at("signature"), cpu.at("signature"));
  EXPECT_EQ(io.at("created_by").at("module"), "pool");
}

struct Pool {
  Proc proc{{sample_bin("pool")}};
  Pool() {
    EXPECT_EQ(proc.expect("ready"), "ready 9");
    proc.wait_reading_stdin();
  }
  std::string pid() const { return std::to_string(proc.pid()); }
};

}  // namespace

TEST(CreatedBy, CoreNamesEveryThreadsStart) {
  Pool p;
  std::string dir = temp_dir();
  std::string core = gcore(p.proc.pid(), dir);
  auto j = threadleak_json({"stacks", core});
  EXPECT_EQ(starts_of(j.at("groups")), expected());
  EXPECT_EQ(j.at("groups").size(), 6u);
  expect_two_pool_groups(j.at("groups"));
  Result text = run({threadleak_bin(), "stacks", core});
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("\n    created by pool::io_worker_main(void*) at "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("\n    created by pool::stats_loop(int) via std::thread at "), std::string::npos);
  EXPECT_NE(text.out.find("\n    the main thread\n"), std::string::npos);
  EXPECT_NE(text.out.find("\n    not created by pthread_create (no glibc thread descriptor)\n"), std::string::npos);
  expect_valid({save_json(dir, "stacks.json", {"stacks", core}, 0),
                save_snapshot(dir, "core.snapshot.json", {core})});
}

TEST(CreatedBy, LiveStacksAndSnapshotFile) {
  Pool p;
  auto live = threadleak_json({"stacks", "--pid", p.pid()});
  EXPECT_EQ(starts_of(live.at("groups")), expected());
  expect_two_pool_groups(live.at("groups"));
  std::string dir = temp_dir();
  std::string snap = dir + "/live.json";
  Result r = run({threadleak_bin(), "snapshot", "--pid", p.pid(), "-o", snap});
  ASSERT_EQ(r.status, 0) << r.err;
  // Kept per thread in the file.
  auto file = read_json(snap);
  std::map<std::string, int> kinds;
  for (const auto& t : file.at("threads")) kinds[t.value("start_kind", "")] += 1;
  EXPECT_EQ(kinds, (std::map<std::string, int>{{"main", 1}, {"pthread", 5}, {"std::thread", 2}, {"not-pthread", 1}}));
  for (const auto& t : file.at("threads")) {
    if (t.at("tid") == p.proc.pid()) { EXPECT_EQ(t.at("start_kind"), "main"); }
  }
  auto back = threadleak_json({"stacks", snap});
  EXPECT_EQ(starts_of(back.at("groups")), expected());
  expect_two_pool_groups(back.at("groups"));
  expect_valid({snap, save_json(dir, "stacks.json", {"stacks", snap}, 0)});
}

TEST(CreatedBy, DiffIgnoresByStartRoutine) {
  Pool p;
  std::string dir = temp_dir();
  std::string base = dir + "/base.json", cur = dir + "/cur.json", last = dir + "/last.json";
  ASSERT_EQ(run({threadleak_bin(), "snapshot", "--pid", p.pid(), "-o", base}).status, 0);
  p.proc.send("io 2");
  EXPECT_EQ(p.proc.expect("ready"), "ready 11");
  p.proc.wait_reading_stdin();
  ASSERT_EQ(run({threadleak_bin(), "snapshot", "--pid", p.pid(), "-o", cur}).status, 0);
  auto grew = threadleak_json({"diff", base, cur}, 1);
  ASSERT_EQ(grew.at("grown").size(), 1u) << grew.dump();
  EXPECT_EQ(grew.at("grown")[0].at("created_by").at("function"), "pool::io_worker_main(void*)");
  EXPECT_EQ(grew.at("grown")[0].at("new_members").size(), 2u);
  EXPECT_EQ(starts_of(threadleak_json({"stacks", cur}).at("groups")), expected(5));
  // The same stack, started by the other routine, is not the one that grew.
  auto ignored = threadleak_json({"diff", base, cur, "--ignore-created-by", "pool::io_worker_main"}, 0);
  EXPECT_EQ(ignored.at("grown").size(), 0u);
  EXPECT_EQ(ignored.at("ignored"), 3 + 5);
  threadleak_json({"diff", base, cur, "--ignore-created-by", "pool::cpu_worker_main"}, 1);
  // A series, too.
  p.proc.send("io 1");
  EXPECT_EQ(p.proc.expect("ready"), "ready 12");
  p.proc.wait_reading_stdin();
  ASSERT_EQ(run({threadleak_bin(), "snapshot", "--pid", p.pid(), "-o", last}).status, 0);
  threadleak_json({"diff", base, cur, last}, 1);
  threadleak_json({"diff", base, cur, last, "--ignore-created-by", "pool::io_worker_main"}, 0);
  Result text = run({threadleak_bin(), "diff", base, cur});
  EXPECT_EQ(text.status, 1);
  EXPECT_NE(text.out.find("    created by pool::io_worker_main(void*) at "), std::string::npos) << text.out;
}
