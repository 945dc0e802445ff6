// The frame of every HTML page threadleak writes (report/html.cpp for stacks
// and diff, report/hang_html.cpp for hang): head with the CSP, header, footer
// and script, and the stack list.
#include "report/html_page.hpp"

#include <fmt/format.h>

#include "report/flame.hpp"
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

std::string snapshot_header(const Snapshot& snap, const std::string& summary) {
  std::string s = fmt::format("<header>\n<h1>threadleak: {}</h1>\n<p class=\"summary\" id=\"summary\">{}</p>\n",
                              html_escape(snap.executable.empty() ? snap.origin : snap.executable),
                              html_escape(summary));
  s += fmt::format("<p class=\"meta\">{} {}{}</p>\n", html_escape(snap.source), html_escape(snap.origin),
                   snap.captured_at.empty() ? "" : ", captured " + html_escape(snap.captured_at));
  if (snap.crash)
    s += fmt::format("<p class=\"warning\">crashed: thread {} took {}</p>\n", snap.crash->tid,
                     html_escape(snap.crash->signal_name));
  for (const auto& w : snap.warnings) s += "<p class=\"warning\">warning: " + html_escape(w) + "</p>\n";
  return s + "</header>\n";
}

}  // namespace threadleak::detail
