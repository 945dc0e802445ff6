// Report formats on real cores: folded stacks line by line, colour in text,
// and a series of snapshots in which only the leak (not the pool) leaks.
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "harness.hpp"

using tl_test::Proc;

namespace {

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) v.push_back(l);
  return v;
}

// The folded line of a JSON group: frames outermost first, then the count.
std::string folded_from_json(const nlohmann::json& g) {
  std::string line;
  const auto& frames = g.at("frames");
  for (auto it = frames.rbegin(); it != frames.rend(); ++it) {
    if (!line.empty()) line += ';';
    line += it->at("function").get<std::string>();
  }
  return line + " " + std::to_string(g.at("count").get<int>());
}

std::string park_core(Proc& p) {
  EXPECT_EQ(p.expect("ready"), "ready 13");
  return tl_test::gcore(p.pid(), tl_test::temp_dir());
}

Proc start_park() {
  return Proc({tl_test::sample_bin("park"), "--condvar", "3", "--mutex", "2", "--sleep", "4", "--read", "2"});
}

}  // namespace

TEST(CoreFolded, ParkCoreOneLinePerStackOutermostFirst) {
  Proc p = start_park();
  std::string core = park_core(p);
  auto r = tl_test::run({tl_test::threadleak_bin(), "stacks", core, "--format", "folded"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<std::string> got = lines_of(r.out);
  ASSERT_EQ(got.size(), 6u) << r.out;
  // Line by line the same stacks as the JSON groups (ties may come in another order).
  auto j = tl_test::threadleak_json({"stacks", core});
  std::vector<std::string> want;
  for (const auto& g : j.at("groups")) want.push_back(folded_from_json(g));
  std::vector<std::string> got_sorted = got;
  std::sort(want.begin(), want.end());
  std::sort(got_sorted.begin(), got_sorted.end());
  EXPECT_EQ(got_sorted, want);
  // Known stacks: outermost is the thread start, own function in the middle,
  // the blocking call innermost; counts as parked.
  auto has = [&](const std::string& middle, const std::string& tail) {
    return std::count_if(got.begin(), got.end(), [&](const std::string& l) {
      return l.find(";(anonymous namespace)::" + middle + ";") != std::string::npos && l.ends_with(tail);
    });
  };
  EXPECT_EQ(has("sleeper()", " 4"), 1);
  EXPECT_EQ(has("pool_worker()", " 3"), 1);
  EXPECT_EQ(has("lock_waiter()", " 2"), 1);
  EXPECT_EQ(has("pipe_reader()", " 2"), 1);
  EXPECT_EQ(has("lock_holder()", " 1"), 1);
  EXPECT_EQ(got[0].substr(got[0].rfind(' ')), " 4");  // largest first
  for (const auto& l : got) {
    EXPECT_TRUE(l.starts_with("__clone3;start_thread;") || l.starts_with("_start;__libc_start_main")) << l;
    EXPECT_EQ(std::count(l.begin(), l.end(), '\n'), 0);
  }
  // The main thread: main -> wait_for_command -> ... -> read.
  EXPECT_EQ(std::count_if(got.begin(), got.end(), [](const std::string& l) {
              return l.find(";main;(anonymous namespace)::wait_for_command();") != std::string::npos && l.ends_with(" 1");
            }), 1);
}

TEST(CoreFolded, DiffFoldsTheGrowthOnly) {
  auto [core1, core2] = tl_test::leak_cores({"--requests", "3"}, "more 5");
  std::string out = tl_test::temp_dir() + "/grew.folded";
  auto r = tl_test::run({tl_test::threadleak_bin(), "diff", core1, core2, "--format", "folded", "-o", out});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(r.out, "");
  std::ifstream f(out);
  std::string all((std::istreambuf_iterator<char>(f)), {});
  auto got = lines_of(all);
  ASSERT_EQ(got.size(), 1u) << all;
  EXPECT_NE(got[0].find(";(anonymous namespace)::get_resource_b(std::shared_ptr<(anonymous namespace)::Call>);"),
            std::string::npos);
  EXPECT_TRUE(got[0].ends_with(" 5")) << got[0];
}

TEST(TextColor, AlwaysNeverAutoAndNoColor) {
  Proc p({tl_test::sample_bin("park"), "--sleep", "2"});
  p.expect("ready");
  std::string core = tl_test::gcore(p.pid(), tl_test::temp_dir());
  auto bin = tl_test::threadleak_bin();
  auto always = tl_test::run({bin, "stacks", core, "--color=always"});
  auto never = tl_test::run({bin, "stacks", core, "--color=never"});
  auto piped = tl_test::run({bin, "stacks", core});
  ASSERT_EQ(always.status, 0) << always.err;
  EXPECT_NE(always.out.find("in state \x1b[36msleep\x1b[0m"), std::string::npos) << always.out;
  EXPECT_NE(always.out.find("\x1b[1m=>"), std::string::npos);
  EXPECT_EQ(never.out.find('\x1b'), std::string::npos);
  EXPECT_EQ(piped.out.find('\x1b'), std::string::npos);  // auto: stdout is a file here
  // On a real terminal (script(1) gives one), auto colours unless NO_COLOR is set.
  std::string cmd = bin + " stacks " + core;
  auto tty = tl_test::run({"script", "-qec", cmd, "/dev/null"});
  EXPECT_NE(tty.out.find("\x1b[36msleep"), std::string::npos) << tty.out;
  auto no_color = tl_test::run({"script", "-qec", "NO_COLOR=1 " + cmd, "/dev/null"});
  EXPECT_EQ(no_color.out.find("\x1b["), std::string::npos);
  EXPECT_NE(no_color.out.find("in state sleep"), std::string::npos) << no_color.out;
  // --json and --format exclude each other.
  EXPECT_EQ(tl_test::run({bin, "stacks", core, "--json", "--format", "html"}).status, 2);
}

// leak: 2 leaked sleepers and a pool of 2; then 4 and 5; then 6 and 1.
TEST(CoreSeries, OnlyTheLeakLeaksNotTheBreathingPool) {
  Proc p({tl_test::sample_bin("leak"), "--requests", "2"});
  EXPECT_EQ(p.expect("ready"), "ready 3");
  p.send("pool 2");
  EXPECT_EQ(p.expect("ready"), "ready 5");
  p.wait_reading_stdin();
  std::string dir = tl_test::temp_dir();
  std::string core1 = tl_test::gcore(p.pid(), tl_test::temp_dir());
  p.send("more 2");
  p.expect("ready");
  p.send("pool 5");
  EXPECT_EQ(p.expect("ready"), "ready 10");
  p.wait_reading_stdin();
  // The middle one as a snapshot file: series mix cores and snapshot files.
  std::string snap2 = dir + "/s2.json";
  auto r = tl_test::run({tl_test::threadleak_bin(), "snapshot", "--pid", std::to_string(p.pid()), "-o", snap2});
  ASSERT_EQ(r.status, 0) << r.err;
  p.send("more 2");
  p.expect("ready");
  p.send("pool 1");
  EXPECT_EQ(p.expect("ready"), "ready 8");
  p.wait_reading_stdin();
  std::string core3 = tl_test::gcore(p.pid(), tl_test::temp_dir());

  auto j = tl_test::threadleak_json({"diff", core1, snap2, core3}, 1);
  EXPECT_EQ(j.at("kind"), "series");
  ASSERT_EQ(j.at("snapshots").size(), 3u);
  EXPECT_EQ(j.at("snapshots")[1].at("total"), 10);
  std::vector<std::string> grown, steady;
  for (const auto& g : j.at("groups")) {
    std::string line = g.at("state").get<std::string>() + " " + tl_test::own_function(g.at("frames")) + " " +
                       g.at("counts").dump();
    (g.at("grew").get<bool>() ? grown : steady).push_back(line);
  }
  EXPECT_EQ(grown, (std::vector<std::string>{
                         "sleep (anonymous namespace)::get_resource_b(std::shared_ptr<(anonymous namespace)::Call>) [2,4,6]"}));
  std::sort(steady.begin(), steady.end());
  EXPECT_EQ(steady, (std::vector<std::string>{"condvar (anonymous namespace)::pool_worker(int) [2,5,1]",
                                              "io (anonymous namespace)::wait_for_command() [1,1,1]"}));
  // A plain two-snapshot diff of the first two would also blame the pool.
  auto pair = tl_test::threadleak_json({"diff", core1, snap2}, 1);
  EXPECT_EQ(pair.at("grown").size(), 2u);
  // The text report names the leak with its counts; --min-growth 5 silences it.
  auto text = tl_test::run({tl_test::threadleak_bin(), "diff", core1, snap2, core3});
  EXPECT_EQ(text.status, 1);
  EXPECT_NE(text.out.find("summary: 1 of 3 groups grew across 3 snapshots (5 -> 10 -> 8 threads)"),
            std::string::npos) << text.out;
  EXPECT_NE(text.out.find("GREW +4: 2 -> 4 -> 6 in state sleep"), std::string::npos) << text.out;
  tl_test::threadleak_json({"diff", core1, snap2, core3, "--min-growth", "5"}, 0);
  // Folded: the leak only, counted by its growth (2 -> 6: 4).
  auto folded = tl_test::run({tl_test::threadleak_bin(), "diff", core1, snap2, core3, "--format", "folded"});
  EXPECT_EQ(folded.status, 1);
  ASSERT_EQ(std::count(folded.out.begin(), folded.out.end(), '\n'), 1) << folded.out;
  EXPECT_NE(folded.out.find(";(anonymous namespace)::get_resource_b("), std::string::npos) << folded.out;
  EXPECT_EQ(folded.out.substr(folded.out.size() - 3), " 4\n");
  // HTML: per group its counts, the leak highlighted, the pool not (Chromium: html_test).
  std::string page = dir + "/series.html";
  auto html = tl_test::run({tl_test::threadleak_bin(), "diff", core1, snap2, core3, "--format", "html", "-o", page});
  EXPECT_EQ(html.status, 1) << html.err;
  std::ifstream in(page);
  std::string html_text{std::istreambuf_iterator<char>(in), {}};
  EXPECT_NE(html_text.find("<tbody class=\"group grew\" data-counts=\"2 4 6\" data-grew=\"1\" data-state=\"sleep\""),
            std::string::npos);
  EXPECT_NE(html_text.find("<tbody class=\"group\" data-counts=\"2 5 1\" data-grew=\"0\" data-state=\"condvar\""),
            std::string::npos);
}
