// The HTML report opened in a real headless Chromium: the page's DOM (after
// its script ran) must show the groups, counts and highlighted growth; the
// page must load nothing from the network; a screenshot is taken.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

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

// Waits until `pid` has `n` threads, each in system call 232 (epoll_wait),
// 202 (futex), 230 (clock_nanosleep) or 35 (nanosleep): memcached settled.
void wait_settled(pid_t pid, std::size_t n) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::size_t count = 0, settled = 0;
    for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
      ++count;
      std::ifstream f(e.path() / "syscall");
      int nr = -1;
      f >> nr;
      settled += nr == 232 || nr == 202 || nr == 230 || nr == 35;
    }
    if (count == n && settled == n) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ADD_FAILURE() << "pid " << pid << " did not settle";
}

// The rows' text between a group's <tbody ...> and </tbody>, by fingerprint.
std::string row_of(const std::string& dom, const std::string& function) {
  auto at = dom.find("data-function=\"" + function + "\"");
  if (at == std::string::npos) return "";
  return dom.substr(at, dom.find("</tbody>", at) - at);
}

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

// Debian's memcached (stripped), live: each group says what its threads wait
// on in the words of the text report, and who created them, also unnamed.
TEST(HtmlInChromium, StacksPageOfMemcachedNamesWhatItsThreadsWaitOn) {
  if (access("/usr/bin/memcached", X_OK) != 0) GTEST_SKIP() << "memcached is missing: run scripts/install-deps.sh";
  std::string dir = tl_test::temp_dir(), sock = dir + "/mc.sock";
  Proc mc({"/usr/bin/memcached", "-u", "root", "-p", "0", "-U", "0", "-s", sock, "-t", "4"});
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!std::filesystem::exists(sock) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  wait_settled(mc.pid(), 10);
  std::string page = dir + "/mc.html";
  auto r = tl_test::run({tl_test::threadleak_bin(), "stacks", "--pid", std::to_string(mc.pid()), "--format", "html",
                         "-o", page});
  ASSERT_EQ(r.status, 0) << r.err;
  auto text = tl_test::run({tl_test::threadleak_bin(), "stacks", "--pid", std::to_string(mc.pid())});
  std::string dom = dump_dom(page);
  expect_loads_nothing(read_file(page), dom);
  EXPECT_NE(dom.find("id=\"summary\">10 threads in 7 groups</p>"), std::string::npos);
  // The main thread: the listening socket, the text report's very line;
  // its fds are those /proc shows: the epoll fd and the socket bound to `sock`.
  std::smatch fds;
  ASSERT_TRUE(std::regex_search(dom, fds, std::regex(R"re(<div class="waits">1 thread in epoll_wait on epoll fd (\d+) watching 1 fd: unix stream )re" +
                                                     sock + R"re( LISTEN \(fd (\d+)\)</div>)re")))
      << dom;
  std::string proc_fd = "/proc/" + std::to_string(mc.pid()) + "/fd/";
  EXPECT_EQ(std::filesystem::read_symlink(proc_fd + std::string(fds[1])).string(), "anon_inode:[eventpoll]");
  std::string link = std::filesystem::read_symlink(proc_fd + std::string(fds[2])).string();  // socket:[INODE]
  ASSERT_EQ(link.rfind("socket:[", 0), 0u) << link;
  std::string inode = link.substr(8, link.size() - 9);
  EXPECT_TRUE(std::regex_search(read_file("/proc/net/unix"), std::regex(" " + inode + " " + sock + "\n")));
  std::string listen = "1 thread in epoll_wait on epoll fd " + std::string(fds[1]) + " watching 1 fd: unix stream " + sock +
                       " LISTEN (fd " + std::string(fds[2]) + ")";
  EXPECT_NE(text.out.find("    " + listen + "\n"), std::string::npos) << text.out;
  auto main_row = dom.find("<div class=\"waits\">" + listen + "</div>");
  ASSERT_NE(main_row, std::string::npos) << dom;
  auto main_end = dom.find("</tbody>", main_row);
  EXPECT_NE(dom.substr(main_row, main_end - main_row).find("<p class=\"meta created-by\">the main thread</p>"),
            std::string::npos);
  // The 4 libevent workers, each on its own epoll set of one eventfd; their
  // start routine has no symbol: it is named as the text names it.
  auto workers = dom.find("<div class=\"waits\">4 threads in epoll_wait on 4 distinct descriptor sets:</div>");
  ASSERT_NE(workers, std::string::npos) << dom;
  std::string block = dom.substr(workers, dom.find("</tbody>", workers) - workers);
  static const std::regex set(R"re(<li>1 on epoll fd (\d+) watching 1 fd: anon_inode:\[eventfd\] \(fd (\d+)\)</li>)re");
  std::size_t sets = 0;
  for (std::sregex_iterator it(block.begin(), block.end(), set), end; it != end; ++it) {
    EXPECT_EQ(std::stoi((*it)[1]), std::stoi((*it)[2]) + 1);
    EXPECT_NE(text.out.find("      1 on epoll fd " + std::string((*it)[1]) + " watching 1 fd: anon_inode:[eventfd] (fd " +
                            std::string((*it)[2]) + ")\n"), std::string::npos) << text.out;
    ++sets;
  }
  EXPECT_EQ(sets, 4u);
  std::smatch creator;
  ASSERT_TRUE(std::regex_search(block, creator, std::regex(R"re(<p class="meta created-by">(created by memcached\+0x[0-9a-f]+)</p>)re")))
      << block;
  EXPECT_NE(text.out.find("    " + std::string(creator[1]) + "\n"), std::string::npos) << text.out;
  std::size_t creators = 0;
  for (std::size_t at = 0; (at = dom.find("<p class=\"meta created-by\">created by memcached+0x", at)) != std::string::npos; ++at)
    ++creators;
  EXPECT_EQ(creators, 6u);  // every group but the main thread's
  screenshot(page, dir + "/memcached.png");
}

// Two live snapshots of one process: the diff page says which threads stayed
// parked and which spun between them, as the text report does.
TEST(HtmlInChromium, DiffPageOfTwoLiveSnapshotsTellsParkedFromSpinning) {
  Proc p({tl_test::sample_bin("park"), "--condvar", "3", "--mutex", "2", "--sleep", "2", "--spin", "1"});
  EXPECT_EQ(p.expect("ready"), "ready 10");
  p.wait_reading_stdin();
  std::string dir = tl_test::temp_dir();
  for (const char* name : {"a", "b"}) {
    if (*name == 'b') std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto r = tl_test::run({tl_test::threadleak_bin(), "snapshot", "--pid", std::to_string(p.pid()), "-o",
                           dir + "/" + name + ".json"});
    ASSERT_EQ(r.status, 0) << r.err;
  }
  std::string page = dir + "/diff.html";
  auto r = tl_test::run({tl_test::threadleak_bin(), "diff", dir + "/a.json", dir + "/b.json", "--format", "html", "-o", page});
  ASSERT_EQ(r.status, 0) << r.err;
  auto text = tl_test::run({tl_test::threadleak_bin(), "diff", dir + "/a.json", dir + "/b.json"});
  std::string dom = dump_dom(page);
  expect_loads_nothing(read_file(page), dom);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(dom, m, std::regex(R"re(id="activity-summary">(activity between the captures, (\d+ms|\d+\.\ds) apart: 9 parked, 1 spinning, 0 woke \(same TIDs\))</p>)re")))
      << dom;
  std::string apart = m[2];
  EXPECT_NE(text.out.find("\n" + std::string(m[1]) + "\n"), std::string::npos) << text.out;
  EXPECT_NE(dom.find("<p class=\"meta\">times: recorded by threadleak at each capture; CPU: "
                     "/proc/PID/task/TID/schedstat (ns), parked = at most "),
            std::string::npos);
  EXPECT_NE(dom.find("<li class=\"spinning\" data-fingerprint=\""), std::string::npos);
  EXPECT_NE(dom.find("\">1 thread in state running in " + own("spinner()") + ": 1 spinning</li>"), std::string::npos);
  EXPECT_NE(dom.find("\">3 threads in state condvar in " + own("pool_worker()") + ": 3 parked &gt;= " + apart + "</li>"),
            std::string::npos) << dom;
  EXPECT_NE(text.out.find("  3 threads in state condvar in " + own("pool_worker()") + ": 3 parked >= " + apart + "\n"),
            std::string::npos) << text.out;
  // Per row too.
  EXPECT_NE(row_of(dom, own("spinner()")).find("<div class=\"activity spinning\" data-parked=\"0\" data-spinning=\"1\" "
                                              "data-woke=\"0\">1 spinning</div>"),
            std::string::npos);
  EXPECT_NE(row_of(dom, own("pool_worker()")).find("<div class=\"activity\" data-parked=\"3\" data-spinning=\"0\" "
                                                  "data-woke=\"0\">3 parked &gt;= " + apart + "</div>"),
            std::string::npos);
  screenshot(page, dir + "/activity.png");
}
