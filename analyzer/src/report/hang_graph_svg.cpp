// Drawing the laid-out wait-for graph as inline SVG (see layout.hpp).
#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "report/hang_layout.hpp"
#include "report/flame.hpp"
#include "report/json_model.hpp"
#include "report/names.hpp"
#include "threadleak/analysis.hpp"

namespace threadleak::detail {
namespace {

using Kind = GraphNode::Kind;
constexpr double kW = GraphLayout::kNodeWidth, kH = GraphLayout::kNodeHeight;
constexpr std::size_t kLabelChars = 30;  // 11px monospace in a kW box
constexpr std::size_t kTitleTids = 24;

struct Pt {
  double x, y;
};
Pt operator+(Pt a, Pt b) { return {a.x + b.x, a.y + b.y}; }
Pt operator-(Pt a, Pt b) { return {a.x - b.x, a.y - b.y}; }
Pt operator*(Pt a, double k) { return {a.x * k, a.y * k}; }
Pt unit(Pt a) {
  double l = std::hypot(a.x, a.y);
  return l > 0 ? a * (1 / l) : Pt{0, -1};
}

std::string fit(const std::string& s) {
  return s.size() <= kLabelChars ? s : s.substr(0, kLabelChars - 1) + "\xe2\x80\xa6";
}

std::string tid_list(const std::vector<int>& tids) { return detail::id_list(tids, kTitleTids, " ...", ""); }

struct Label {
  std::string line1, line2, title, fill;
};

Label thread_label(const Snapshot& s, const GraphNode& n) {
  int tid = n.tids.front();
  if (n.kind == Kind::orphan)
    return {fmt::format("thread {} (exited)", tid), "gone, holding the lock",
            fmt::format("thread {} is no thread of the process: it exited holding the lock", tid), ""};
  const Thread* t = find_thread(s, tid);
  std::string name = t && !t->name.empty() ? " " + t->name : "";
  std::string fn = t ? thread_function(*t) : "";
  std::string state = t ? state_label(t->state, t->syscall_name) : "unknown";
  std::string title = fmt::format("thread {}{}: {}{}", tid, t && !t->name.empty() ? " \"" + t->name + "\"" : "",
                                  state, fn.empty() ? "" : " in " + fn);
  if (n.waiters) title += fmt::format("\n{} thread{} wait for it", n.waiters, n.waiters == 1 ? "" : "s");
  if (n.cycle) title += "\nin a deadlock cycle";
  if (n.self) title += "\nwaits for a mutex it holds itself";
  return {fit(fmt::format("thread {}{}", tid, name)), fit(short_function(fn)), title,
          t ? state_class(t->state) : state_class(State::unknown)};
}

Label group_label(const Snapshot& s, const GraphNode& n) {
  std::string fn, fill;
  bool same_fn = true, same_state = true;
  for (std::size_t i = 0; i < n.tids.size(); ++i) {
    const Thread* t = find_thread(s, n.tids[i]);
    std::string f = t ? thread_function(*t) : "";
    std::string c = t ? state_class(t->state) : state_class(State::unknown);
    if (i == 0) {
      fn = f;
      fill = c;
    }
    same_fn = same_fn && f == fn;
    same_state = same_state && c == fill;
  }
  std::string line2 = same_fn ? fit(short_function(fn)) : "(several functions)";
  std::string title = fmt::format("{} threads{}\nTIDs {}", n.tids.size(), same_fn && !fn.empty() ? " in " + fn : "",
                                  tid_list(n.tids));
  return {fmt::format("{} threads", n.tids.size()), line2, title, same_state ? fill : "s-mixed"};
}

std::string node_svg(const Snapshot& s, const GraphNode& n) {
  Label l = n.kind == Kind::group ? group_label(s, n) : thread_label(s, n);
  std::string cls = n.kind == Kind::group ? "group" : n.kind == Kind::orphan ? "orphan" : "thread";
  for (auto [flag, name] : {std::pair{n.cycle, " cycle"}, {n.self, " self"}, {n.crashed, " crashed"},
                            {n.waiters > 0 && n.kind == Kind::thread, " blocker"}})
    if (flag) cls += name;
  std::string ids = n.kind == Kind::group
                        ? fmt::format(R"(data-tids="{}" data-count="{}")", fmt::join(n.tids, " "), n.tids.size())
                        : fmt::format(R"(data-tid="{}")", n.tids.front());
  double x = n.x - kW / 2, y = n.y - kH / 2;
  std::string out = fmt::format(R"(<g class="node {}{}{}" {} data-waiters="{}"><title>{}</title>)", cls,
                                l.fill.empty() ? "" : " ", l.fill, ids, n.waiters, html_escape(l.title));
  if (n.kind == Kind::group)  // a stack of cards
    out += fmt::format(R"(<rect class="under" x="{:.1f}" y="{:.1f}" width="{:.0f}" height="{:.0f}" rx="6"/>)", x + 5,
                       y - 5, kW, kH);
  out += fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="{:.0f}" height="{:.0f}" rx="6"/>)", x, y, kW, kH);
  out += fmt::format(R"(<text class="l1" x="{:.1f}" y="{:.1f}">{}</text>)", x + 8, y + 18, html_escape(l.line1));
  out += fmt::format(R"(<text class="l2" x="{:.1f}" y="{:.1f}">{}</text>)", x + 8, y + 36, html_escape(l.line2));
  return out + "</g>\n";
}

// Where the line from a box's centre towards `p` leaves the box.
Pt border(const GraphNode& n, Pt p) {
  Pt c{n.x, n.y}, d = p - c;
  double tx = d.x != 0 ? (kW / 2 + 2) / std::fabs(d.x) : 1e9, ty = d.y != 0 ? (kH / 2 + 2) / std::fabs(d.y) : 1e9;
  return c + d * std::min({tx, ty, 1.0});
}

std::string arrowhead(Pt tip, Pt dir) {
  Pt u = unit(dir), side{-u.y, u.x};
  Pt a = tip - u * 11 + side * 5, b = tip - u * 11 - side * 5;
  return fmt::format(R"(<polygon points="{:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f}"/>)", tip.x, tip.y, a.x, a.y, b.x, b.y);
}

// The path, arrowhead and label anchor of an edge between two boxes.
struct Shape {
  std::string path, head;
  Pt label;
};

Shape self_loop(const GraphNode& n) {
  double r = n.x + kW / 2;
  Pt end{r + 1, n.y + 10}, c2{r + 60, n.y + 40};
  return {fmt::format("M{:.1f},{:.1f} C{:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f}", r, n.y - 10, r + 60, n.y - 40,
                      c2.x, c2.y, end.x + 8, end.y + 4),
          arrowhead(end, end - c2), {r + 52, n.y + 4}};
}

Shape curve(const GraphNode& from, const GraphNode& to, double bend) {
  Pt p0{from.x, from.y}, p2{to.x, to.y}, d = p2 - p0;
  Pt ctrl = (p0 + p2) * 0.5 + unit({d.y, -d.x}) * bend;  // left of travel on screen
  Pt s = border(from, ctrl), e = border(to, ctrl);
  Pt u = unit(e - ctrl), stop = e - u * 8;
  // A curve's label sits just outside its bulge; a straight edge's nearer
  // the waiter, where sibling edges into one owner are still far apart.
  Pt label = bend == 0 ? s * 0.7 + e * 0.3 : s * 0.25 + ctrl * 0.5 + e * 0.25 + unit({d.y, -d.x}) * 10;
  std::string path = bend == 0 ? fmt::format("M{:.1f},{:.1f} L{:.1f},{:.1f}", s.x, s.y, stop.x, stop.y)
                               : fmt::format("M{:.1f},{:.1f} Q{:.1f},{:.1f} {:.1f},{:.1f}", s.x, s.y, ctrl.x, ctrl.y,
                                             stop.x, stop.y);
  return {path, arrowhead(e, u), label};
}

std::string edge_title(const GraphEdge& e, const GraphNode& from, const GraphNode& to) {
  std::string who = e.threads == 1 ? fmt::format("thread {}", from.tids.front()) : fmt::format("{} threads", e.threads);
  std::string owner = e.orphan ? fmt::format("thread {}, which exited", to.tids.front())
                               : fmt::format("thread {}", to.tids.front());
  return fmt::format("{} wait{} for {} {:#x} held by {}", who, e.threads == 1 ? "s" : "", e.kind, e.lock, owner);
}

std::string edge_svg(const GraphLayout& g, const GraphEdge& e) {
  const GraphNode &from = g.nodes[e.from], &to = g.nodes[e.to];
  Shape sh = e.self ? self_loop(from) : curve(from, to, e.bend);
  std::string cls;
  for (auto [flag, name] : {std::pair{e.cycle, " cycle"}, {e.orphan, " orphan"}, {e.self, " self"}})
    if (flag) cls += name;
  std::string text = fmt::format("{} {:#x}", e.kind, e.lock);
  const char* anchor = e.self ? "start" : "middle";
  return fmt::format(
      R"(<g class="edge{}" data-from="{}" data-to="{}" data-lock="{:#x}" data-kind="{}" data-threads="{}">)"
      R"(<title>{}</title><path d="{}"/>{}<text x="{:.1f}" y="{:.1f}" text-anchor="{}">{}</text></g>)"
      "\n",
      cls, from.tids.front(), to.tids.front(), e.lock, html_escape(e.kind), e.threads,
      html_escape(edge_title(e, from, to)),
      sh.path, sh.head, sh.label.x, sh.label.y + 3, anchor, html_escape(text));
}

}  // namespace

std::string short_function(const std::string& function) {
  std::string s = function;
  const std::string anon = "(anonymous namespace)::";
  for (std::size_t p; (p = s.find(anon)) != std::string::npos;) s.erase(p, anon.size());
  std::size_t paren = s.find('(');
  if (paren != std::string::npos && paren > 0) s = s.substr(0, paren) + "()";
  return s;
}

std::string wait_graph_svg(const Snapshot& snap, const GraphLayout& g) {
  std::string out = fmt::format(
      R"(<svg id="waitgraph" width="{0:.0f}" height="{1:.0f}" viewBox="0 0 {0:.0f} {1:.0f}" role="img" )"
      R"(aria-label="wait-for graph: arrows from waiting threads to the owners of their locks">)"
      "\n",
      g.width, g.height);
  for (const GraphEdge& e : g.edges) out += edge_svg(g, e);
  for (const GraphNode& n : g.nodes) out += node_svg(snap, n);
  return out + "</svg>\n";
}

}  // namespace threadleak::detail
