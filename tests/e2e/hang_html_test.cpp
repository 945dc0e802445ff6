// `threadleak hang --format html` on real cores of samples/cpp/hang_zoo,
// opened in headless Chromium: from the page's DOM, the wait-for graph's
// nodes are exactly the cycle's threads, its red edges the cycle's waits with
// their lock addresses, a convoy's 50 waiters one box and arrow; the page
// loads nothing; a screenshot is taken. Also: --format json is --json, -o
// writes the file, folded is the snapshot's folded stacks.
#include <map>
#include <regex>
#include <set>

#include <gtest/gtest.h>

#include "chromium.hpp"
#include "hang_zoo.hpp"

using namespace tl_test;

namespace {

struct Node {
  std::string cls;
  int tid = 0;        // a thread or an exited owner
  int count = 0;      // a group of collapsed waiters
  int waiters = 0;
};

std::vector<Node> nodes(const std::string& dom) {
  static const std::regex re(
      R"re(<g class="node ([^"]*)" (?:data-tid="(\d+)"|data-tids="[^"]*" data-count="(\d+)") data-waiters="(\d+)">)re");
  std::vector<Node> out;
  for (std::sregex_iterator it(dom.begin(), dom.end(), re), end; it != end; ++it)
    out.push_back({(*it)[1], (*it)[2].matched ? std::stoi((*it)[2]) : 0, (*it)[3].matched ? std::stoi((*it)[3]) : 0,
                   std::stoi((*it)[4])});
  return out;
}

struct Edge {
  std::string cls;
  int from = 0, to = 0;
  std::string lock, kind;
  int threads = 0;
};

std::vector<Edge> edges(const std::string& dom) {
  static const std::regex re(
      R"re(<g class="edge([^"]*)" data-from="(\d+)" data-to="(\d+)" data-lock="(0x[0-9a-f]+)" data-kind="(\w+)" data-threads="(\d+)">)re");
  std::vector<Edge> out;
  for (std::sregex_iterator it(dom.begin(), dom.end(), re), end; it != end; ++it)
    out.push_back({(*it)[1], std::stoi((*it)[2]), std::stoi((*it)[3]), (*it)[4], (*it)[5], std::stoi((*it)[6])});
  return out;
}

bool has(const std::string& cls, const std::string& word) {
  return (" " + cls + " ").find(" " + word + " ") != std::string::npos;
}

// Writes the page of `core` (expecting `status`), returns {page text, DOM}.
std::pair<std::string, std::string> page_of(const std::string& core, const std::string& page, int status) {
  Result r = run({threadleak_bin(), "hang", core, "--format", "html", "-o", page});
  EXPECT_EQ(r.status, status) << r.err;
  EXPECT_EQ(r.out, "");
  std::string text = read_file(page);
  return {text, dump_dom(page)};
}

// "FROM->TO LOCK" for every red edge, sorted.
std::set<std::string> red_edges(const std::string& dom) {
  std::set<std::string> out;
  for (const Edge& e : edges(dom))
    if (has(e.cls, "cycle")) out.insert(std::to_string(e.from) + "->" + std::to_string(e.to) + " " + e.lock);
  return out;
}

std::set<int> node_tids(const std::string& dom, const std::string& with_class) {
  std::set<int> out;
  for (const Node& n : nodes(dom))
    if (n.tid && (with_class.empty() || has(n.cls, with_class))) out.insert(n.tid);
  return out;
}

std::string lock_label(const std::string& lock) { return "\">mutex " + lock + "</text></g>"; }

void expect_cycle_page(const Zoo& z, const std::vector<std::string>& names, const std::vector<std::string>& locks,
                       const std::string& png) {
  std::string dir = temp_dir();
  auto [text, dom] = page_of(gcore(z.pid(), dir), dir + "/hang.html", 1);
  expect_loads_nothing(text, dom);
  std::set<int> cycle;
  std::set<std::string> red;
  for (std::size_t i = 0; i < names.size(); ++i) {
    int tid = z.tid.at(names[i]), next = z.tid.at(names[(i + 1) % names.size()]);
    cycle.insert(tid);
    red.insert(std::to_string(tid) + "->" + std::to_string(next) + " " + z.lock.at(locks[i]));
  }
  EXPECT_EQ(node_tids(dom, "cycle"), cycle);
  EXPECT_EQ(node_tids(dom, ""), cycle) << "only the cycle's threads wait or own";
  EXPECT_EQ(red_edges(dom), red);
  EXPECT_EQ(edges(dom).size(), names.size());
  for (const auto& l : locks) EXPECT_NE(dom.find(lock_label(z.lock.at(l))), std::string::npos) << l;
  EXPECT_NE(dom.find("<body data-kind=\"hang\" data-deadlocked=\"1\" data-deadlocks=\"1\""), std::string::npos);
  EXPECT_NE(dom.find("id=\"summary\">DEADLOCK: 1 deadlock cycle, 0 self-deadlocks"), std::string::npos);
  // The deadlock's threads, each with its stack behind a click; the groups below.
  for (int tid : cycle) EXPECT_NE(dom.find("<details class=\"thread\" data-tid=\"" + std::to_string(tid)), std::string::npos);
  EXPECT_NE(dom.find("lock_in_order("), std::string::npos);
  EXPECT_NE(dom.find("<table id=\"groups\">"), std::string::npos);
  EXPECT_NE(dom.find("<svg id=\"icicle\""), std::string::npos);
  screenshot(dir + "/hang.html", dir + "/" + png);
}

}  // namespace

TEST(HangHtml, AbbaTwoNodesTwoRedEdges) {
  Zoo z = start_zoo("abba");
  expect_cycle_page(z, {"A", "B"}, {"b", "a"}, "abba.png");
}

TEST(HangHtml, Cycle3ThreeNodesThreeRedEdges) {
  Zoo z = start_zoo("cycle3");
  expect_cycle_page(z, {"T1", "T2", "T3"}, {"b", "c", "a"}, "cycle3.png");
}

TEST(HangHtml, ConvoyCollapsesWaitersBehindTheBlocker) {
  Zoo z = start_zoo("convoy");
  std::string dir = temp_dir();
  auto [text, dom] = page_of(gcore(z.pid(), dir), dir + "/convoy.html", 0);
  expect_loads_nothing(text, dom);
  int holder = z.tid["holder"], middle = z.tid["middle"];
  std::map<int, Node> threads;
  std::vector<int> groups;
  for (const Node& n : nodes(dom)) {
    EXPECT_FALSE(has(n.cls, "cycle"));
    if (n.tid) threads[n.tid] = n;
    else groups.push_back(n.count);
  }
  ASSERT_EQ(threads.size(), 2u);  // holder and middle; all other waiters in two boxes
  EXPECT_TRUE(has(threads[holder].cls, "blocker")) << threads[holder].cls;
  EXPECT_EQ(threads[holder].waiters, 50);
  EXPECT_EQ(threads[middle].waiters, 5);
  std::sort(groups.begin(), groups.end());
  EXPECT_EQ(groups, (std::vector<int>{5, 49}));
  int into_holder = 0;
  for (const Edge& e : edges(dom)) {
    EXPECT_EQ(e.cls, "");
    if (e.to == holder) {
      into_holder += e.threads;
      EXPECT_EQ(e.lock, z.lock["m"]);
    }
  }
  EXPECT_EQ(into_holder, 50);
  EXPECT_NE(dom.find(">49 threads</text>"), std::string::npos);
  EXPECT_NE(dom.find("<div class=\"finding blocker\" data-tid=\"" + std::to_string(holder) +
                     "\" data-waiters=\"50\" data-transitive=\"55\">"),
            std::string::npos);
  EXPECT_NE(dom.find("id=\"summary\">no deadlock: 0 deadlock cycles, 0 self-deadlocks, 2 blockers, "
                     "0 orphaned locks, 55 threads blocked on locks; no crash</p>"),
            std::string::npos);
  screenshot(dir + "/convoy.html", dir + "/convoy.png");
}

// Orphaned locks and self-deadlocks are drawn apart (page text; no browser).
TEST(HangHtml, OrphanAndSelfDrawnDistinctly) {
  Zoo orphan = start_zoo("orphan");
  std::string dir = temp_dir();
  Result r = run({threadleak_bin(), "hang", gcore(orphan.pid(), dir), "--format", "html", "-o", dir + "/o.html"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string page = read_file(dir + "/o.html");
  std::string owner = std::to_string(orphan.tid["owner"]);
  EXPECT_NE(page.find("<g class=\"node orphan\" data-tid=\"" + owner + "\" data-waiters=\"2\">"), std::string::npos);
  int orphan_edges = 0;
  for (const Edge& e : edges(page)) orphan_edges += has(e.cls, "orphan") && std::to_string(e.to) == owner;
  EXPECT_EQ(orphan_edges, 2);

  Zoo self = start_zoo("self");
  r = run({threadleak_bin(), "hang", gcore(self.pid(), dir), "--format", "html", "-o", dir + "/s.html"});
  ASSERT_EQ(r.status, 1) << r.err;
  page = read_file(dir + "/s.html");
  int tid = self.tid["self"];
  EXPECT_EQ(node_tids(page, "self"), std::set<int>{tid});
  auto all = edges(page);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].cls, " self");
  EXPECT_EQ(all[0].from, tid);
  EXPECT_EQ(all[0].to, tid);
  EXPECT_EQ(all[0].lock, self.lock["self"]);
}

TEST(HangFormats, JsonIsJsonFlagOutputWritesFileFoldedIsTheSnapshotsColorOnRequest) {
  Zoo z = start_zoo("abba");
  std::string dir = temp_dir();
  std::string core = gcore(z.pid(), dir);
  Result flag = run({threadleak_bin(), "hang", core, "--json"});
  ASSERT_EQ(flag.status, 1) << flag.err;
  Result fmt = run({threadleak_bin(), "hang", core, "--format", "json", "-o", dir + "/h.json"});
  ASSERT_EQ(fmt.status, 1) << fmt.err;
  EXPECT_EQ(fmt.out, "");
  EXPECT_EQ(read_file(dir + "/h.json"), flag.out);
  EXPECT_EQ(nlohmann::json::parse(flag.out).at("kind"), "hang");
  Result text = run({threadleak_bin(), "hang", core, "--format", "text"});
  EXPECT_EQ(text.status, 1);
  EXPECT_EQ(text.out.rfind("hang: DEADLOCK: 1 cycle, 0 self-deadlocks\n", 0), 0u) << text.out;
  EXPECT_EQ(run({threadleak_bin(), "hang", core}).out, text.out);
  EXPECT_EQ(text.out.find('\x1b'), std::string::npos) << "not a terminal: no colour";
  Result color = run({threadleak_bin(), "hang", core, "--color", "always"});
  EXPECT_EQ(color.status, 1);
  EXPECT_EQ(color.out.rfind("hang: \x1b[1;31mDEADLOCK\x1b[0m: 1 cycle", 0), 0u) << color.out;
  Result folded = run({threadleak_bin(), "hang", core, "--format", "folded"});
  EXPECT_EQ(folded.status, 1);
  Result stacks = run({threadleak_bin(), "stacks", core, "--format", "folded"});
  ASSERT_EQ(stacks.status, 0);
  EXPECT_EQ(folded.out, stacks.out);
  EXPECT_NE(folded.out.find("lock_in_order("), std::string::npos);
  Result both = run({threadleak_bin(), "hang", core, "--json", "--format", "html"});
  EXPECT_EQ(both.status, 2);
  Result bad = run({threadleak_bin(), "hang", core, "-o", dir + "/no/such/dir/x.html", "--format", "html"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("cannot write output"), std::string::npos) << bad.err;
}

// A Go program whose goroutines are all asleep: the finding and the
// goroutines per sync.Mutex, in the page (no owner: no arrows).
TEST(HangHtml, GoAllAsleepAndGoroutinesPerMutex) {
  Proc p({std::string(GO_SAMPLES_DIR) + "/gohang", "deadlock"});
  std::string mu1 = p.expect("mu1 ").substr(4);
  EXPECT_EQ(p.expect("ready"), "ready 14");
  std::string dir = temp_dir();
  Result r = run({threadleak_bin(), "hang", gcore(p.pid(), dir), "--format", "html", "-o", dir + "/go.html"});
  ASSERT_EQ(r.status, 1) << r.err;
  std::string page = read_file(dir + "/go.html");
  EXPECT_NE(page.find("<body data-kind=\"hang\" data-deadlocked=\"1\" data-deadlocks=\"0\""), std::string::npos);
  EXPECT_NE(page.find("; ALL GOROUTINES ARE ASLEEP (13 user goroutines); no crash</p>"), std::string::npos);
  EXPECT_NE(page.find("<div class=\"finding go deadlock\" data-all-asleep=\"1\">"), std::string::npos);
  EXPECT_NE(page.find("<p class=\"finding object\" data-kind=\"go-mutex\" data-address=\"" + mu1 +
                      "\">go-mutex " + mu1 + ", no owner recorded: 7 goroutines waiting: goroutines "),
            std::string::npos);
  EXPECT_TRUE(edges(page).empty());
}
