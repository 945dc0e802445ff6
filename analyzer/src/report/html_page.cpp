// The frame of every HTML page threadleak writes (report/html.cpp for stacks
// and diff, report/hang_html.cpp for hang): head with the CSP, header, footer
// and script, and the stack list.
#include "report/html_page.hpp"

#include <fmt/format.h>

#include "report/activity.hpp"
#include "report/flame.hpp"
#include "report/group_words.hpp"
#include "report/html_assets.hpp"
#include "report/names.hpp"

namespace threadleak::detail {
namespace {

std::string frame_item(const Frame& f, bool first) {
  std::string cls = first ? "own first" : f.own_code ? "own" : "system";
  std::string s = fmt::format(R"(<li class="{}"><span class="fn">{}</span>)", cls, html_escape(frame_name(f)));
  if (f.inlined) s += " <span class=\"mod\">(inlined)</span>";
  if (!f.file.empty()) s += fmt::format(" <span class=\"loc\">at {}:{}</span>", html_escape(f.file), f.line);
  if (!f.module.empty()) s += fmt::format(" <span class=\"mod\">[{}]</span>", html_escape(f.module));
  return s + "</li>\n";
}

}  // namespace

std::string page_head(const std::string& title, const std::string& extra_css) {
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>{}</title>\n<style>{}{}</style>\n</head>\n",
      html_escape(title), kHtmlCss, extra_css);
}

std::string page_tail(const std::string& extra_js) {
  return fmt::format("<footer>made by threadleak; this page is self-contained and loads nothing.</footer>\n"
                     "<script>{}{}</script>\n</body>\n</html>\n",
                     extra_js, kHtmlJs);
}

std::string stack_list(const std::vector<Frame>& frames) {
  if (frames.empty()) return "<p>(no frames)</p>";
  const Frame* own = first_own_frame(frames);
  std::string s = "<ol class=\"frames\" start=\"0\">\n";
  for (const Frame& f : frames) s += frame_item(f, &f == own);
  return s + "</ol>";
}

std::string waits_on_head(const Group& g) {
  std::vector<std::string> lines = waits_on_lines(g);
  return lines.empty() ? "" : "<div class=\"waits\">" + html_escape(lines[0]) + "</div>";
}

std::string group_details(const Group& g, const std::string& stack) {
  std::vector<std::string> lines = waits_on_lines(g);
  std::string s;
  if (lines.size() > 1) {
    s = "<ul class=\"waits\">";
    for (std::size_t i = 1; i < lines.size(); ++i) s += "<li>" + html_escape(lines[i]) + "</li>";
    s += "</ul>\n";
  }
  s += stack;
  std::string creator = created_by_text(g);
  if (!creator.empty()) s += "<p class=\"meta created-by\">" + html_escape(creator) + "</p>";
  return s;
}

std::string group_activity(const Group& g, const ActivitySpan& span) {
  if (!g.activity || g.activity->total() == 0) return "";
  const Activity& a = *g.activity;
  return fmt::format("<div class=\"activity{}\" data-parked=\"{}\" data-spinning=\"{}\" data-woke=\"{}\">{}</div>",
                     a.spinning ? " spinning" : "", a.parked, a.spinning, a.woke,
                     html_escape(activity_counts(a, span, false)));
}

std::string activity_section(const ActivitySpan& span, const std::vector<const Group*>& groups) {
  if (!span.one_process) return "";
  std::string s = fmt::format("<section id=\"activity\">\n<h2>Activity between the captures</h2>\n"
                              "<p class=\"activity-head\">{}</p>\n<p class=\"meta\">{}</p>\n",
                              html_escape(activity_head(span)), html_escape(activity_times(span)));
  std::string items;
  for (const Group* g : groups) {
    std::string line = span.compared ? activity_group_line(*g, span, false) : "";
    if (!line.empty())
      items += fmt::format("<li{} data-fingerprint=\"{}\">{}</li>\n",
                           g->activity->spinning ? " class=\"spinning\"" : "", g->fingerprint, html_escape(line));
  }
  if (!items.empty()) s += "<ul class=\"activity\">\n" + items + "</ul>\n";
  return s + "<p class=\"meta\">parked: same stack and wait, no CPU used; spinning: running in its own code, "
             "CPU rising; woke: ran and came back to the same place.</p>\n</section>\n";
}

std::string activity_summary(const ActivitySpan& span) {
  if (!span.one_process) return "";
  return fmt::format("<p class=\"summary{}\" id=\"activity-summary\">{}</p>\n",
                     span.threads.spinning ? " spinning" : "", html_escape(activity_head(span)));
}

std::string snapshot_header(const Snapshot& snap, const std::string& summary, const std::string& more) {
  std::string s = fmt::format("<header>\n<h1>threadleak: {}</h1>\n<p class=\"summary\" id=\"summary\">{}</p>\n{}",
                              html_escape(snap.executable.empty() ? snap.origin : snap.executable),
                              html_escape(summary), more);
  s += fmt::format("<p class=\"meta\">{} {}{}</p>\n", html_escape(snap.source), html_escape(snap.origin),
                   snap.captured_at.empty() ? "" : ", captured " + html_escape(snap.captured_at));
  if (snap.coredump)
    s += fmt::format("<p class=\"meta\">systemd-coredump: pid {} uid {} comm {} at {}</p>\n", snap.coredump->pid,
                     snap.coredump->uid, html_escape(snap.coredump->comm), html_escape(snap.coredump->time));
  if (snap.crash)
    s += fmt::format("<p class=\"warning\">crashed: thread {} took {}{}</p>\n", snap.crash->tid,
                     html_escape(snap.crash->signal_name),
                     snap.crash->address ? fmt::format(" at address {:#x}", *snap.crash->address) : "");
  for (const auto& w : snap.warnings) s += "<p class=\"warning\">warning: " + html_escape(w) + "</p>\n";
  for (const auto& n : snap.notes) s += "<p class=\"meta\">note: " + html_escape(n) + "</p>\n";
  return s + "</header>\n";
}

}  // namespace threadleak::detail
