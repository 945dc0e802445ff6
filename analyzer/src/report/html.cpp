// The HTML report: one self-contained page (inline CSS, JS and SVG) with a
// summary, the groups as an expandable table and an icicle graph of all
// threads. For a diff, grown groups come first, highlighted.
#include <map>
#include <set>

#include <fmt/format.h>

#include "report/flame.hpp"
#include "report/group_words.hpp"
#include "report/html_page.hpp"
#include "report/json_model.hpp"
#include "report/names.hpp"
#include "threadleak/threadleak.hpp"

namespace threadleak {
namespace {
using detail::html_escape;
using detail::page_head;
using detail::page_tail;
using detail::snapshot_header;
using detail::stack_list;

constexpr std::size_t kMaxTids = 12;

using detail::plural;

std::string id_text(const std::vector<std::int64_t>& ids) { return detail::id_list(ids, kMaxTids, " &hellip;", ""); }

// How a row reads in a diff: "3 → 8 (+5)"; a plain count otherwise.
struct Change {
  const char* kind = "";  // "", "grew", "shrank", "gone"
  std::size_t baseline = 0, current = 0, growth = 0;
  const ActivitySpan* span = nullptr;  // a diff of one process whose CPU times were compared
  const std::vector<std::int64_t>* new_members = nullptr;  // grown, same process: its new TIDs
};

std::string group_rows(const Group& g, const Change& c) {
  std::string label = detail::state_label(g.state, g.syscall_name);
  std::string title = detail::group_title(g);
  std::string attrs = fmt::format(R"(class="group{}{}" data-count="{}" data-state="{}" data-function="{}" data-fingerprint="{}")",
                                  *c.kind ? " " : "", c.kind, *c.kind ? c.current : g.count(),
                                  html_escape(label), html_escape(title), g.fingerprint);
  std::string count = fmt::format("{}", g.count());
  if (*c.kind) {
    attrs += fmt::format(R"( data-baseline="{}" data-current="{}")", c.baseline, c.current);
    count = fmt::format("{} &rarr; {}", c.baseline, c.current);
    if (c.growth) count += fmt::format(" (+{})", c.growth);
  }
  std::string facts = detail::waits_on_head(g) + (c.span ? detail::group_activity(g, *c.span) : "");
  return fmt::format(
      "<tbody {}>\n<tr class=\"head\"><td><button class=\"toggle\" aria-expanded=\"false\">&#9656;</button></td>"
      "<td class=\"count\">{}</td><td><span class=\"state {}\">{}</span></td><td class=\"fn\">{} <span class=\"fp\">{}</span>{}</td>"
      "<td class=\"tids\">{}</td></tr>\n<tr class=\"stack\" hidden><td></td><td colspan=\"4\">{}</td></tr>\n</tbody>\n",
      attrs, count, detail::state_class(g.state), html_escape(detail::group_state_label(g)), html_escape(title),
      g.fingerprint, facts,
      c.new_members && !c.new_members->empty() ? "new: " + id_text(*c.new_members) : id_text(g.members),
      detail::group_details(g, stack_list(g.frames)));
}

std::string table(const std::string& id, const std::string& rows) {
  return fmt::format(
      "<div class=\"controls\"><button id=\"expand-all\">expand all</button> "
      "<button id=\"collapse-all\">collapse all</button></div>\n"
      "<table id=\"{}\">\n<thead><tr><th></th><th class=\"count\">threads</th><th>state</th><th>function</th><th>TIDs</th></tr></thead>\n"
      "{}</table>\n",
      id, rows);
}

std::string legend() {
  std::string s = "<p class=\"legend\">";
  for (State st : {State::running, State::crashed, State::mutex, State::condvar, State::sleep, State::io,
                   State::poll, State::signal_wait, State::syscall})
    s += fmt::format("<span><span class=\"state {}\">{}</span></span>", detail::state_class(st), to_string(st));
  return s + "<span><span class=\"state s-mixed\">several states</span></span></p>\n";
}

std::string icicle_section(const std::vector<Group>& groups, const std::set<std::string>& marked) {
  return "<section>\n<h2>All threads</h2>\n<p class=\"meta\">Outermost frame on top; width = threads; "
         "colour = state; hover a box for its name and count.</p>\n" +
         detail::icicle_svg(groups, marked) + legend() + "</section>\n";
}

}  // namespace

std::string detail::groups_section(const std::vector<Group>& groups) {
  std::string rows;
  for (const Group& g : groups) rows += group_rows(g, {});
  return "<section>\n<h2>Groups</h2>\n" + table("groups", rows) + "</section>\n" + icicle_section(groups, {});
}

std::string detail::icicle_block(const std::vector<Group>& groups, const std::set<std::string>& marked) {
  return icicle_section(groups, marked);
}

std::string render_html(const Snapshot& snap, const std::vector<Group>& groups) {
  std::size_t goroutines = 0;
  for (const Thread& t : snap.threads) goroutines += t.kind == Kind::goroutine;
  std::string what = plural(snap.threads.size() - goroutines, "thread");
  if (goroutines) what += ", " + plural(goroutines, "goroutine");
  std::string summary = fmt::format("{} in {}", what, plural(groups.size(), "group"));
  return page_head("threadleak stacks: " + snap.origin) + "<body data-kind=\"stacks\">\n" +
         snapshot_header(snap, summary) + detail::groups_section(groups) + page_tail();
}

std::string render_html(const Diff& d) {
  const Snapshot& current = d.current;
  const std::vector<Group>& current_groups = d.current_groups;
  std::map<std::string, const DiffEntry*> grew, shrank;
  std::size_t total = 0;
  for (const auto& e : d.grown) {
    grew[e.group.signature] = &e;
    total += detail::growth(d, e);
  }
  for (const auto& e : d.shrunk) shrank[e.group.signature] = &e;
  std::string rows;
  std::set<std::string> marked, shown;
  const ActivitySpan* span = d.activity.compared ? &d.activity : nullptr;
  for (const auto& e : d.grown) {
    rows += group_rows(e.group, {"grew", e.baseline, e.current, detail::growth(d, e), span, &e.new_members});
    marked.insert(e.group.signature);
  }
  for (const Group& g : current_groups) {
    if (grew.count(g.signature)) continue;
    auto it = shrank.find(g.signature);
    rows += it == shrank.end() ? group_rows(g, {"", 0, 0, 0, span})
                               : group_rows(g, {"shrank", it->second->baseline, g.count(), 0, span});
    shown.insert(g.signature);
  }
  for (const auto& e : d.shrunk)
    if (!shown.count(e.group.signature)) rows += group_rows(e.group, {"gone", e.baseline, e.current, 0});
  std::string summary =
      d.grew() ? fmt::format("{} grew by {} ({} -> {} threads{})", plural(d.grown.size(), "group"), plural(total, "thread"),
                             d.baseline_total, d.current_total, d.same_process ? ", same process: new TIDs counted" : "")
               : fmt::format("no group grew ({} -> {} threads)", d.baseline_total, d.current_total);
  if (d.ignored) summary += fmt::format("; {} ignored", plural(d.ignored, "thread"));
  std::vector<const Group*> in_order;
  for (const Group& g : current_groups) in_order.push_back(&g);
  return page_head("threadleak diff: " + current.origin) +
         fmt::format("<body data-kind=\"diff\" data-grew=\"{}\">\n", d.grew() ? 1 : 0) +
         snapshot_header(current, summary, detail::activity_summary(d.activity)) + "<section>\n<h2>Groups (grown first)</h2>\n" +
         table("groups", rows) + "</section>\n" + detail::activity_section(d.activity, in_order) +
         icicle_section(current_groups, marked) + page_tail();
}

}  // namespace threadleak
