// The wait-for graph on hand-built snapshots: cycles, blockers and their
// direct and transitive waiters, orphans, self-deadlocks, crash context;
// and waiting_on surviving a snapshot file.
#include <gtest/gtest.h>

#include "builders.hpp"
#include "threadleak/hang.hpp"

using threadleak::State;

namespace {

// Adds a thread blocked on `kind` at `addr` whose owner is `owner` (0: none).
void waits(threadleak::Snapshot& s, int tid, std::uint64_t addr, int owner, const char* kind = "mutex") {
  auto t = tl_unit::thread(tid, std::string(kind) == "condvar" ? State::condvar : State::mutex,
                           {tl_unit::frame("__lll_lock_wait", 0x10, false, "libc.so.6")});
  threadleak::WaitTarget w;
  w.kind = kind;
  w.address = addr;
  w.futex = addr;
  if (owner) w.owner = owner;
  t.waiting_on = w;
  s.threads.push_back(std::move(t));
}

void idle(threadleak::Snapshot& s, int tid) {
  s.threads.push_back(tl_unit::thread(tid, State::sleep, tl_unit::sleeper_stack()));
}

void sort(threadleak::Snapshot& s) {
  std::sort(s.threads.begin(), s.threads.end(), [](const auto& a, const auto& b) { return a.tid < b.tid; });
}

}  // namespace

TEST(HangGraph, TwoCyclesRotatedToLowestTid) {
  threadleak::Snapshot s;
  waits(s, 12, 0xa, 11);  // 12 -> 11 -> 12
  waits(s, 11, 0xb, 12);
  waits(s, 23, 0xc, 21);  // 21 -> 22 -> 23 -> 21
  waits(s, 21, 0xd, 22);
  waits(s, 22, 0xe, 23);
  waits(s, 30, 0xd, 22);  // waits behind the second cycle, not part of it
  sort(s);
  auto h = threadleak::analyze_hang(s);
  ASSERT_EQ(h.deadlocks.size(), 2u);
  EXPECT_EQ(h.deadlocks[0].threads, (std::vector<int>{11, 12}));
  EXPECT_EQ(h.deadlocks[0].locks, (std::vector<std::uint64_t>{0xb, 0xa}));
  EXPECT_EQ(h.deadlocks[1].threads, (std::vector<int>{21, 22, 23}));
  EXPECT_EQ(h.deadlocks[1].locks, (std::vector<std::uint64_t>{0xd, 0xe, 0xc}));
  EXPECT_TRUE(h.deadlocked());
  // 22 is waited for by 21 and 30 directly; 23 and (through 21) everyone else reach it.
  ASSERT_FALSE(h.blockers.empty());
  EXPECT_EQ(h.blockers[0].tid, 22);
  EXPECT_EQ(h.blockers[0].waiters, 2u);
  EXPECT_EQ(h.blockers[0].transitive_waiters, 3u);
  EXPECT_TRUE(h.blockers[0].in_deadlock);
}

TEST(HangGraph, ChainCountsTransitiveWaiters) {
  threadleak::Snapshot s;
  idle(s, 1);
  waits(s, 2, 0x100, 1);
  waits(s, 3, 0x100, 1);
  waits(s, 4, 0x200, 2);
  waits(s, 5, 0x200, 2);
  waits(s, 6, 0x300, 5);
  sort(s);
  auto h = threadleak::analyze_hang(s);
  EXPECT_TRUE(h.deadlocks.empty());
  EXPECT_FALSE(h.deadlocked());
  ASSERT_EQ(h.blockers.size(), 3u);
  EXPECT_EQ(h.blockers[0].tid, 1);
  EXPECT_EQ(h.blockers[0].waiters, 2u);
  EXPECT_EQ(h.blockers[0].transitive_waiters, 5u);
  EXPECT_EQ(h.blockers[1].tid, 2);
  EXPECT_EQ(h.blockers[1].transitive_waiters, 3u);
  EXPECT_EQ(h.blockers[2].tid, 5);
  EXPECT_EQ(h.blockers[2].waiters, 1u);
  EXPECT_EQ(h.lock_waiters, 5u);
  EXPECT_EQ(h.located, 5u);
}

TEST(HangGraph, OrphanSelfDeadlockAndCondvars) {
  threadleak::Snapshot s;
  waits(s, 2, 0x100, 999);  // owner 999 is no thread of the process
  waits(s, 3, 0x100, 999);
  waits(s, 4, 0x200, 4);    // waits for its own mutex
  waits(s, 5, 0x200, 4);    // and another waits behind it
  waits(s, 6, 0x300, 0, "condvar");
  waits(s, 7, 0x300, 0, "condvar");
  sort(s);
  auto h = threadleak::analyze_hang(s);
  ASSERT_EQ(h.orphaned.size(), 1u);
  EXPECT_EQ(h.orphaned[0].lock, 0x100u);
  EXPECT_EQ(h.orphaned[0].owner, 999);
  EXPECT_EQ(h.orphaned[0].waiters, (std::vector<int>{2, 3}));
  ASSERT_EQ(h.self_deadlocks.size(), 1u);
  EXPECT_EQ(h.self_deadlocks[0].tid, 4);
  EXPECT_TRUE(h.deadlocks.empty());
  EXPECT_TRUE(h.deadlocked());
  ASSERT_EQ(h.blockers.size(), 1u);  // 4 blocks 5; the orphan's owner is no blocker
  EXPECT_EQ(h.blockers[0].tid, 4);
  EXPECT_EQ(h.blockers[0].waiters, 1u);
  int condvars = 0;
  for (const auto& o : h.objects)
    if (o.kind == "condvar") { ++condvars; EXPECT_EQ(o.waiters, (std::vector<int>{6, 7})); EXPECT_FALSE(o.owner); }
  EXPECT_EQ(condvars, 1);
}

TEST(HangGraph, CrashedThreadHoldingALock) {
  threadleak::Snapshot s;
  s.threads.push_back(tl_unit::thread(10, State::crashed, tl_unit::sleeper_stack()));
  waits(s, 11, 0x100, 10);
  waits(s, 12, 0x100, 10);
  s.crash = threadleak::CrashInfo{10, 11, "SIGSEGV", 0};
  auto h = threadleak::analyze_hang(s);
  ASSERT_TRUE(h.crash);
  EXPECT_EQ(h.crash->tid, 10);
  EXPECT_EQ(h.crash->held_locks, (std::vector<std::uint64_t>{0x100}));
  EXPECT_EQ(h.crash->waiters, (std::vector<int>{11, 12}));
  std::string text = threadleak::render_hang_text(s, h, {.stacks = false});
  EXPECT_NE(text.find("crashed: thread 10 took SIGSEGV at address 0x0; it held 0x100 that 2 threads wait for: TIDs 11 12"),
            std::string::npos) << text;
}

TEST(HangGraph, EmptySnapshotHasNothing) {
  auto h = threadleak::analyze_hang(tl_unit::snapshot(42, 3, 100));
  EXPECT_FALSE(h.deadlocked());
  EXPECT_TRUE(h.blockers.empty());
  EXPECT_TRUE(h.orphaned.empty());
  EXPECT_FALSE(h.crash);
}

TEST(HangGraph, WaitingOnSurvivesSnapshotFiles) {
  threadleak::Snapshot s;
  waits(s, 11, 0x55d000001040, 12);
  waits(s, 12, 0x55d000001000, 11);
  s.threads[0].waiting_on->mutex_kind = 0;
  s.threads[0].waiting_on->layout = "dwarf";
  auto back = threadleak::from_snapshot_json(threadleak::to_snapshot_json(s), "t.json");
  ASSERT_EQ(back.threads.size(), 2u);
  ASSERT_TRUE(back.threads[0].waiting_on);
  const auto& w = *back.threads[0].waiting_on;
  EXPECT_EQ(w.kind, "mutex");
  EXPECT_EQ(w.address, 0x55d000001040u);
  EXPECT_EQ(w.owner, 12);
  EXPECT_EQ(w.mutex_kind, 0);
  EXPECT_EQ(w.layout, "dwarf");
  EXPECT_EQ(threadleak::analyze_hang(back).deadlocks.size(), 1u);
}
