// Series (several snapshots) and the folded/HTML renderers on hand-built snapshots.
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
