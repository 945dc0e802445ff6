// The icicle graph of the HTML report, laid out here and drawn as inline SVG.
#include "report/flame.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "report/json_model.hpp"
#include "report/names.hpp"

namespace threadleak::detail {
namespace {

constexpr double kWidth = 1200;   // SVG user units; the page scales it to fit
constexpr double kRow = 18;
constexpr double kCharWidth = 6.6;  // of the 11px monospace label font

struct Node {
  std::string name;
  std::size_t count = 0;
  std::map<State, std::size_t> states;
  bool marked = false;
  std::map<std::string, Node> children;
};

void add(Node& root, const Group& g, bool marked) {
  Node* n = &root;
  auto visit = [&](Node& m) {
    m.count += g.count();
    m.states[g.state] += g.count();
    m.marked = m.marked || marked;
  };
  visit(*n);
  for (auto it = g.frames.rbegin(); it != g.frames.rend(); ++it) {
    std::string name = frame_name(*it);
    Node& child = n->children[name];
    child.name = name;
    n = &child;
    visit(*n);
  }
}

std::string fill_class(const Node& n) {
  if (n.states.size() != 1) return "s-mixed";
  return state_class(n.states.begin()->first);
}

std::string state_list(const Node& n) {
  std::string s;
  for (const auto& [st, c] : n.states) s += fmt::format("{}{} {}", s.empty() ? "" : ", ", c, to_string(st));
  return s;
}

std::string label(const std::string& name, double width) {
  auto fits = static_cast<std::size_t>(std::max(0.0, (width - 6) / kCharWidth));
  if (fits < 3) return "";
  if (name.size() <= fits) return name;
  return name.substr(0, fits - 2) + "..";
}

struct Drawer {
  double scale;
  std::string out;
  std::size_t depth = 0;

  void draw(const Node& n, double x, std::size_t level) {
    depth = std::max(depth, level + 1);
    double w = static_cast<double>(n.count) * scale;
    out += fmt::format(R"(<g class="box {}{}"><title>{}&#10;{} threads: {}</title>)", fill_class(n),
                       n.marked ? " marked" : "", html_escape(n.name), n.count, state_list(n));
    out += fmt::format(R"(<rect x="{:.2f}" y="{:.0f}" width="{:.2f}" height="{:.0f}"/>)", x, level * kRow, w, kRow - 1);
    std::string text = label(n.name, w);
    if (!text.empty())
      out += fmt::format(R"(<text x="{:.2f}" y="{:.0f}">{}</text>)", x + 3, level * kRow + 12.5, html_escape(text));
    out += "</g>\n";
    std::vector<const Node*> kids;
    for (const auto& [name, c] : n.children) kids.push_back(&c);
    std::stable_sort(kids.begin(), kids.end(), [](const Node* a, const Node* b) { return a->count > b->count; });
    for (const Node* c : kids) {
      draw(*c, x, level + 1);
      x += static_cast<double>(c->count) * scale;
    }
  }
};

}  // namespace

std::string html_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string state_class(State s) { return "s-" + to_string(s); }

std::string icicle_svg(const std::vector<Group>& groups, const std::set<std::string>& marked) {
  Node root;
  root.name = "all threads";
  for (const Group& g : groups) add(root, g, marked.count(g.signature) > 0);
  if (root.count == 0) return "<p>(no threads)</p>\n";
  Drawer d{kWidth / static_cast<double>(root.count), {}};
  d.draw(root, 0, 0);
  return fmt::format(R"(<svg id="icicle" viewBox="0 0 {:.0f} {:.0f}" )"
                     R"(role="img" aria-label="icicle graph of all threads">)"
                     "\n{}</svg>\n",
                     kWidth, static_cast<double>(d.depth) * kRow, d.out);
}

}  // namespace threadleak::detail
