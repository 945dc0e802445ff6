// Text and JSON output of a series (`threadleak diff S1 S2 S3 ...`): per
// group its count in each snapshot, the grown groups first with stacks.
#include <fmt/format.h>

#include "report/activity.hpp"
#include "report/color.hpp"
#include "report/json_model.hpp"
#include "report/names.hpp"
#include "threadleak/threadleak.hpp"

namespace threadleak {
namespace {

std::string arrows(const std::vector<std::size_t>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += fmt::format("{}{}", i ? " -> " : "", v[i]);
  return s;
}

std::string summary(const Series& s) {
  std::size_t grew = 0;
  for (const auto& g : s.groups) grew += g.grew;
  std::string out = fmt::format("summary: {} of {} groups grew across {} snapshots ({} threads)",
                                grew, s.groups.size(), s.origins.size(), arrows(s.totals));
  if (s.ignored) out += fmt::format("; {} threads ignored", s.ignored);
  out += "\n";
  for (std::size_t i = 0; i < s.origins.size(); ++i) out += fmt::format("  #{} {}\n", i + 1, s.origins[i]);
  return out;
}

std::string state_of(const Group& g, bool color) {
  return detail::paint(detail::state_label(g.state, g.syscall_name), detail::state_paint(g.state), color);
}

// The groups present in the last snapshot, in report order.
std::vector<const Group*> last_groups(const Series& s) {
  std::vector<const Group*> out;
  for (const SeriesEntry& e : s.groups)
    if (e.counts.back() > 0) out.push_back(&e.group);
  return out;
}

}  // namespace

std::string render_text(const Series& s, const TextOptions& o) {
  std::string out = summary(s);
  for (const SeriesEntry& e : s.groups) {
    if (!e.grew) continue;
    out += fmt::format("\n[{}] {}: {} in state {}\n", e.group.fingerprint,
                       detail::paint(fmt::format("GREW +{}", e.growth()), detail::Paint::red, o.color),
                       arrows(e.counts), state_of(e.group, o.color));
    out += detail::stack_text(e.group.frames, o.color);
  }
  bool header = false;
  for (const SeriesEntry& e : s.groups) {
    if (e.grew) continue;
    if (!header) out += "\ndid not grow:\n";
    header = true;
    out += fmt::format("  [{}] {}  {}  {}\n", e.group.fingerprint, arrows(e.counts), state_of(e.group, o.color), detail::group_title(e.group));
  }
  if (s.activity.one_process) out += detail::activity_text(s.activity, last_groups(s), o.color);
  return out;
}

std::string render_json(const Series& s) {
  nlohmann::json snaps = nlohmann::json::array();
  for (std::size_t i = 0; i < s.origins.size(); ++i)
    snaps.push_back({{"origin", s.origins[i]}, {"total", s.totals[i]}});
  nlohmann::json groups = nlohmann::json::array();
  for (const SeriesEntry& e : s.groups) {
    nlohmann::json g = detail::group_json(e.group);
    g.erase("count");
    g["counts"] = e.counts;
    g["grew"] = e.grew;
    groups.push_back(std::move(g));
  }
  nlohmann::json j = {{"version", detail::kReportVersion}, {"kind", "series"}, {"snapshots", std::move(snaps)},
                      {"ignored", s.ignored}, {"grew", s.grew()}, {"warnings", s.warnings},
                      {"groups", std::move(groups)}};
  if (s.activity.one_process) j["activity"] = detail::activity_json(s.activity, last_groups(s));
  return detail::json_text(j, 2) + "\n";
}

}  // namespace threadleak
