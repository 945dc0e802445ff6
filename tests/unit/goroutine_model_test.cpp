// Goroutines in the model: grouping (wait reason and creator are part of
// the stack), same-process diff by goid, the Go runtime's own left out of
// diffs, goleak's wording in text, and snapshot files that keep it all.
#include <gtest/gtest.h>

#include "builders.hpp"
#include "report/json_model.hpp"

namespace {

using namespace threadleak;
using tl_unit::frame;

Thread goroutine(std::int64_t goid, const std::string& reason, const std::string& top, const std::string& creator) {
  Thread t = tl_unit::thread(0, State::sleep, {frame(top, 0x10), frame("main.GetResourceB", 0x20, true)});
  t.kind = Kind::goroutine;
  t.goid = goid;
  t.wait_reason = reason;
  t.created_by = frame(creator, 0x30, true);
  return t;
}

Snapshot go_snapshot(int pid, std::int64_t first_goid, int leaked) {
  Snapshot s;
  s.pid = pid;
  s.executable = "/srv/leaksvc";
  Thread m = tl_unit::thread(pid, State::syscall, {frame("runtime.futex", 0x1)});
  m.go_runtime = true;
  s.threads.push_back(m);
  for (int i = 0; i < leaked; ++i) s.threads.push_back(goroutine(first_goid + 3 * i, "sleep", "time.Sleep", "main.Execute"));
  Thread other = goroutine(100000, "sleep", "time.Sleep", "main.Other");  // same stack, other creator
  s.threads.push_back(other);
  return s;
}

TEST(Goroutines, GroupedByStackReasonAndCreatorWithGoids) {
  auto groups = group(go_snapshot(7, 10, 4), {});
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].kind, Kind::goroutine);
  EXPECT_EQ(groups[0].members, (std::vector<std::int64_t>{10, 13, 16, 19}));
  EXPECT_EQ(groups[0].wait_reason, "sleep");
  ASSERT_TRUE(groups[0].created_by);
  EXPECT_EQ(groups[0].created_by->function, "main.Execute");
  EXPECT_EQ(groups[1].count(), 1u);
  EXPECT_EQ(groups[2].count(), 1u);
}

TEST(Goroutines, SameProcessDiffCountsNewGoidsAndSkipsTheRuntime) {
  Snapshot before = go_snapshot(7, 10, 4);
  Snapshot after = go_snapshot(7, 10, 6);
  Thread extra_m = tl_unit::thread(8, State::syscall, {frame("runtime.futex", 0x1)});
  extra_m.go_runtime = true;  // a new M: not the program's leak
  after.threads.push_back(extra_m);
  Diff d = diff(before, after, {});
  ASSERT_EQ(d.grown.size(), 1u);
  EXPECT_EQ(d.grown[0].group.kind, Kind::goroutine);
  EXPECT_EQ(d.grown[0].new_members, (std::vector<std::int64_t>{22, 25}));
  std::string text = render_text(d, {});
  EXPECT_NE(text.find("GREW +2: 4 -> 6 goroutines in state sleep, with time.Sleep on top of the stack"),
            std::string::npos) << text;
  EXPECT_NE(text.find("created by main.Execute"), std::string::npos) << text;
}

TEST(Goroutines, TextFoldsTheGoRuntimeUnlessAsked) {
  Snapshot s = go_snapshot(7, 10, 2);
  auto groups = group(s, {});
  std::string folded = render_text(s, groups, {});
  EXPECT_NE(folded.find("1 thread, 3 goroutines in 3 groups"), std::string::npos) << folded;
  EXPECT_EQ(folded.find("runtime.futex"), std::string::npos) << folded;
  EXPECT_NE(folded.find("1 in 1 group folded"), std::string::npos) << folded;
  std::string shown = render_text(s, groups, {.show_go_runtime = true});
  EXPECT_NE(shown.find("runtime.futex"), std::string::npos) << shown;
}

TEST(Goroutines, SnapshotFileRoundTrip) {
  Snapshot s = go_snapshot(7, 10, 2);
  s.threads[1].wait_minutes = 12;
  Snapshot r = from_snapshot_json(to_snapshot_json(s), "mem");
  ASSERT_EQ(r.threads.size(), s.threads.size());
  EXPECT_TRUE(r.threads[0].go_runtime);
  EXPECT_EQ(r.threads[0].kind, Kind::thread);
  const Thread& g = r.threads[1];
  EXPECT_EQ(g.kind, Kind::goroutine);
  EXPECT_EQ(g.goid, 10);
  EXPECT_EQ(g.wait_reason, "sleep");
  EXPECT_EQ(g.wait_minutes, 12);
  ASSERT_TRUE(g.created_by);
  EXPECT_EQ(g.created_by->function, "main.Execute");
  EXPECT_EQ(group(r, {}).size(), group(s, {}).size());
  std::string bad = to_snapshot_json(s);
  bad.replace(bad.find("\"goroutine\""), 11, "\"fiber\"");
  EXPECT_THROW(from_snapshot_json(bad, "bad.json"), Error);
}

// Go 1.26's GC-proven leaks (status _Gleaked): their own group, flagged in
// JSON and kept by snapshot files.
TEST(Goroutines, LeakedByTheGcIsItsOwnGroupAndSurvivesSnapshotFiles) {
  Snapshot s = go_snapshot(7, 10, 3);
  s.threads[2].wait_reason = "sleep (leaked)";
  s.threads[2].leaked_by_gc = true;
  std::vector<Group> gs = group(s, {});
  const Group* leaked = nullptr;
  for (const Group& g : gs)
    if (g.leaked_by_gc) leaked = &g;
  ASSERT_NE(leaked, nullptr);
  EXPECT_EQ(leaked->members, (std::vector<std::int64_t>{13}));
  EXPECT_EQ(leaked->wait_reason, "sleep (leaked)");
  EXPECT_EQ(detail::group_json(*leaked).at("leaked_by_gc"), true);
  Snapshot r = from_snapshot_json(to_snapshot_json(s), "mem");
  EXPECT_TRUE(r.threads[2].leaked_by_gc);
  EXPECT_FALSE(r.threads[1].leaked_by_gc);
}

}  // namespace
