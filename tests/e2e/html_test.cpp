// The HTML report opened in a real headless Chromium: the page's DOM (after
// its script ran) must show the groups, counts and highlighted growth; the
// page must load nothing from the network; a screenshot is taken.
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>

#include <gtest/gtest.h>

#include "chromium.hpp"
#include "harness.hpp"

using tl_test::Proc;
using tl_test::dump_dom;
using tl_test::expect_loads_nothing;
using tl_test::read_file;
using tl_test::screenshot;
using tl_test::unescape;

namespace {

struct Row {
  std::string cls, count, state, function;
};

std::vector<Row> rows(const std::string& dom) {
  static const std::regex re(R"re(<tbody class="group([^"]*)" data-count="(\d+)" data-state="([^"]*)" data-function="([^"]*)")re");
  std::vector<Row> out;
  for (std::sregex_iterator it(dom.begin(), dom.end(), re), end; it != end; ++it)
    out.push_back({(*it)[1], (*it)[2], unescape((*it)[3]), unescape((*it)[4])});
  return out;
}

std::string own(const std::string& fn) { return "(anonymous namespace)::" + fn; }

}  // namespace

TEST(HtmlInChromium, StacksPageShowsGroupsCountsAndIcicle) {
  Proc p({tl_test::sample_bin("park"), "--condvar", "3", "--mutex", "2", "--sleep", "4", "--read", "2"});
  EXPECT_EQ(p.expect("ready"), "ready 13");
  std::string dir = tl_test::temp_dir();
  std::string core = tl_test::gcore(p.pid(), dir);
  std::string page = dir + "/stacks.html";
  auto r = tl_test::run({tl_test::threadleak_bin(), "stacks", core, "--format", "html", "-o", page});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string text = read_file(page);
  std::string dom = dump_dom(page);
  expect_loads_nothing(text, dom);
  EXPECT_NE(dom.find("id=\"summary\">13 threads in 6 groups</p>"), std::string::npos);
  std::vector<std::string> got;
  for (const Row& row : rows(dom)) {
    EXPECT_EQ(row.cls, "");
    got.push_back(row.count + " " + row.state + " " + row.function);
  }
  EXPECT_EQ(got.size(), 6u);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"1 io " + own("wait_for_command()"), "1 sleep " + own("lock_holder()"),
                                           "2 io " + own("pipe_reader()"), "2 mutex " + own("lock_waiter()"),
                                           "3 condvar " + own("pool_worker()"), "4 sleep " + own("sleeper()")}));
  // Stacks are there with file:line, hidden until a row is opened.
  EXPECT_NE(dom.find("park.cpp:"), std::string::npos);
  EXPECT_NE(dom.find("<tr class=\"stack\" hidden=\"\">"), std::string::npos);
  // The icicle: its root box spans all 13 threads; state colours present.
  EXPECT_NE(dom.find("<svg id=\"icicle\""), std::string::npos);
  EXPECT_NE(dom.find("<title>all threads\n13 threads:"), std::string::npos);
  EXPECT_NE(dom.find("<g class=\"box s-sleep\"><title>" + own("sleeper()") + "\n4 threads: 4 sleep</title>"),
            std::string::npos);
  screenshot(page, dir + "/stacks.png");
}

TEST(HtmlInChromium, DiffPageHighlightsGrowthWithBaselineToCurrent) {
  Proc p({tl_test::sample_bin("leak"), "--requests", "3"});
  EXPECT_EQ(p.expect("ready"), "ready 4");
  std::string dir = tl_test::temp_dir();
  std::string core1 = tl_test::gcore(p.pid(), tl_test::temp_dir());
  p.send("more 5");
  EXPECT_EQ(p.expect("ready"), "ready 9");
  std::string core2 = tl_test::gcore(p.pid(), tl_test::temp_dir());
  std::string page = dir + "/diff.html";
  auto r = tl_test::run({tl_test::threadleak_bin(), "diff", core1, core2, "--format", "html", "-o", page});
  ASSERT_EQ(r.status, 1) << r.err;
  std::string text = read_file(page);
  std::string dom = dump_dom(page);
  expect_loads_nothing(text, dom);
  EXPECT_NE(dom.find("<body data-kind=\"diff\" data-grew=\"1\""), std::string::npos);
  EXPECT_NE(dom.find("1 group grew by 5 threads (4 -&gt; 9 threads, same process: new TIDs counted)"),
            std::string::npos);
  auto all = rows(dom);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].cls, " grew");  // grown first
  EXPECT_EQ(all[0].count, "8");
  EXPECT_EQ(all[0].state, "sleep");
  EXPECT_EQ(all[0].function, own("get_resource_b(std::shared_ptr<(anonymous namespace)::Call>)"));
  EXPECT_NE(dom.find("data-baseline=\"3\" data-current=\"8\""), std::string::npos);
  EXPECT_NE(dom.find("<td class=\"count\">3 → 8 (+5)</td>"), std::string::npos);
  EXPECT_EQ(all[1].cls, "");
  EXPECT_EQ(all[1].function, own("wait_for_command()"));
  EXPECT_NE(dom.find("<g class=\"box s-sleep marked\">"), std::string::npos);  // outlined in the icicle
  screenshot(page, dir + "/diff.png");
}

// leak: 2 leaked sleepers and a pool of 2; then 4 and 5; then 6 and 1.
TEST(HtmlInChromium, SeriesPageHighlightsTheLeakNotTheBreathingPool) {
  Proc p({tl_test::sample_bin("leak"), "--requests", "2"});
  EXPECT_EQ(p.expect("ready"), "ready 3");
  std::vector<std::string> cores;
  for (auto [more, pool] : {std::pair{"", "pool 2"}, {"more 2", "pool 5"}, {"more 2", "pool 1"}}) {
    if (*more) {
      p.send(more);
      p.expect("ready");
    }
    p.send(pool);
    p.expect("ready");
    cores.push_back(tl_test::gcore(p.pid(), tl_test::temp_dir()));
  }
  std::string dir = tl_test::temp_dir();
  std::string page = dir + "/series.html";
  auto r = tl_test::run({tl_test::threadleak_bin(), "diff", cores[0], cores[1], cores[2], "--format", "html", "-o", page});
  ASSERT_EQ(r.status, 1) << r.err;
  std::string text = read_file(page);
  std::string dom = dump_dom(page);
  expect_loads_nothing(text, dom);
  EXPECT_NE(dom.find("<body data-kind=\"series\" data-grew=\"1\""), std::string::npos);
  EXPECT_NE(dom.find("id=\"summary\">1 of 3 groups grew across 3 snapshots (5 -&gt; 10 -&gt; 8 threads)"),
            std::string::npos);
  static const std::regex re(R"re(<tbody class="group([^"]*)" data-counts="([^"]*)" data-grew="(\d)" data-state="([^"]*)" data-function="([^"]*)")re");
  std::vector<std::string> got;
  for (std::sregex_iterator it(dom.begin(), dom.end(), re), end; it != end; ++it)
    got.push_back(std::string((*it)[1]) + "|" + std::string((*it)[2]) + "|" + std::string((*it)[3]) + "|" +
                  std::string((*it)[4]) + "|" + unescape((*it)[5]));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], " grew|2 4 6|1|sleep|" + own("get_resource_b(std::shared_ptr<(anonymous namespace)::Call>)"));
  std::sort(got.begin() + 1, got.end());
  EXPECT_EQ(got[1], "|1 1 1|0|io|" + own("wait_for_command()"));
  EXPECT_EQ(got[2], "|2 5 1|0|condvar|" + own("pool_worker(int)"));
  EXPECT_NE(dom.find("<td class=\"count\">+4</td>"), std::string::npos);
  EXPECT_NE(dom.find("<g class=\"box s-sleep marked\">"), std::string::npos);  // outlined in the icicle
  screenshot(page, dir + "/series.png");
}
