// The drawn wait-for graph on hand-built snapshots: which boxes and arrows
// there are (collapsed convoys, orphan owners, self-loops), that the cycle is
// a ring, and that no two boxes overlap.
#include <gtest/gtest.h>

#include "builders.hpp"
#include "report/hang_layout.hpp"

using threadleak::State;
using threadleak::detail::GraphLayout;
using threadleak::detail::GraphNode;

namespace {

void waits(threadleak::Snapshot& s, int tid, std::uint64_t addr, int owner) {
  auto t = tl_unit::thread(tid, State::mutex, {tl_unit::frame("__lll_lock_wait", 0x10, false, "libc.so.6"),
                                               tl_unit::frame("worker", 0x20, true)});
  threadleak::WaitTarget w;
  w.kind = "mutex";
  w.address = addr;
  w.futex = addr;
  w.owner = owner;
  t.waiting_on = w;
  s.threads.push_back(std::move(t));
}

void idle(threadleak::Snapshot& s, int tid) {
  s.threads.push_back(tl_unit::thread(tid, State::sleep, tl_unit::sleeper_stack()));
}

GraphLayout layout(threadleak::Snapshot& s) {
  std::sort(s.threads.begin(), s.threads.end(), [](const auto& a, const auto& b) { return a.tid < b.tid; });
  return threadleak::detail::layout_wait_graph(s, threadleak::analyze_hang(s));
}

void expect_no_overlap(const GraphLayout& g) {
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    const GraphNode& a = g.nodes[i];
    EXPECT_GE(a.x - GraphLayout::kNodeWidth / 2, 0);
    EXPECT_GE(a.y - GraphLayout::kNodeHeight / 2, 0);
    EXPECT_LE(a.x + GraphLayout::kNodeWidth / 2, g.width);
    EXPECT_LE(a.y + GraphLayout::kNodeHeight / 2, g.height);
    for (std::size_t j = i + 1; j < g.nodes.size(); ++j) {
      const GraphNode& b = g.nodes[j];
      bool apart = std::abs(a.x - b.x) >= GraphLayout::kNodeWidth || std::abs(a.y - b.y) >= GraphLayout::kNodeHeight;
      EXPECT_TRUE(apart) << a.tids.front() << " and " << b.tids.front() << " overlap";
    }
  }
}

const GraphNode& node_of(const GraphLayout& g, int tid) {
  for (const auto& n : g.nodes)
    if (n.kind != GraphNode::Kind::group && n.tids.front() == tid) return n;
  throw std::runtime_error("no node for " + std::to_string(tid));
}

}  // namespace

TEST(HangLayout, ConvoyCollapsesLeafWaitersOfOneLock) {
  threadleak::Snapshot s;
  idle(s, 1);                                         // holds 0xa
  waits(s, 2, 0xa, 1);                                // middle: holds 0xb
  for (int i = 0; i < 49; ++i) waits(s, 100 + i, 0xa, 1);
  for (int i = 0; i < 5; ++i) waits(s, 200 + i, 0xb, 2);
  GraphLayout g = layout(s);
  ASSERT_EQ(g.nodes.size(), 4u);
  ASSERT_EQ(g.edges.size(), 3u);
  EXPECT_EQ(node_of(g, 1).waiters, 50u);
  EXPECT_EQ(node_of(g, 2).waiters, 5u);
  std::vector<std::size_t> groups;
  for (const auto& n : g.nodes)
    if (n.kind == GraphNode::Kind::group) groups.push_back(n.tids.size());
  std::sort(groups.begin(), groups.end());
  EXPECT_EQ(groups, (std::vector<std::size_t>{5, 49}));
  // A tree downwards: holder on top, its waiters a layer below, theirs below them.
  EXPECT_LT(node_of(g, 1).y, node_of(g, 2).y);
  expect_no_overlap(g);
}

TEST(HangLayout, TwoWaitersStayTwoBoxes) {
  threadleak::Snapshot s;
  idle(s, 1);
  waits(s, 2, 0xa, 1);
  waits(s, 3, 0xa, 1);
  GraphLayout g = layout(s);
  EXPECT_EQ(g.nodes.size(), 3u);
  EXPECT_EQ(g.edges.size(), 2u);
  expect_no_overlap(g);
}

TEST(HangLayout, TwoCycleIsSideBySideWithOppositeBends) {
  threadleak::Snapshot s;
  waits(s, 11, 0xb, 12);
  waits(s, 12, 0xa, 11);
  waits(s, 13, 0xa, 11);  // waits behind the cycle
  GraphLayout g = layout(s);
  ASSERT_EQ(g.nodes.size(), 3u);
  EXPECT_TRUE(node_of(g, 11).cycle);
  EXPECT_TRUE(node_of(g, 12).cycle);
  EXPECT_FALSE(node_of(g, 13).cycle);
  EXPECT_EQ(node_of(g, 11).y, node_of(g, 12).y);
  EXPECT_LT(node_of(g, 11).x, node_of(g, 12).x);
  EXPECT_GT(node_of(g, 13).y, node_of(g, 11).y);  // below the ring
  int cycle_edges = 0;
  for (const auto& e : g.edges)
    if (e.cycle) {
      ++cycle_edges;
      EXPECT_NE(e.bend, 0);  // the two arrows curve apart (to the left of each's travel)
    }
  EXPECT_EQ(cycle_edges, 2);
  expect_no_overlap(g);
}

TEST(HangLayout, RingOfSixAndManyPiecesInRows) {
  threadleak::Snapshot s;
  for (int i = 0; i < 6; ++i) waits(s, 10 + i, 0x100 + static_cast<std::uint64_t>(i), 10 + (i + 1) % 6);
  for (int i = 0; i < 20; ++i) {  // 20 independent holder + waiter pairs
    idle(s, 1000 + 2 * i);
    waits(s, 1001 + 2 * i, 0x1000 + static_cast<std::uint64_t>(i), 1000 + 2 * i);
  }
  GraphLayout g = layout(s);
  EXPECT_EQ(g.nodes.size(), 46u);
  EXPECT_LE(g.width, threadleak::detail::kRowWidth);
  expect_no_overlap(g);
  // The first of the ring (lowest TID) on top of it.
  for (int i = 1; i < 6; ++i) EXPECT_LT(node_of(g, 10).y, node_of(g, 10 + i).y);
}

TEST(HangLayout, OrphanOwnerAndSelfLoop) {
  threadleak::Snapshot s;
  waits(s, 5, 0xa, 999);  // 999 exited holding 0xa
  waits(s, 6, 0xa, 999);
  waits(s, 7, 0xc, 7);    // waits for its own mutex
  GraphLayout g = layout(s);
  EXPECT_EQ(node_of(g, 999).kind, GraphNode::Kind::orphan);
  EXPECT_EQ(node_of(g, 999).waiters, 2u);
  EXPECT_TRUE(node_of(g, 7).self);
  int orphan = 0, self = 0;
  for (const auto& e : g.edges) {
    orphan += e.orphan;
    self += e.self;
  }
  EXPECT_EQ(orphan, 2);
  EXPECT_EQ(self, 1);
  expect_no_overlap(g);
}

TEST(HangLayout, NothingToDraw) {
  threadleak::Snapshot s;
  idle(s, 1);
  EXPECT_TRUE(layout(s).nodes.empty());
}

TEST(HangLayout, ShortFunction) {
  EXPECT_EQ(threadleak::detail::short_function("(anonymous namespace)::lock_in_order(std::mutex&, std::mutex&)"),
            "lock_in_order()");
  EXPECT_EQ(threadleak::detail::short_function("ns::Pool::run"), "ns::Pool::run");
}
