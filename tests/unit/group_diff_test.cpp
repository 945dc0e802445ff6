#include <gtest/gtest.h>

#include "builders.hpp"

using namespace threadleak;
using tl_unit::snapshot;

TEST(Group, IdenticalStacksFormOneGroupLargestFirst) {
  Snapshot s = snapshot(42, 5, 100);
  auto groups = group(s, {});
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].count(), 5u);
  EXPECT_EQ(groups[0].state, State::sleep);
  EXPECT_EQ(groups[0].members, (std::vector<std::int64_t>{100, 101, 102, 103, 104}));
  EXPECT_EQ(groups[1].count(), 2u);
  EXPECT_EQ(groups[1].state, State::condvar);
  EXPECT_EQ(groups[2].count(), 1u);
}

TEST(Group, SameFramesDifferentStatesAreApart) {
  Snapshot s = snapshot(42, 2, 100);
  s.threads.back().state = State::running;
  auto groups = group(s, {});
  EXPECT_EQ(groups.size(), 4u);
}

TEST(Group, ByFunctionIgnoresOffsets) {
  Snapshot s = snapshot(42, 2, 100);
  s.threads.back().frames[1].rel_pc += 8;  // same function, another line
  EXPECT_EQ(group(s, {GroupBy::pc}).size(), 4u);
  EXPECT_EQ(group(s, {GroupBy::function}).size(), 3u);
}

TEST(Group, BuildIdBeatsModuleName) {
  Snapshot s = snapshot(42, 2, 100);
  for (auto& t : s.threads)
    for (auto& f : t.frames) f.build_id = f.module == "libc.so.6" ? "abcd" : "";
  s.threads.back().frames[0].module = "libc-2.36.so";  // another name, same build
  EXPECT_EQ(group(s, {}).size(), 3u);
}

TEST(Diff, DifferentProcessesCompareCounts) {
  Snapshot a = snapshot(42, 2, 100), b = snapshot(43, 7, 200);
  Diff d = diff(a, b, {});
  EXPECT_FALSE(d.same_process);
  ASSERT_EQ(d.grown.size(), 1u);
  EXPECT_EQ(d.grown[0].baseline, 2u);
  EXPECT_EQ(d.grown[0].current, 7u);
  EXPECT_TRUE(d.grown[0].new_members.empty());
  EXPECT_TRUE(d.shrunk.empty());
  EXPECT_TRUE(d.grew());
}

TEST(Diff, SameProcessCountsNewTids) {
  Snapshot a = snapshot(42, 3, 100), b = snapshot(42, 3, 102);  // 100,101 exited; 103,104 new
  Diff d = diff(a, b, {});
  EXPECT_TRUE(d.same_process);
  ASSERT_EQ(d.grown.size(), 1u);
  EXPECT_EQ(d.grown[0].new_members, (std::vector<std::int64_t>{103, 104}));
  EXPECT_EQ(d.grown[0].baseline, 3u);
  EXPECT_EQ(d.grown[0].current, 3u);
}

TEST(Diff, ShrunkAndVanishedGroupsAreGone) {
  Snapshot a = snapshot(42, 4, 100), b = snapshot(43, 1, 200);
  b.threads.erase(b.threads.begin() + 1, b.threads.begin() + 3);  // the pool vanished
  Diff d = diff(a, b, {});
  EXPECT_FALSE(d.grew());
  ASSERT_EQ(d.shrunk.size(), 2u);
  EXPECT_EQ(d.shrunk[0].baseline, 4u);
  EXPECT_EQ(d.shrunk[0].current, 1u);
  EXPECT_EQ(d.shrunk[1].baseline, 2u);
  EXPECT_EQ(d.shrunk[1].current, 0u);
}

TEST(Diff, IgnoreTopMatchesInnermostOrFirstOwnFrame) {
  Snapshot a = snapshot(42, 1, 100), b = snapshot(43, 4, 200);
  DiffOptions o;
  o.ignore_top = {"clock_nanosleep"};
  EXPECT_FALSE(diff(a, b, o).grew());
  o.ignore_top = {"worker_sleep"};
  EXPECT_FALSE(diff(a, b, o).grew());
  o.ignore_top = {"start_thread"};  // bottom frame: not "top"
  EXPECT_TRUE(diff(a, b, o).grew());
  o.ignore_top = {};
  o.ignore_any = {"start_thread"};
  Diff d = diff(a, b, o);
  EXPECT_FALSE(d.grew());
  EXPECT_EQ(d.ignored, 2u + 4u + 2u + 1u);
}

TEST(Diff, FunctionPatternsMatchWholeNamesOnly) {
  Snapshot a = snapshot(42, 1, 100), b = snapshot(43, 4, 200);
  for (auto& t : b.threads)
    if (t.state == State::sleep) t.frames[1].function = "void ns::worker_sleep<int>(int)";
  a.threads.back().frames[1].function = "void ns::worker_sleep<int>(int)";
  DiffOptions o;
  o.ignore_any = {"worker_sl"};
  EXPECT_TRUE(diff(a, b, o).grew());
  o.ignore_any = {"ns::worker_sleep"};
  EXPECT_FALSE(diff(a, b, o).grew());
}

TEST(Diff, MinGrowth) {
  Snapshot a = snapshot(42, 1, 100), b = snapshot(43, 3, 200);
  DiffOptions o;
  o.min_growth = 3;
  EXPECT_FALSE(diff(a, b, o).grew());
  o.min_growth = 2;
  EXPECT_TRUE(diff(a, b, o).grew());
}

// The fingerprint is specified byte for byte (docs/threadleak.md#fingerprints):
// FNV-1a 64 of "fp1\nthread\nsleep\nf clock_nanosleep\nf worker_sleep\nf start_thread",
// first 12 hex digits. These values were computed from that text alone.
TEST(Fingerprint, IsTheDocumentedHashOfKindStateAndFunctions) {
  Snapshot s = snapshot(42, 1, 100);
  auto groups = group(s, {});
  auto sleepers = std::find_if(groups.begin(), groups.end(), [](const Group& g) { return g.state == State::sleep; });
  ASSERT_NE(sleepers, groups.end());
  EXPECT_EQ(sleepers->fingerprint, "7ac122a5cef1");
  Thread t = tl_unit::thread(7, State::sleep, tl_unit::sleeper_stack());
  EXPECT_EQ(fingerprint_of(t), "7ac122a5cef1");
  // An inlined call is its own line.
  t.frames.insert(t.frames.begin() + 1, tl_unit::frame("inlined_helper", 0x24, true));
  t.frames[1].inlined = true;
  std::string named = fingerprint_of(t);
  // A frame without a function makes it fp2, that frame written as its
  // module and pc relative to it: "fp2\nthread\nsleep\nf clock_nanosleep\n
  // i inlined_helper\nf libapp.so+0x20\nf start_thread" (fp1 wrote
  // "libapp.so?": 5fd5079cb014).
  t.frames[2].function = Interned();
  t.frames[2].module = "libapp.so";
  EXPECT_EQ(fingerprint_of(t), "b3cd3e90c591");
  EXPECT_NE(fingerprint_of(t), named);
  // Two such stacks that differ only inside the stripped module differ.
  Thread u = t;
  u.frames[2].rel_pc = 0x64;
  EXPECT_NE(fingerprint_of(u), fingerprint_of(t));
  // Outside every module (code made at run time) it stays "?", and fp1.
  u.frames[2].module = Interned();
  u.frames[2].rel_pc = 0;
  EXPECT_EQ(fingerprint_of(u), fingerprint_of([&] { Thread v = u; v.frames[2].rel_pc = 0x99; return v; }()));
}

TEST(Fingerprint, IgnoresOffsetsAddressesAndModulesButNotFunctionsOrState) {
  Thread a = tl_unit::thread(7, State::sleep, tl_unit::sleeper_stack());
  Thread b = a;
  for (Frame& f : b.frames) {
    f.rel_pc += 0x40;
    f.pc += 0x7000000;
    f.build_id = "abcdef";
  }
  EXPECT_EQ(fingerprint_of(a), fingerprint_of(b));
  b.frames[1].function = "worker_sleep2";
  EXPECT_NE(fingerprint_of(a), fingerprint_of(b));
  b = a;
  b.state = State::running;
  EXPECT_NE(fingerprint_of(a), fingerprint_of(b));
  b = a;
  b.frames[1].inlined = true;
  EXPECT_NE(fingerprint_of(a), fingerprint_of(b));
  // The same at either grouping level.
  Snapshot s = snapshot(42, 3, 100);
  auto by_pc = group(s, {GroupBy::pc}), by_fn = group(s, {GroupBy::function});
  ASSERT_EQ(by_pc.size(), by_fn.size());
  for (std::size_t i = 0; i < by_pc.size(); ++i) EXPECT_EQ(by_pc[i].fingerprint, by_fn[i].fingerprint);
}

TEST(Fingerprint, PrefixesOfFourToTwelveHexDigitsAnyCase) {
  EXPECT_TRUE(fingerprint_matches("7ac122a5cef1", "7ac1"));
  EXPECT_TRUE(fingerprint_matches("7ac122a5cef1", "7AC122A5CEF1"));
  EXPECT_FALSE(fingerprint_matches("7ac122a5cef1", "7ac"));        // too short to name a group
  EXPECT_FALSE(fingerprint_matches("7ac122a5cef1", "7ac122a5cef10"));
  EXPECT_FALSE(fingerprint_matches("7ac122a5cef1", "7ac2"));
  EXPECT_FALSE(is_fingerprint_prefix("worker"));
  EXPECT_TRUE(is_fingerprint_prefix("deadBEEF"));
}

TEST(Diff, IgnoreGroupByFingerprintPrefix) {
  Snapshot before = snapshot(42, 2, 100), after = snapshot(43, 5, 200);
  DiffOptions o;
  o.ignore_groups = {fingerprint_of(before.threads.back()).substr(0, 6)};
  Diff d = diff(before, after, o);
  EXPECT_FALSE(d.grew());
  EXPECT_EQ(d.ignored, 7u);  // the sleepers, both sides
}
