// The HTML page of a series (`threadleak diff S1 S2 S3 ... --format html`):
// per group its count in each snapshot with a small bar chart, grown groups
// first and highlighted, rows that open to the stack; then the icicle of the
// last snapshot's threads with the grown groups outlined.
#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "report/flame.hpp"
#include "report/group_words.hpp"
#include "report/html_page.hpp"
#include "report/json_model.hpp"
#include "report/names.hpp"
#include "threadleak/threadleak.hpp"

namespace threadleak {
namespace {
using detail::html_escape;

constexpr double kBar = 10, kSparkHeight = 22;

const char* const kSeriesCss = R"CSS(
td.spark svg { display: block; }
td.spark rect { fill: #9aa7b8; }
tbody.grew td.spark rect { fill: var(--grew-edge); }
td.count.last { font-weight: 700; }
ol.origins { margin: 2px 0; padding-left: 2em; color: var(--muted); }
)CSS";

// Bars of the counts, scaled to the row's largest.
std::string spark(const std::vector<std::size_t>& counts) {
  std::size_t top = std::max<std::size_t>(1, *std::max_element(counts.begin(), counts.end()));
  std::string bars;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    double h = counts[i] ? std::max(1.0, kSparkHeight * static_cast<double>(counts[i]) / static_cast<double>(top)) : 0;
    bars += fmt::format(R"(<rect x="{:.0f}" y="{:.1f}" width="{:.0f}" height="{:.1f}"/>)", static_cast<double>(i) * kBar,
                        kSparkHeight - h, kBar - 2, h);
  }
  return fmt::format(R"(<svg width="{:.0f}" height="{:.0f}" role="img" aria-label="counts">{}</svg>)",
                     static_cast<double>(counts.size()) * kBar, kSparkHeight, bars);
}

std::string row(const SeriesEntry& e, std::size_t columns, const ActivitySpan& span) {
  const Group& g = e.group;
  std::string label = detail::state_label(g.state, g.syscall_name), title = detail::group_title(g);
  std::string counts;
  for (std::size_t i = 0; i < e.counts.size(); ++i)
    counts += fmt::format("<td class=\"count{}\">{}</td>", i + 1 == e.counts.size() ? " last" : "", e.counts[i]);
  return fmt::format(
      "<tbody class=\"group{}\" data-counts=\"{}\" data-grew=\"{}\" data-state=\"{}\" data-function=\"{}\" data-fingerprint=\"{}\">\n"
      "<tr class=\"head\"><td><button class=\"toggle\" aria-expanded=\"false\">&#9656;</button></td>{}"
      "<td class=\"spark\">{}</td><td class=\"count\">{}</td><td><span class=\"state {}\">{}</span></td>"
      "<td class=\"fn\">{} <span class=\"fp\">{}</span>{}</td></tr>\n<tr class=\"stack\" hidden><td></td><td colspan=\"{}\">{}</td></tr>\n</tbody>\n",
      e.grew ? " grew" : "", fmt::join(e.counts, " "), e.grew ? 1 : 0, html_escape(label),
      html_escape(title), g.fingerprint, counts, spark(e.counts), e.grew ? fmt::format("+{}", e.growth()) : "",
      detail::state_class(g.state), html_escape(detail::group_state_label(g)), html_escape(title), g.fingerprint,
      detail::waits_on_head(g) + (span.compared ? detail::group_activity(g, span) : ""), columns + 4,
      detail::group_details(g, detail::stack_list(g.frames)));
}

std::string table(const Series& s) {
  std::string head = "<tr><th></th>";
  for (std::size_t i = 0; i < s.origins.size(); ++i)
    head += fmt::format("<th class=\"count\" title=\"{}\">#{}</th>", html_escape(s.origins[i]), i + 1);
  head += "<th>trend</th><th class=\"count\">growth</th><th>state</th><th>function</th></tr>";
  std::string rows;
  for (const SeriesEntry& e : s.groups) rows += row(e, s.origins.size(), s.activity);
  return fmt::format(
      "<div class=\"controls\"><button id=\"expand-all\">expand all</button> "
      "<button id=\"collapse-all\">collapse all</button></div>\n"
      "<table id=\"groups\">\n<thead>{}</thead>\n{}</table>\n",
      head, rows);
}

std::string header(const Series& s) {
  std::size_t grew = 0;
  for (const auto& g : s.groups) grew += g.grew;
  std::string summary = fmt::format("{} of {} groups grew across {} snapshots ({} threads)", grew,
                                    s.groups.size(), s.origins.size(), fmt::join(s.totals, " -> "));
  if (s.ignored) summary += fmt::format("; {} threads ignored", s.ignored);
  std::string out = fmt::format("<header>\n<h1>threadleak: a series of {} snapshots</h1>\n"
                                "<p class=\"summary\" id=\"summary\">{}</p>\n{}<ol class=\"origins\">\n",
                                s.origins.size(), html_escape(summary), detail::activity_summary(s.activity));
  for (std::size_t i = 0; i < s.origins.size(); ++i)
    out += fmt::format("<li>{} ({} threads)</li>\n", html_escape(s.origins[i]), s.totals[i]);
  return out + "</ol>\n<p class=\"meta\">A group grew when its count never fell and rose from the first "
               "snapshot to the last.</p>\n</header>\n";
}

}  // namespace

std::string render_html(const Series& s) {
  std::vector<Group> last;
  std::set<std::string> marked;
  std::vector<const Group*> in_last;  // as the text report lists them
  for (const SeriesEntry& e : s.groups) {
    if (e.counts.back() > 0) in_last.push_back(&e.group);
    if (e.group.count()) last.push_back(e.group);
    if (e.grew) marked.insert(e.group.signature);
  }
  return detail::page_head(fmt::format("threadleak series of {} snapshots", s.origins.size()), kSeriesCss) +
         fmt::format("<body data-kind=\"series\" data-grew=\"{}\">\n", s.grew() ? 1 : 0) + header(s) +
         "<section>\n<h2>Groups (grown first)</h2>\n" + table(s) + "</section>\n" +
         detail::activity_section(s.activity, in_last) + detail::icicle_block(last, marked) + detail::page_tail();
}

}  // namespace threadleak
