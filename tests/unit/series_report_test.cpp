// Series (several snapshots) and the folded/HTML renderers on hand-built snapshots.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "builders.hpp"

using namespace threadleak;
using tl_unit::frame;
using tl_unit::snapshot;
using tl_unit::thread;

namespace {

// pid 42: `sleepers` leaked sleepers and `pool` pool threads (+ main).
Snapshot with(int sleepers, int pool) {
  Snapshot s = snapshot(42, sleepers, 1000);
  s.threads.erase(s.threads.begin() + 1, s.threads.begin() + 3);  // the builder's 2 pool threads
  for (int i = 0; i < pool; ++i) s.threads.push_back(thread(500 + i, State::condvar, tl_unit::pool_stack()));
  return s;
}

const SeriesEntry* find(const Series& s, const std::string& fn) {
  for (const auto& e : s.groups)
    if (first_own_frame(e.group.frames) && first_own_frame(e.group.frames)->function == fn) return &e;
  return nullptr;
}

}  // namespace

TEST(Series, OnlyTheMonotoneRiseLeaksNotTheBreathingPool) {
  Series s = series({with(2, 2), with(4, 5), with(6, 1)}, {});
  ASSERT_EQ(s.groups.size(), 3u);
  EXPECT_TRUE(s.grew());
  EXPECT_EQ(s.totals, (std::vector<std::size_t>{5, 10, 8}));
  const SeriesEntry* leak = find(s, "worker_sleep");
  const SeriesEntry* pool = find(s, "pool_loop");
  const SeriesEntry* main = find(s, "main");
  ASSERT_TRUE(leak && pool && main);
  EXPECT_EQ(&s.groups[0], leak);  // grown first
  EXPECT_TRUE(leak->grew);
  EXPECT_EQ(leak->counts, (std::vector<std::size_t>{2, 4, 6}));
  EXPECT_EQ(leak->growth(), 4u);
  EXPECT_FALSE(pool->grew);
  EXPECT_EQ(pool->counts, (std::vector<std::size_t>{2, 5, 1}));
  EXPECT_FALSE(main->grew);
}

TEST(Series, FlatStepsAllowedFallsNotAndMinGrowthCounts) {
  EXPECT_TRUE(series({with(2, 0), with(2, 0), with(3, 0)}, {}).grew());
  EXPECT_FALSE(series({with(2, 0), with(3, 0), with(2, 0), with(3, 0)}, {}).grew());
  DiffOptions o;
  o.min_growth = 2;
  EXPECT_FALSE(series({with(2, 0), with(2, 0), with(3, 0)}, o).grew());
  EXPECT_TRUE(series({with(1, 0), with(2, 0), with(3, 0)}, o).grew());
}

TEST(Series, GroupsAbsentSomewhereCountZeroAndIgnoreRulesApply) {
  Series s = series({with(0, 1), with(1, 0), with(2, 0)}, {});
  const SeriesEntry* leak = find(s, "worker_sleep");
  ASSERT_TRUE(leak);
  EXPECT_EQ(leak->counts, (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_TRUE(leak->grew);
  EXPECT_EQ(find(s, "pool_loop")->counts, (std::vector<std::size_t>{1, 0, 0}));
  DiffOptions o;
  o.ignore_top = {"worker_sleep"};
  Series ig = series({with(0, 1), with(1, 0), with(2, 0)}, o);
  EXPECT_FALSE(ig.grew());
  EXPECT_EQ(ig.ignored, 3u);
}

TEST(Folded, OutermostFirstOneLinePerDistinctStackLargestFirst) {
  Snapshot s = snapshot(42, 3, 100);
  s.threads.back().frames[1].rel_pc += 8;  // another pc in worker_sleep: another group, same folded line
  s.threads.push_back(thread(7, State::running, {frame("a;b", 0x1, true), frame("", 0x99, false, "lib.so")}));
  std::string out = render_folded(s, group(s, {}));
  EXPECT_EQ(out,
            "start_thread;worker_sleep;clock_nanosleep 3\n"
            "start_thread;pool_loop;pthread_cond_wait 2\n"
            "lib.so+0x99;a:b 1\n"
            "main;epoll_wait 1\n");
}

TEST(Folded, DiffCountsGrowth) {
  Diff d = diff(snapshot(42, 2, 100), snapshot(43, 7, 200), {});
  EXPECT_EQ(render_folded(d), "start_thread;worker_sleep;clock_nanosleep 5\n");
}

TEST(Html, EscapesNamesAndLoadsNothing) {
  Snapshot s = snapshot(42, 1, 100);
  s.threads[0].frames[1].function = "f<int>(\"x\" & 'y')";
  std::string page = render_html(s, group(s, {}));
  EXPECT_NE(page.find("f&lt;int&gt;(&quot;x&quot; &amp; &#39;y&#39;)"), std::string::npos);
  EXPECT_EQ(page.find("f<int>"), std::string::npos);
  EXPECT_EQ(page.find("http://"), std::string::npos);
  EXPECT_EQ(page.find("https://"), std::string::npos);
  EXPECT_NE(page.find("default-src 'none'"), std::string::npos);
  EXPECT_NE(page.find("4 threads in 3 groups"), std::string::npos);
}

// A symbol name that is not UTF-8 (read from a damaged or hostile binary)
// costs its bad bytes, not the document: U+FFFD in their place.
TEST(Json, NamesThatAreNotUtf8AreReplacedNotFatal) {
  Snapshot before = snapshot(42, 1, 100), after = snapshot(42, 3, 100);
  for (Snapshot* s : {&before, &after})
    for (Thread& t : s->threads) t.frames[1].function = "\xfb\xff\xff\xff" "f";
  std::string stacks = render_json(after, group(after, {}));
  EXPECT_NE(stacks.find("\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "f\""), std::string::npos) << stacks;
  EXPECT_FALSE(nlohmann::json::parse(stacks, nullptr, false).is_discarded());
  std::string d = render_json(diff(before, after, {}));
  EXPECT_FALSE(nlohmann::json::parse(d, nullptr, false).is_discarded()) << d;
  std::string file = to_snapshot_json(after);
  EXPECT_FALSE(nlohmann::json::parse(file, nullptr, false).is_discarded());
}

namespace {

// The park of tl_unit::snapshot, dressed: the main thread's epoll set
// watches a listening socket whose path needs escaping; the 6 sleepers each
// read their own pipe and were started by a routine without a symbol; one
// goroutine waits on a channel.
Snapshot dressed() {
  Snapshot s = snapshot(42, 6, 100);
  Thread& main = s.threads[0];
  main.syscall_name = "epoll_wait";
  main.start_kind = "main";
  main.descriptors = {{3, "epoll", "", std::nullopt, {}}, {23, "unix", "stream /run/<a&b>.sock LISTEN", 3, {}}};
  for (int i = 3; i < 9; ++i) {
    Thread& t = s.threads[static_cast<std::size_t>(i)];
    t.state = State::io;
    t.syscall_name = "read";
    t.start_kind = "pthread";
    t.created_by = frame("", 0x18fc0, true, "app");
    t.descriptors = {{10 + i, "pipe", fmt::format("pipe:[{}]", 4700 + i), std::nullopt, {}}};
  }
  Thread g = thread(0, State::condvar, {frame("runtime.gopark", 0x10, false), frame("main.worker", 0x20, true)});
  g.kind = Kind::goroutine;
  g.goid = 7;
  g.wait_reason = "chan receive";
  g.created_by = frame("main.main", 0x30, true);
  g.created_by->file = "/src/main.go";
  g.created_by->line = 12;
  s.threads.push_back(g);
  return s;
}

}  // namespace

// The page says of each group what the text report says, in its words, escaped.
TEST(Html, GroupsSayWhatTheyWaitOnAndWhoCreatedThemAsTheTextDoes) {
  Snapshot s = dressed();
  std::vector<Group> gs = group(s, {});
  std::string page = render_html(s, gs), text = render_text(s, gs, {});
  EXPECT_NE(page.find("id=\"summary\">9 threads, 1 goroutine in 4 groups</p>"), std::string::npos);
  EXPECT_NE(text.find("    1 thread in epoll_wait on epoll fd 3 watching 1 fd: unix stream /run/<a&b>.sock LISTEN (fd 23)\n"),
            std::string::npos) << text;
  EXPECT_NE(page.find("<div class=\"waits\">1 thread in epoll_wait on epoll fd 3 watching 1 fd: unix stream "
                      "/run/&lt;a&amp;b&gt;.sock LISTEN (fd 23)</div>"),
            std::string::npos);
  EXPECT_EQ(page.find("<a&b>"), std::string::npos);
  EXPECT_NE(page.find("<p class=\"meta created-by\">the main thread</p>"), std::string::npos);
  // 6 distinct sets: the largest 4 (ties by descriptors), then how many more, as text lists them.
  EXPECT_NE(text.find("    6 threads in read on 6 distinct descriptor sets:\n"
                      "      1 on pipe:[4703] (fd 13)\n      1 on pipe:[4704] (fd 14)\n"
                      "      1 on pipe:[4705] (fd 15)\n      1 on pipe:[4706] (fd 16)\n"
                      "      ... 2 more sets (--json lists them)\n"),
            std::string::npos) << text;
  EXPECT_NE(page.find("<div class=\"waits\">6 threads in read on 6 distinct descriptor sets:</div>"), std::string::npos);
  EXPECT_NE(page.find("<ul class=\"waits\"><li>1 on pipe:[4703] (fd 13)</li><li>1 on pipe:[4704] (fd 14)</li>"
                      "<li>1 on pipe:[4705] (fd 15)</li><li>1 on pipe:[4706] (fd 16)</li>"
                      "<li>... 2 more sets (--json lists them)</li></ul>"),
            std::string::npos) << page;
  EXPECT_NE(text.find("    created by app+0x18fc0\n"), std::string::npos) << text;
  EXPECT_NE(page.find("<p class=\"meta created-by\">created by app+0x18fc0</p>"), std::string::npos);
  // The goroutine: its wait reason as its state, its creator with file:line.
  EXPECT_NE(text.find("1 goroutine in state chan receive, with runtime.gopark on top of the stack: goroutines 7\n"),
            std::string::npos) << text;
  EXPECT_NE(page.find("<span class=\"state s-condvar\">chan receive</span>"), std::string::npos);
  EXPECT_NE(text.find("    created by main.main at /src/main.go:12\n"), std::string::npos) << text;
  EXPECT_NE(page.find("<p class=\"meta created-by\">created by main.main at /src/main.go:12</p>"), std::string::npos);
}
