// The wait-for graph as the HTML hang report draws it: boxes and arrows with
// positions, computed here so the page needs no layout library.
//
// Nodes are threads (waiters and lock owners), the exited owner of an
// orphaned lock, and "N threads": waiters that nobody waits for, blocked on
// the same lock of the same owner, collapsed into one box when there are at
// least kCollapseAt of them (a convoy of 50 is one box and one arrow, not 50).
// Edges run waiter -> owner, one per waiting node.
//
// Layout, per connected piece of the graph (each has at most one cycle,
// since every thread waits for one lock at most): a deadlock cycle is a
// ring (an ellipse, lowest TID first, at the top for three or more); a
// thread that waits for nobody is the root of a tree drawn downwards, its
// waiters one layer below it, theirs below them; the trees that hang off a
// ring go under it. Leaves take consecutive columns and parents sit centred
// over their children, so no two boxes overlap. Pieces are placed left to
// right in rows no wider than kRowWidth (deadlocks first, then largest).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "threadleak/hang.hpp"

namespace threadleak::detail {

struct GraphNode {
  enum class Kind { thread, group, orphan };
  Kind kind = Kind::thread;
  std::vector<int> tids;     // thread: its TID; group: the collapsed waiters, sorted; orphan: the exited owner
  double x = 0, y = 0;       // centre, in SVG user units (pixels)
  bool cycle = false;        // in a deadlock cycle
  bool self = false;         // waits for a mutex it holds itself
  bool crashed = false;      // took the crash signal
  std::size_t waiters = 0;   // threads waiting directly for a lock it holds
};

struct GraphEdge {
  std::size_t from = 0, to = 0;  // indices into GraphLayout::nodes: waiter -> owner
  std::uint64_t lock = 0;
  std::string kind;              // "mutex", "rwlock", ...
  std::size_t threads = 1;       // waiting threads it stands for (a group's size)
  bool cycle = false, orphan = false, self = false;
  double bend = 0;               // a curved edge: how far its middle leaves the straight line
};

struct GraphLayout {
  static constexpr double kNodeWidth = 210, kNodeHeight = 46;
  static constexpr double kSelfLoopRoom = 200;  // to the right of a self-deadlocked node: loop and label
  std::vector<GraphNode> nodes;
  std::vector<GraphEdge> edges;
  double width = 0, height = 0;  // of the whole drawing
};

constexpr std::size_t kCollapseAt = 3;
constexpr double kRowWidth = 1340;

// Pure function of the snapshot's recorded waits and the report's cycles,
// self-deadlocks and crash. Empty when no thread waits for an owned lock and
// there was no crash.
GraphLayout layout_wait_graph(const Snapshot& snap, const HangReport& h);

}  // namespace threadleak::detail

namespace threadleak::detail {

// The layout drawn as an inline <svg id="waitgraph"> (report/hang_graph_svg.cpp):
// nodes are <g class="node thread|group|orphan [cycle] [self] [crashed]
// [blocker] STATE-CLASS"> (blocker: a thread others wait for) with data-tid / data-tids, data-count and data-waiters; edges
// <g class="edge [cycle] [orphan] [self]"> with data-from, data-to (TIDs;
// a group's first), data-lock, data-kind and data-threads, labelled
// "KIND 0xADDRESS". Arrowheads are polygons (no markers, nothing to link).
std::string wait_graph_svg(const Snapshot& snap, const GraphLayout& g);

// "lock_in_order()" for "(anonymous namespace)::lock_in_order(std::mutex&, ...)":
// the short name a node shows (the full one is in its tooltip).
std::string short_function(const std::string& function);

}  // namespace threadleak::detail
