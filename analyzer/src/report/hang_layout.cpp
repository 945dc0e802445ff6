// Laying out the wait-for graph for the HTML hang report (see layout.hpp).
#include "report/hang_layout.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numbers>
#include <set>
#include <tuple>

namespace threadleak::detail {
namespace {

using Kind = GraphNode::Kind;
constexpr double kW = GraphLayout::kNodeWidth, kH = GraphLayout::kNodeHeight;
constexpr double kSlot = kW + 30;    // one column of a tree
constexpr double kLayer = kH + 74;   // one layer of a tree (room for edge labels)
constexpr double kMargin = 28;       // around each piece: curved edges and labels
constexpr double kGap = 24;          // between pieces
constexpr double kRingBulge = 32;    // more room around a ring

struct Wait {
  int waiter = 0, owner = 0;
  std::uint64_t lock = 0;
  std::string kind;
};

// The graph's edges, from the report's waited objects: every waiter of a
// lock with a recorded owner (a condvar has none).
std::vector<Wait> owned_waits(const HangReport& h) {
  std::vector<Wait> out;
  for (const WaitedObject& o : h.objects)
    if (o.owner && o.kind != "condvar")
      for (int waiter : o.waiters) out.push_back({waiter, *o.owner, o.address, o.kind});
  std::sort(out.begin(), out.end(), [](const Wait& a, const Wait& b) { return a.waiter < b.waiter; });
  return out;
}

class GraphBuilder {
 public:
  GraphBuilder(const Snapshot& s, const HangReport& h) : waits_(owned_waits(h)) {
    for (const Thread& t : s.threads) tids_.insert(t.tid);
    for (const Deadlock& d : h.deadlocks) cycle_.insert(d.threads.begin(), d.threads.end());
    for (const SelfDeadlock& d : h.self_deadlocks) self_.insert(d.tid);
    if (h.crash) crash_ = h.crash->tid;
  }

  GraphLayout build() {
    std::set<int> collapsed = collapse_leaves();
    for (const Wait& w : waits_)
      if (!collapsed.count(w.waiter)) add_edge(node(w.waiter), w, 1);
    if (crash_ && tids_.count(crash_)) node(crash_);
    for (const GraphEdge& e : g_.edges)
      if (!e.self) g_.nodes[e.to].waiters += e.threads;
    return std::move(g_);
  }

 private:
  std::size_t node(int tid) {
    auto [it, fresh] = index_.emplace(tid, g_.nodes.size());
    if (!fresh) return it->second;
    GraphNode n;
    n.kind = tids_.count(tid) ? Kind::thread : Kind::orphan;
    n.tids = {tid};
    n.cycle = cycle_.count(tid) > 0;
    n.self = self_.count(tid) > 0;
    n.crashed = tid == crash_;
    g_.nodes.push_back(n);
    return it->second;
  }

  void add_edge(std::size_t from, const Wait& w, std::size_t threads) {
    GraphEdge e;
    e.from = from;
    e.to = node(w.owner);
    e.lock = w.lock;
    e.kind = w.kind;
    e.threads = threads;
    e.self = w.waiter == w.owner;
    e.cycle = !e.self && cycle_.count(w.waiter) > 0;
    e.orphan = !tids_.count(w.owner);
    g_.edges.push_back(e);
  }

  // Waiters nobody waits for, on one lock of one owner: kCollapseAt or more
  // become one group node. Returns the TIDs so collapsed.
  std::set<int> collapse_leaves() {
    std::set<int> waited_for;
    for (const Wait& w : waits_)
      if (w.waiter != w.owner) waited_for.insert(w.owner);
    std::map<std::tuple<int, std::uint64_t, std::string>, std::vector<int>> same;
    for (const Wait& w : waits_)
      if (!waited_for.count(w.waiter) && w.waiter != w.owner && w.waiter != crash_)
        same[{w.owner, w.lock, w.kind}].push_back(w.waiter);
    std::set<int> out;
    for (const auto& [key, members] : same) {
      if (members.size() < kCollapseAt) continue;
      GraphNode n;
      n.kind = Kind::group;
      n.tids = members;
      g_.nodes.push_back(n);
      Wait w{members.front(), std::get<0>(key), std::get<1>(key), std::get<2>(key)};
      add_edge(g_.nodes.size() - 1, w, members.size());
      out.insert(members.begin(), members.end());
    }
    return out;
  }

  std::vector<Wait> waits_;
  std::set<int> tids_, cycle_, self_;
  int crash_ = 0;
  std::map<int, std::size_t> index_;
  GraphLayout g_;
};

struct Piece {
  std::vector<std::size_t> nodes;
  bool ring = false;
  std::size_t threads = 0;
  int first_tid = 0;
};

class Placer {
 public:
  explicit Placer(GraphLayout& g) : g_(g), kids_(g.nodes.size()), out_(g.nodes.size(), false) {
    for (const GraphEdge& e : g.edges) {
      out_[e.from] = out_[e.from] || !e.self;
      if (!e.self && !e.cycle) kids_[e.to].push_back(e.from);
    }
    for (auto& k : kids_)
      std::sort(k.begin(), k.end(), [&](std::size_t a, std::size_t b) { return g.nodes[a].tids < g.nodes[b].tids; });
  }

  void place(const HangReport& h) {
    std::vector<Piece> pieces;
    std::map<int, std::size_t> by_tid;
    for (std::size_t i = 0; i < g_.nodes.size(); ++i)
      if (g_.nodes[i].kind != Kind::group) by_tid[g_.nodes[i].tids.front()] = i;
    for (const Deadlock& d : h.deadlocks) {
      std::vector<std::size_t> ring;
      for (int tid : d.threads) ring.push_back(by_tid.at(tid));
      pieces.push_back(place_ring(ring));
    }
    std::vector<Piece> trees;
    for (std::size_t i = 0; i < g_.nodes.size(); ++i)
      if (!out_[i] && !g_.nodes[i].cycle) trees.push_back(place_root(i));
    std::sort(trees.begin(), trees.end(), [](const Piece& a, const Piece& b) {
      return a.threads != b.threads ? a.threads > b.threads : a.first_tid < b.first_tid;
    });
    pieces.insert(pieces.end(), trees.begin(), trees.end());
    pack(pieces);
  }

 private:
  // Places n's subtree, leaves from column `col` on, n at layer `depth`
  // below y0; returns the next free column.
  double place_tree(std::size_t n, int depth, double col, double y0, Piece& p) {
    GraphNode& node = g_.nodes[n];
    p.nodes.push_back(n);
    node.y = y0 + depth * kLayer;
    double next = col;
    for (std::size_t k : kids_[n]) next = place_tree(k, depth + 1, next, y0, p);
    if (kids_[n].empty()) {
      node.x = col * kSlot;
      next = col + 1;
    } else {
      node.x = (g_.nodes[kids_[n].front()].x + g_.nodes[kids_[n].back()].x) / 2;
    }
    if (node.self) next = std::max(next, node.x / kSlot + 1 + GraphLayout::kSelfLoopRoom / kSlot);
    return next;
  }

  Piece place_root(std::size_t n) {
    Piece p;
    place_tree(n, 0, 0, 0, p);
    finish(p);
    return p;
  }

  // A cycle as an ellipse: two members side by side, three or more with the
  // first on top, clockwise. Trees of the members' other waiters below it.
  Piece place_ring(const std::vector<std::size_t>& ring) {
    Piece p;
    p.ring = true;
    const double n = static_cast<double>(ring.size());
    const double r = n * (kW + 40) / (2 * std::numbers::pi);
    const double rx = ring.size() == 2 ? kW * 0.85 : std::max(r * 1.6, kW * 1.2), ry = std::max(r, 100.0);
    for (std::size_t i = 0; i < ring.size(); ++i) {
      double a = ring.size() == 2 ? std::numbers::pi * (1 + static_cast<double>(i))
                                  : -std::numbers::pi / 2 + 2 * std::numbers::pi * static_cast<double>(i) / n;
      g_.nodes[ring[i]].x = rx * std::cos(a);
      g_.nodes[ring[i]].y = ry * std::sin(a);
      p.nodes.push_back(ring[i]);
    }
    for (GraphEdge& e : g_.edges)  // outward: the renderer bends to the left of travel
      if (e.cycle && std::count(ring.begin(), ring.end(), e.from)) e.bend = ring.size() == 2 ? 56 : 34;
    Piece trees;
    double col = 0;
    for (std::size_t m : ring)
      for (std::size_t k : kids_[m]) col = place_tree(k, 1, col, ry, trees);
    double shift = -(col - 1) * kSlot / 2;
    for (std::size_t t : trees.nodes) g_.nodes[t].x += shift;
    p.nodes.insert(p.nodes.end(), trees.nodes.begin(), trees.nodes.end());
    finish(p);
    return p;
  }

  void finish(Piece& p) {
    p.first_tid = g_.nodes[p.nodes.front()].tids.front();
    for (std::size_t n : p.nodes) p.threads += g_.nodes[n].tids.size();
  }

  struct Box {
    double x0, y0, x1, y1;
  };
  Box bounds(const Piece& p) const {
    Box b{1e18, 1e18, -1e18, -1e18};
    for (std::size_t n : p.nodes) {
      const GraphNode& node = g_.nodes[n];
      b.x0 = std::min(b.x0, node.x - kW / 2);
      b.x1 = std::max(b.x1, node.x + kW / 2 + (node.self ? GraphLayout::kSelfLoopRoom : 0));
      b.y0 = std::min(b.y0, node.y - kH / 2);
      b.y1 = std::max(b.y1, node.y + kH / 2);
    }
    double bulge = p.ring ? kRingBulge : 0;  // a ring's arrows curve out, their labels beyond them
    return {b.x0 - kMargin - bulge, b.y0 - kMargin - bulge, b.x1 + kMargin + bulge, b.y1 + kMargin + bulge};
  }

  // Rows, left to right, no wider than kRowWidth (a wider piece gets a row
  // of its own and the drawing scrolls).
  void pack(const std::vector<Piece>& pieces) {
    double x = 0, y = 0, row_h = 0;
    for (const Piece& p : pieces) {
      Box b = bounds(p);
      double w = b.x1 - b.x0, h = b.y1 - b.y0;
      if (x > 0 && x + w > kRowWidth) {
        y += row_h + kGap;
        x = row_h = 0;
      }
      for (std::size_t n : p.nodes) {
        g_.nodes[n].x = std::round(g_.nodes[n].x + x - b.x0);  // whole pixels: crisp, and equal where meant
        g_.nodes[n].y = std::round(g_.nodes[n].y + y - b.y0);
      }
      x += w + kGap;
      row_h = std::max(row_h, h);
      g_.width = std::max(g_.width, x - kGap);
    }
    g_.height = y + row_h;
  }

  GraphLayout& g_;
  std::vector<std::vector<std::size_t>> kids_;  // waiting nodes of each node (not along a cycle, not itself)
  std::vector<bool> out_;                       // the node waits for another node
};

}  // namespace

GraphLayout layout_wait_graph(const Snapshot& snap, const HangReport& h) {
  GraphLayout g = GraphBuilder(snap, h).build();
  Placer(g).place(h);
  return g;
}

}  // namespace threadleak::detail
