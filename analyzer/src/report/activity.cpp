#include "report/activity.hpp"

#include <cmath>

#include <fmt/format.h>

#include "report/color.hpp"
#include "report/json_model.hpp"
#include "report/names.hpp"

namespace threadleak::detail {
namespace {

std::string cpu_words(const std::string& from) {
  if (from == "schedstat") return "/proc/PID/task/TID/schedstat (ns)";
  if (from == "proc-stat") return "/proc/PID/task/TID/stat (10 ms ticks)";
  if (from == "core-prstatus") return "the cores' NT_PRSTATUS (the kernel's utime + stime)";
  return from;
}

// Where the capture times come from, as the reader should weigh them.
std::string time_words(const std::vector<std::string>& from) {
  bool clock = true, mtime = false;
  for (const std::string& f : from) {
    clock = clock && f == "clock";
    mtime = mtime || f == "file-mtime";
  }
  if (clock) return "recorded by threadleak at each capture";
  if (mtime) return "a core's is its file's mtime (a core records no capture time)";
  return "of unrecorded origin (older snapshot files)";
}

std::string head(const ActivitySpan& s) {
  return fmt::format("activity between the captures, {}: ",
                     s.seconds ? duration_text(*s.seconds) + " apart" : "time between them unknown");
}

}  // namespace

std::string activity_counts(const Activity& a, const ActivitySpan& s, bool color) {
  std::vector<std::string> parts;
  if (a.parked)
    parts.push_back(fmt::format("{} parked{}", a.parked, s.seconds ? " >= " + duration_text(*s.seconds) : ""));
  if (a.spinning) parts.push_back(paint(fmt::format("{} spinning", a.spinning), Paint::red, color));
  if (a.woke) parts.push_back(fmt::format("{} woke", a.woke));
  return fmt::format("{}", fmt::join(parts, ", "));
}

std::string duration_text(double seconds) {
  if (seconds < 1) return fmt::format("{}ms", static_cast<long>(std::floor(seconds * 1000)));
  if (seconds < 60) return fmt::format("{:.1f}s", std::floor(seconds * 10) / 10);
  auto s = static_cast<long>(std::floor(seconds));
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
  return fmt::format("{}d{:02}h", s / 86400, s % 86400 / 3600);
}

std::string activity_head(const ActivitySpan& span) {
  if (!span.compared) return head(span) + "parked and spinning not told: " + span.not_compared;
  return head(span) + fmt::format("{} parked, {} spinning, {} woke (same TIDs)", span.threads.parked,
                                  span.threads.spinning, span.threads.woke);
}

std::string activity_times(const ActivitySpan& span) {
  std::string times = "times: " + time_words(span.captured_at_from);
  if (!span.compared) return times;
  return fmt::format("{}; CPU: {}, parked = at most {} used", times, cpu_words(span.cpu_from),
                     duration_text(static_cast<double>(span.tolerance_ns) / 1e9));
}

std::string activity_group_line(const Group& g, const ActivitySpan& span, bool color) {
  if (!g.activity || g.activity->total() == 0) return "";
  return fmt::format("{} in state {} in {}: {}", plural(g.count(), "thread"), state_label(g.state, g.syscall_name),
                     group_title(g), activity_counts(*g.activity, span, color));
}

std::string activity_text(const ActivitySpan& span, const std::vector<const Group*>& groups, bool color) {
  std::string out = "\n" + activity_head(span) + "\n  " + activity_times(span) + "\n";
  if (!span.compared) return out;
  for (const Group* g : groups) {
    std::string line = activity_group_line(*g, span, color);
    if (!line.empty()) out += "  " + line + "\n";
  }
  return out;
}

nlohmann::json activity_json(const Activity& a) {
  return {{"parked", a.parked}, {"spinning", a.spinning}, {"woke", a.woke}};
}

nlohmann::json activity_json(const ActivitySpan& span, const std::vector<const Group*>& groups) {
  nlohmann::json j = activity_json(span.threads);
  j["compared"] = span.compared;
  if (!span.compared) j["not_compared"] = span.not_compared;
  if (span.compared) {
    j["cpu_from"] = span.cpu_from;
    j["tolerance_ns"] = span.tolerance_ns;
  }
  if (span.seconds) j["seconds"] = *span.seconds;
  j["captured_at_from"] = span.captured_at_from;
  nlohmann::json gs = nlohmann::json::array();
  for (const Group* g : groups) {
    if (!g->activity || g->activity->total() == 0) continue;
    nlohmann::json e = activity_json(*g->activity);
    e["signature"] = g->signature;
    e["state"] = state_label(g->state, g->syscall_name);
    e["function"] = group_title(*g);
    e["count"] = g->count();
    gs.push_back(std::move(e));
  }
  j["groups"] = std::move(gs);
  return j;
}

}  // namespace threadleak::detail
