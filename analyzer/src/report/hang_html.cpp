// `threadleak hang --format html`: one self-contained page with the summary,
// the wait-for graph drawn (report/hang_layout.cpp, report/hang_graph_svg.cpp), the
// findings with each thread's stack behind a click, then the groups table
// and icicle of the stacks page.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "report/hang_layout.hpp"
#include "report/flame.hpp"
#include "report/html_page.hpp"
#include "report/json_model.hpp"
#include "report/names.hpp"
#include "threadleak/hang.hpp"

namespace threadleak {
namespace {
using detail::find_thread;
using detail::html_escape;
using detail::plural;

constexpr std::size_t kMaxTids = 24;

const char* const kHangCss = R"CSS(
.graph-box { overflow: auto; max-height: 85vh; border: 1px solid var(--line); background: #fcfcfd; }
#waitgraph { display: block; }
#waitgraph text { font: 11px ui-monospace, "DejaVu Sans Mono", Menlo, monospace; fill: #111; }
#waitgraph .node text.l1 { font-weight: 700; }
#waitgraph .node rect { stroke: #555; stroke-width: 1; }
#waitgraph .node rect.under { fill: #fff; stroke: #999; }
#waitgraph .node.blocker rect { stroke-width: 2; }
#waitgraph .node.cycle rect { stroke: #c62828; stroke-width: 3; }
#waitgraph .node.self rect { stroke: #7b1fa2; stroke-width: 3; }
#waitgraph .node.crashed rect { stroke: #c62828; stroke-dasharray: 2 2; stroke-width: 3; }
#waitgraph .node.orphan rect { fill: #fff; stroke: #b26a00; stroke-width: 2; stroke-dasharray: 6 3; }
#waitgraph .edge path { fill: none; stroke: #777; stroke-width: 1.5; }
#waitgraph .edge polygon { fill: #777; }
#waitgraph .edge text { font-size: 10px; fill: #444; paint-order: stroke; stroke: #fcfcfd; stroke-width: 4px; stroke-linejoin: round; }
#waitgraph .edge.cycle path { stroke: #c62828; stroke-width: 2.5; }
#waitgraph .edge.cycle polygon { fill: #c62828; }
#waitgraph .edge.cycle text { fill: #c62828; font-weight: 700; }
#waitgraph .edge.orphan path { stroke: #b26a00; stroke-dasharray: 6 4; }
#waitgraph .edge.orphan polygon { fill: #b26a00; }
#waitgraph .edge.self path { stroke: #7b1fa2; stroke-width: 2.5; }
#waitgraph .edge.self polygon { fill: #7b1fa2; }
.key span { margin-right: 14px; }
.key .k-cycle { color: #c62828; font-weight: 700; }
.key .k-orphan { color: #b26a00; }
.key .k-self { color: #7b1fa2; }
.finding { margin: 6px 0 12px; }
.finding.deadlock > p, .finding.self > p { color: #c62828; }
details.thread { margin: 2px 0 2px 16px; }
details.thread summary { cursor: pointer; font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 12px; }
@media print {
  .graph-box { overflow: visible; max-height: none; border: 0; }
  #waitgraph { max-width: 100%; height: auto; }
  .finding { break-inside: avoid; }
}
)CSS";

const char* const kHangJs = R"JS(
window.addEventListener('beforeprint', function () {
  document.querySelectorAll('details.thread').forEach(function (d) { d.open = true; });
});
)JS";

template <typename Id>
std::string tids(const std::vector<Id>& v) {
  return detail::id_list(v, kMaxTids, " &hellip;");
}

// One thread: a line that opens to its stack.
std::string thread_details(const Snapshot& s, int tid) {
  const Thread* t = find_thread(s, tid);
  if (!t) return fmt::format("<p class=\"meta\">thread {}: no such thread</p>\n", tid);
  std::string fn = detail::thread_function(*t);
  return fmt::format("<details class=\"thread\" data-tid=\"{}\"><summary>thread {}{} <span class=\"state {}\">{}</span> "
                     "{}</summary>\n{}</details>\n",
                     tid, tid, t->name.empty() ? "" : " \"" + html_escape(t->name) + "\"",
                     detail::state_class(t->state), html_escape(detail::state_label(t->state, t->syscall_name)),
                     html_escape(fn), detail::stack_list(t->frames));
}

std::string summary(const HangReport& h) {
  std::string s = h.deadlocked() ? "DEADLOCK: " : "no deadlock: ";
  s += fmt::format("{}, {}, {}, {}, {} blocked on locks", plural(h.deadlocks.size(), "deadlock cycle"),
                   plural(h.self_deadlocks.size(), "self-deadlock"), plural(h.blockers.size(), "blocker"),
                   plural(h.orphaned.size(), "orphaned lock"),
                   h.go ? fmt::format("{} threads/goroutines", h.lock_waiters) : plural(h.lock_waiters, "thread"));
  if (h.go)
    s += h.go->all_asleep ? fmt::format("; ALL GOROUTINES ARE ASLEEP ({} user goroutines)", h.go->goroutines)
                          : fmt::format("; {} of {} user goroutines asleep", h.go->asleep, h.go->goroutines);
  if (h.crash)
    s += fmt::format("; crash: thread {} took {}", h.crash->tid,
                     h.crash->signal_name.empty() ? "a signal" : h.crash->signal_name);
  else
    s += "; no crash";
  return s;
}

std::string graph_section(const Snapshot& s, const HangReport& h) {
  detail::GraphLayout g = detail::layout_wait_graph(s, h);
  std::string out = "<section>\n<h2>Wait-for graph</h2>\n";
  if (g.nodes.empty())
    return out + "<p class=\"meta\" id=\"no-graph\">No thread waits for a lock with a recorded owner.</p>\n</section>\n";
  out += fmt::format(
      "<p class=\"meta key\">An arrow goes from a waiting thread to the thread that holds the lock it wants. "
      "<span class=\"k-cycle\">red: a deadlock cycle</span><span class=\"k-orphan\">dashed orange: the owner exited "
      "(orphaned lock)</span><span class=\"k-self\">purple loop: waits for its own mutex</span>"
      "<span>&ldquo;N threads&rdquo;: {} or more waiters of one lock that nobody waits for, in one box</span>"
      "Box colour = state; hover for details.</p>\n",
      detail::kCollapseAt);
  return out + "<div class=\"graph-box\">\n" + detail::wait_graph_svg(s, g) + "</div>\n</section>\n";
}

std::string deadlock_html(const Snapshot& s, const Deadlock& d) {
  std::string text = fmt::format("DEADLOCK ({} threads): ", d.threads.size());
  std::string locks;
  for (std::size_t i = 0; i < d.threads.size(); ++i) {
    text += fmt::format("{} waits for {} {:#x} held by thread {}",
                        i ? ", which" : fmt::format("thread {}", d.threads[i]), d.kinds[i], d.locks[i],
                        d.threads[(i + 1) % d.threads.size()]);
    locks += fmt::format("{}{:#x}", i ? " " : "", d.locks[i]);
  }
  std::string out = fmt::format("<div class=\"finding deadlock\" data-threads=\"{}\" data-locks=\"{}\">\n<p>{}</p>\n",
                                fmt::join(d.threads, " "), locks, html_escape(text));
  for (int tid : d.threads) out += thread_details(s, tid);
  return out + "</div>\n";
}

std::string crash_html(const Snapshot& s, const CrashContext& c) {
  std::string held;
  for (auto l : c.held_locks) held += fmt::format("{}{:#x}", held.empty() ? "" : " ", l);
  std::string text = fmt::format("thread {} took {}{}; ", c.tid, c.signal_name.empty() ? "a signal" : c.signal_name,
                                 c.address ? fmt::format(" at address {:#x}", *c.address) : "");
  text += c.held_locks.empty() ? "it held no lock anyone waits for"
                               : fmt::format("it held {} that {} wait for", held, plural(c.waiters.size(), "thread"));
  return fmt::format("<div class=\"finding crash\" data-tid=\"{}\">\n<p>{}</p>\n{}{}</div>\n", c.tid,
                     html_escape(text), c.waiters.empty() ? "" : "<p class=\"meta\">TIDs " + tids(c.waiters) + "</p>\n",
                     thread_details(s, c.tid));
}

std::string blocker_html(const Snapshot& s, const Blocker& b) {
  std::string locks;
  for (auto l : b.locks) locks += fmt::format("{}{:#x}", locks.empty() ? "" : " ", l);
  return fmt::format("<div class=\"finding blocker\" data-tid=\"{}\" data-waiters=\"{}\" data-transitive=\"{}\">\n"
                     "<p>thread {} holds {}: {} waiting, {} transitively{}</p>\n{}</div>\n",
                     b.tid, b.waiters, b.transitive_waiters, b.tid, locks, b.waiters, b.transitive_waiters,
                     b.in_deadlock ? " (deadlocked)" : "", thread_details(s, b.tid));
}

std::string self_html(const Snapshot& s, const SelfDeadlock& d) {
  return fmt::format("<div class=\"finding self\" data-tid=\"{}\" data-lock=\"{:#x}\">\n<p>thread {} waits for mutex "
                     "{:#x}, which it holds itself</p>\n{}</div>\n",
                     d.tid, d.lock, d.tid, d.lock, thread_details(s, d.tid));
}

std::string orphan_html(const OrphanedLock& l) {
  return fmt::format("<div class=\"finding orphan\" data-lock=\"{:#x}\" data-owner=\"{}\">\n<p>{} {:#x} is held by "
                     "thread {}, which is no thread of the process (it exited holding it); {} waiting: TIDs {}</p>\n"
                     "</div>\n",
                     l.lock, l.owner, html_escape(l.kind), l.lock, l.owner, l.waiters.size(), tids(l.waiters));
}

std::string object_html(const WaitedObject& o) {
  std::string who;
  if (!o.waiters.empty()) who += fmt::format("{} waiting: TIDs {}", plural(o.waiters.size(), "thread"), tids(o.waiters));
  if (!o.goroutines.empty())
    who += fmt::format("{}{} waiting: goroutines {}", who.empty() ? "" : "; ", plural(o.goroutines.size(), "goroutine"),
                       tids(o.goroutines));
  return fmt::format("<p class=\"finding object\" data-kind=\"{}\" data-address=\"{:#x}\">{} {:#x}, no owner "
                     "recorded: {}</p>\n",
                     html_escape(o.kind), o.address, html_escape(o.kind), o.address, who);
}

// Go's own rule, as the text says it.
std::string go_html(const GoAsleep& a) {
  std::string text =
      a.all_asleep ? fmt::format("ALL GOROUTINES ARE ASLEEP: all {} are parked on channels, selects or sync "
                                 "primitives and no timer is pending (Go's \"all goroutines are asleep - deadlock!\")",
                                 plural(a.goroutines, "user goroutine"))
                   : fmt::format("{} of {} user goroutines asleep on channels or sync primitives; awake: {}", a.asleep,
                                 a.goroutines, a.awake.empty() ? "none" : "goroutines " + tids(a.awake));
  return fmt::format("<div class=\"finding go{}\" data-all-asleep=\"{}\">\n<p>{}</p>\n</div>\n",
                     a.all_asleep ? " deadlock" : "", a.all_asleep ? 1 : 0, text);  // numbers and fixed words only
}

template <typename List, typename Render>
std::string section(const char* id, const char* title, const List& items, Render render) {
  std::string body;
  for (const auto& item : items) body += render(item);
  return body.empty() ? "" : fmt::format("<section id=\"{}\">\n<h2>{}</h2>\n{}</section>\n", id, title, body);
}

// The findings in the text report's order, each thread's stack behind a click.
std::string findings(const Snapshot& s, const HangReport& h) {
  std::string out = h.crash ? section("crash", "Crash", std::vector{*h.crash},
                                      [&](const CrashContext& c) { return crash_html(s, c); })
                            : "";
  if (h.go) out += section("go", "Go", std::vector{*h.go}, go_html);
  out += section("deadlocks", "Deadlocks", h.deadlocks, [&](const Deadlock& d) { return deadlock_html(s, d); });
  out += section("self-deadlocks", "Self-deadlocks", h.self_deadlocks,
                 [&](const SelfDeadlock& d) { return self_html(s, d); });
  out += section("orphaned", "Orphaned locks", h.orphaned, orphan_html);
  out += section("blockers", "Blockers (most waiters first)", h.blockers,
                 [&](const Blocker& b) { return blocker_html(s, b); });
  out += section("objects", "Waits without a recorded owner (condvars, Go locks, ...)", h.objects,
                 [](const WaitedObject& o) { return o.owner ? std::string() : object_html(o); });
  if (h.located < h.lock_waiters)
    out += fmt::format("<p class=\"meta\">note: {} of {} lock waiters have no lock object recorded (not in a futex "
                       "call when captured); they are not in the graph.</p>\n",
                       h.lock_waiters - h.located, h.lock_waiters);
  return out;
}

}  // namespace

std::string render_hang_html(const Snapshot& s, const HangReport& h, const std::vector<Group>& groups) {
  std::string body = fmt::format(
      "<body data-kind=\"hang\" data-deadlocked=\"{}\" data-deadlocks=\"{}\" data-self-deadlocks=\"{}\" "
      "data-blockers=\"{}\" data-orphaned=\"{}\" data-crash=\"{}\">\n",
      h.deadlocked() ? 1 : 0, h.deadlocks.size(), h.self_deadlocks.size(), h.blockers.size(), h.orphaned.size(),
      h.crash ? h.crash->tid : 0);
  return detail::page_head("threadleak hang: " + s.origin, kHangCss) + body +
         detail::snapshot_header(s, summary(h)) + graph_section(s, h) + findings(s, h) +
         detail::groups_section(groups) + detail::page_tail(kHangJs);
}

}  // namespace threadleak
