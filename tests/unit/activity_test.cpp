// Parked, spinning and woke threads between captures (activity.cpp), the
// /proc parsers behind live CPU times, and pr_utime/pr_stime of core notes.
#include <elf.h>

#include <cstring>

#include <gtest/gtest.h>

#include "activity.hpp"
#include "builders.hpp"
#include "report/activity.hpp"
#include "source/core_notes.hpp"
#include "source/thread_cpu.hpp"

using namespace threadleak;
using tl_unit::frame;
using tl_unit::thread;

namespace {

std::vector<Frame> spin_stack(std::uint64_t top_pc) {
  return {frame("spin", top_pc, true), frame("start_thread", 0x300, false, "libc.so.6")};
}

// pid 42: a condvar waiter (tid 43), a spinner (44), a sleeper (45).
Snapshot capture(const std::string& at, std::uint64_t waiter_ns, std::uint64_t spin_ns, std::uint64_t spin_pc,
                 std::uint64_t sleeper_ns) {
  Snapshot s;
  s.pid = 42;
  s.executable = "/srv/app";
  s.origin = at;
  s.captured_at = at;
  s.captured_at_from = "clock";
  s.cpu_from = "schedstat";
  s.threads.push_back(thread(43, State::condvar, tl_unit::pool_stack()));
  s.threads.back().waiting_on = WaitTarget{"condvar", 0x1000, 0x1008, std::nullopt, std::nullopt, "dwarf"};
  s.threads.back().cpu_ns = waiter_ns;
  s.threads.push_back(thread(44, State::running, spin_stack(spin_pc)));
  s.threads.back().cpu_ns = spin_ns;
  s.threads.push_back(thread(45, State::sleep, tl_unit::sleeper_stack()));
  s.threads.back().cpu_ns = sleeper_ns;
  return s;
}

struct Outcome {
  ActivitySpan span;
  std::vector<Group> groups;
  const Activity& of(const std::string& fn) const {
    for (const Group& g : groups)
      for (const Frame& f : g.frames)
        if (f.function == fn) return *g.activity;
    throw std::runtime_error("no group " + fn);
  }
};

Outcome compare(const std::vector<Snapshot>& snaps) {
  Outcome o;
  o.groups = group(snaps.back(), {});
  std::vector<const Snapshot*> ps;
  for (const Snapshot& s : snaps) ps.push_back(&s);
  std::vector<Group*> gs;
  for (Group& g : o.groups) gs.push_back(&g);
  o.span = detail::compare_activity(ps, gs);
  return o;
}

}  // namespace

TEST(Activity, ParkedSpinningAndWoke) {
  // The spinner's pc moved within spin(): still the same stack. The
  // sleeper used 8 ms: it woke and came back. The waiter used 20 us, what
  // a snapshot's own freeze costs it: parked.
  auto o = compare({capture("2026-12-03T10:00:00.250000Z", 1000, 5'000'000, 0x10, 7000),
                    capture("2026-12-03T10:12:30.750000Z", 21000, 900'000'000, 0x14, 8'007'000)});
  ASSERT_TRUE(o.span.compared) << o.span.not_compared;
  EXPECT_TRUE(o.span.one_process);
  EXPECT_EQ(o.span.cpu_from, "schedstat");
  EXPECT_EQ(o.span.tolerance_ns, 5'000'000u);
  ASSERT_TRUE(o.span.seconds);
  EXPECT_DOUBLE_EQ(*o.span.seconds, 750.5);
  EXPECT_EQ(o.span.captured_at_from, (std::vector<std::string>{"clock", "clock"}));
  EXPECT_EQ(o.span.threads.parked, 1u);
  EXPECT_EQ(o.span.threads.spinning, 1u);
  EXPECT_EQ(o.span.threads.woke, 1u);
  EXPECT_EQ(o.of("pool_loop").parked, 1u);
  EXPECT_EQ(o.of("spin").spinning, 1u);
  EXPECT_EQ(o.of("worker_sleep").woke, 1u);
  std::vector<const Group*> gs;
  for (const Group& g : o.groups) gs.push_back(&g);
  std::string text = detail::activity_text(o.span, gs, false);
  EXPECT_NE(text.find("12m30s apart: 1 parked, 1 spinning, 1 woke"), std::string::npos) << text;
  EXPECT_NE(text.find("1 thread in state condvar in pool_loop: 1 parked >= 12m30s"), std::string::npos) << text;
  EXPECT_NE(text.find("1 thread in state running in spin: 1 spinning"), std::string::npos) << text;
}

TEST(Activity, ChangedStackOtherWaitOrReusedTidCountsInNone) {
  Snapshot a = capture("2026-12-03T10:00:00Z", 1000, 5'000'000, 0x10, 7000);
  Snapshot b = capture("2026-12-03T10:00:01Z", 1000, 1000, 0x10, 7000);     // 44's CPU fell: a new thread
  b.threads[0].waiting_on->address = 0x2000;                                // another condvar
  b.threads[2].frames[1].rel_pc = 0x24;                                     // another call site
  auto o = compare({a, b});
  EXPECT_EQ(o.span.threads.total(), 0u);
  for (const Group& g : o.groups) EXPECT_EQ(g.activity->total(), 0u);
}

TEST(Activity, SeriesNeedsItInEveryInterval) {
  // The spinner spun, then stood still (parked in its own code): woke, not
  // spinning. The waiter stayed parked throughout; the sleeper woke once.
  auto o = compare({capture("2026-12-03T10:00:00Z", 1000, 5'000'000, 0x10, 7000),
                    capture("2026-12-03T10:00:10Z", 1000, 90'000'000, 0x14, 7000),
                    capture("2026-12-03T10:00:20Z", 1000, 90'000'000, 0x14, 9'000'000)});
  EXPECT_EQ(o.of("pool_loop").parked, 1u);
  EXPECT_EQ(o.of("spin").woke, 1u);
  EXPECT_EQ(o.of("worker_sleep").woke, 1u);
  EXPECT_DOUBLE_EQ(*o.span.seconds, 20.0);
}

TEST(Activity, NotComparedSaysWhy) {
  Snapshot a = capture("2026-12-03T10:00:00Z", 0, 0, 0x10, 0);
  Snapshot b = a;
  b.origin = "core.2";
  b.cpu_from = "";
  b.cpu_missing = "gdb's gcore records no CPU times in a core";
  auto o = compare({a, b});
  EXPECT_FALSE(o.span.compared);
  EXPECT_TRUE(o.span.one_process);
  EXPECT_EQ(o.span.not_compared, "core.2: gdb's gcore records no CPU times in a core");
  EXPECT_FALSE(o.groups[0].activity);
  b.cpu_from = "core-prstatus";
  EXPECT_EQ(compare({a, b}).span.not_compared,
            "CPU times from different sources (schedstat in 2026-12-03T10:00:00Z, core-prstatus in core.2)");
  b.pid = 7;
  o = compare({a, b});
  EXPECT_FALSE(o.span.one_process);
  EXPECT_EQ(o.span.not_compared, "not captures of one process");
}

TEST(Activity, TimesAndDurations) {
  EXPECT_DOUBLE_EQ(*detail::epoch_seconds("1970-01-01T00:01:40Z"), 100.0);
  EXPECT_DOUBLE_EQ(*detail::epoch_seconds("1970-01-01T00:01:40.5Z"), 100.5);
  EXPECT_FALSE(detail::epoch_seconds(""));
  EXPECT_FALSE(detail::epoch_seconds("1970-01-01 00:01:40"));
  EXPECT_FALSE(detail::epoch_seconds("1970-01-01T00:01:40.5"));
  EXPECT_EQ(detail::duration_text(0.4129), "412ms");
  EXPECT_EQ(detail::duration_text(12.46), "12.4s");
  EXPECT_EQ(detail::duration_text(750.5), "12m30s");
  EXPECT_EQ(detail::duration_text(3600 * 3 + 300), "3h05m");
  EXPECT_EQ(detail::duration_text(86400 * 2 + 3600 * 4), "2d04h");
}

TEST(ThreadCpu, ParsesProcTexts) {
  EXPECT_EQ(detail::schedstat_ns("819323 18986154 2\n"), 819323u);
  EXPECT_FALSE(detail::schedstat_ns(""));
  // A name with spaces and parentheses; utime 7, stime 5.
  EXPECT_EQ(detail::stat_ticks("1234 (a) b (c) S 1 1234 1234 0 -1 4194304 100 0 0 0 7 5 0 0 20 0 3 0\n"), 12u);
  EXPECT_FALSE(detail::stat_ticks("1234 (park) S 1 2"));
  EXPECT_FALSE(detail::stat_ticks("no name here"));
}

namespace {
void put_note(std::string& out, const char* name, std::uint32_t type, const std::string& desc) {
  std::uint32_t namesz = static_cast<std::uint32_t>(std::strlen(name) + 1);
  std::uint32_t hdr[3] = {namesz, static_cast<std::uint32_t>(desc.size()), type};
  out.append(reinterpret_cast<const char*>(hdr), sizeof hdr);
  out.append(name, namesz);
  out.append((4 - namesz % 4) % 4, '\0');
  out.append(desc);
  out.append((4 - desc.size() % 4) % 4, '\0');
}

std::string prstatus(int tid, std::int64_t utime_s, std::int64_t utime_us, std::int64_t stime_s, std::int64_t stime_us) {
  std::string d(336, '\0');
  std::memcpy(&d[32], &tid, 4);
  std::int64_t times[4] = {utime_s, utime_us, stime_s, stime_us};
  std::memcpy(&d[48], times, sizeof times);
  return d;
}
}  // namespace

TEST(CoreNotesCpu, UtimePlusStimeAndGdbsMark) {
  std::string seg;
  put_note(seg, "CORE", NT_PRSTATUS, prstatus(7, 1, 250000, 0, 5000));
  put_note(seg, "CORE", NT_PRSTATUS, prstatus(8, -1, 0, 0, 0));          // not a sane timeval
  put_note(seg, "CORE", NT_PRSTATUS, prstatus(9, 0, 2'000'000, 0, 0));   // nor this
  detail::CoreNotes n;
  detail::parse_core_notes(seg, n);
  ASSERT_EQ(n.threads.size(), 3u);
  EXPECT_EQ(n.threads[0].cpu_ns, 1'255'000'000u);
  EXPECT_FALSE(n.threads[1].cpu_ns);
  EXPECT_FALSE(n.threads[2].cpu_ns);
  EXPECT_FALSE(n.gdb_notes);
  put_note(seg, "GDB", 0xff0, "<target/>");
  detail::parse_core_notes(seg, n);
  EXPECT_TRUE(n.gdb_notes);
}

TEST(SnapshotFileCpu, KeepsCpuTimesAndWhereTheyCameFrom) {
  Snapshot s = capture("2026-12-03T10:00:00.123456Z", 1000, 5'000'000, 0x10, 7000);
  s.threads[2].cpu_ns.reset();
  Snapshot r = from_snapshot_json(to_snapshot_json(s), "s.json");
  EXPECT_EQ(r.captured_at, "2026-12-03T10:00:00.123456Z");
  EXPECT_EQ(r.captured_at_from, "clock");
  EXPECT_EQ(r.cpu_from, "schedstat");
  EXPECT_EQ(r.threads[0].cpu_ns, 1000u);
  EXPECT_EQ(r.threads[1].cpu_ns, 5'000'000u);
  EXPECT_FALSE(r.threads[2].cpu_ns);
  s.cpu_from = "";
  s.cpu_missing = "gdb's gcore records no CPU times in a core";
  EXPECT_EQ(from_snapshot_json(to_snapshot_json(s), "s.json").cpu_missing, s.cpu_missing);
}
