// Go hang triage on hand-built snapshots: goroutines grouped by the
// sync.Mutex they wait for, and the "all goroutines are asleep" rule
// (every user goroutine parked on a channel/select/sync primitive, no timer).
#include <gtest/gtest.h>

#include "builders.hpp"
#include "threadleak/hang.hpp"

using threadleak::Kind;
using threadleak::State;

namespace {

threadleak::Thread goroutine(std::int64_t goid, const std::string& reason, State st, int tid = 0) {
  auto t = tl_unit::thread(tid, st, {tl_unit::frame("main.work", 0x10, true)});
  t.kind = Kind::goroutine;
  t.goid = goid;
  t.wait_reason = reason;
  return t;
}

threadleak::Thread mutex_waiter(std::int64_t goid, std::uint64_t mutex) {
  auto t = goroutine(goid, "semacquire", State::mutex);
  t.waiting_on = threadleak::WaitTarget{"go-mutex", mutex, mutex + 4, std::nullopt, std::nullopt, "go-dwarf"};
  return t;
}

threadleak::Snapshot all_asleep() {
  threadleak::Snapshot s;
  s.threads.push_back(tl_unit::thread(100, State::syscall, {}));  // an M: an OS thread, not a goroutine
  s.threads.push_back(goroutine(1, "select (no cases)", State::waiting));
  for (std::int64_t g = 20; g > 13; --g) s.threads.push_back(mutex_waiter(g, 0xc000010000));
  s.threads.push_back(mutex_waiter(30, 0xc000010008));
  s.threads.push_back(goroutine(31, "chan receive", State::waiting));
  auto gc = goroutine(2, "GC worker (idle)", State::waiting);
  gc.go_runtime = true;  // the runtime's own: not counted
  s.threads.push_back(gc);
  auto watcher = goroutine(3, "syscall", State::syscall, 101);
  watcher.frames = {tl_unit::frame("os/signal.signal_recv", 0x20), tl_unit::frame("os/signal.loop", 0x30)};
  s.threads.push_back(watcher);
  s.go_timers = 0;
  return s;
}

}  // namespace

TEST(GoHangUnit, GoroutinesGroupedByMutexWithoutOwner) {
  auto h = threadleak::analyze_hang(all_asleep());
  ASSERT_EQ(h.objects.size(), 2u);
  EXPECT_EQ(h.objects[0].kind, "go-mutex");
  EXPECT_EQ(h.objects[0].address, 0xc000010000u);
  EXPECT_EQ(h.objects[0].goroutines, (std::vector<std::int64_t>{14, 15, 16, 17, 18, 19, 20}));
  EXPECT_TRUE(h.objects[0].waiters.empty());
  EXPECT_FALSE(h.objects[0].owner);
  EXPECT_EQ(h.objects[1].goroutines, (std::vector<std::int64_t>{30}));
  EXPECT_TRUE(h.deadlocks.empty());
  EXPECT_TRUE(h.blockers.empty());
}

TEST(GoHangUnit, AllAsleepIsADeadlock) {
  auto h = threadleak::analyze_hang(all_asleep());
  ASSERT_TRUE(h.go);
  EXPECT_EQ(h.go->goroutines, 10u);
  EXPECT_EQ(h.go->asleep, 10u);
  EXPECT_TRUE(h.go->signal_watcher);
  EXPECT_TRUE(h.go->all_asleep);
  EXPECT_TRUE(h.deadlocked());
  EXPECT_NE(threadleak::render_hang_text(all_asleep(), h, {}).find("ALL GOROUTINES ARE ASLEEP: all 10 user"),
            std::string::npos);
}

TEST(GoHangUnit, OneSleeperOrAPendingTimerOrUnknownTimersIsNotAllAsleep) {
  auto s = all_asleep();
  s.threads.push_back(goroutine(40, "sleep", State::sleep));
  auto h = threadleak::analyze_hang(s);
  EXPECT_FALSE(h.go->all_asleep);
  EXPECT_EQ(h.go->awake, (std::vector<std::int64_t>{40}));
  EXPECT_FALSE(h.deadlocked());

  s = all_asleep();
  s.go_timers = 1;  // a time.After or Ticker could still send on a channel
  EXPECT_FALSE(threadleak::analyze_hang(s).go->all_asleep);
  s.go_timers.reset();
  EXPECT_FALSE(threadleak::analyze_hang(s).go->all_asleep);

  s = all_asleep();
  s.threads.push_back(goroutine(41, "runnable", State::running));
  EXPECT_FALSE(threadleak::analyze_hang(s).go->all_asleep);
}

TEST(GoHangUnit, NoGoroutinesNoGoSection) {
  threadleak::Snapshot s = tl_unit::snapshot(42, 2, 50);
  EXPECT_FALSE(threadleak::analyze_hang(s).go);
}
