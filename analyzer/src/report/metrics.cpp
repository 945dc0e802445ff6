// A snapshot as metrics: the Prometheus text exposition format (0.0.4) or
// OpenMetrics 1.0 text, which for our gauges differ only in the closing
// "# EOF". One gauge per group with a series of its own (the largest N),
// one "other" series summing the rest, and process-level gauges. Label
// values are escaped as both formats want (backslash, double quote,
// newline), made valid UTF-8 and capped in length.
#include <cmath>
#include <cstdint>
#include <map>

#include <fmt/format.h>

#include "report/names.hpp"
#include "threadleak/threadleak.hpp"

namespace threadleak {
namespace {

constexpr std::size_t kMaxLabelBytes = 256;

// The length of the UTF-8 sequence starting at s[i], or 0 if it is not a
// valid one (overlong forms, surrogates and code points past U+10FFFF too).
std::size_t utf8_length(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  std::size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((b(i + k) & 0xc0) != 0x80) return 0;
  if (c == 0xe0 && b(i + 1) < 0xa0) return 0;   // overlong
  if (c == 0xed && b(i + 1) > 0x9f) return 0;   // surrogates
  if (c == 0xf0 && b(i + 1) < 0x90) return 0;   // overlong
  if (c == 0xf4 && b(i + 1) > 0x8f) return 0;   // past U+10FFFF
  return n;
}

// A label value as the exposition formats want it, between the quotes.
std::string label_value(std::string_view raw) {
  std::string out;
  std::size_t kept = 0;   // bytes of `raw` represented so far
  for (std::size_t i = 0; i < raw.size();) {
    std::size_t n = utf8_length(raw, i);
    if (kept + std::max<std::size_t>(n, 1) > kMaxLabelBytes) {
      out += "\u2026";   // cut at a character boundary
      break;
    }
    if (n == 0) {
      out += "\ufffd";
      i += 1;
      kept += 1;
      continue;
    }
    char c = raw[i];
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out.append(raw.substr(i, n));
    i += n;
    kept += n;
  }
  return out;
}

using Labels = std::vector<std::pair<const char*, std::string>>;

std::string label_set(const Labels& labels) {
  std::string s;
  for (const auto& [name, value] : labels) {
    if (value.empty()) continue;   // an empty label is an absent one
    s += fmt::format("{}{}=\"{}\"", s.empty() ? "" : ",", name, label_value(value));
  }
  return s.empty() ? "" : "{" + s + "}";
}

void family(std::string& out, const char* name, const char* help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n", name, help, name);
}

void sample(std::string& out, const char* name, const std::string& labels, double value) {
  out += fmt::format("{}{} {}\n", name, labels, value);
}

// Seconds to the microsecond: "0.033166", not "0.033165953000000005".
double microseconds(double seconds) { return std::round(seconds * 1e6) / 1e6; }

std::string state_label(const Group& g) {
  return g.state == State::syscall ? "syscall:" + g.syscall_name : to_string(g.state);
}

// The largest `top` groups, each with its label set; groups whose labels
// coincide are one series (their counts add up), so no series repeats.
std::vector<std::pair<std::string, std::size_t>> group_series(const std::vector<Group>& groups, std::size_t top,
                                                              const std::string& exe, std::size_t& rest) {
  std::vector<std::pair<std::string, std::size_t>> series;
  std::map<std::string, std::size_t> index;
  rest = 0;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const Group& g = groups[i];
    if (i >= top) {
      rest += g.count();
      continue;
    }
    std::string labels = label_set({{"fingerprint", g.fingerprint},
                                    {"state", state_label(g)},
                                    {"function", detail::group_title(g)},
                                    {"kind", to_string(g.kind)},
                                    {"executable", exe}});
    auto [it, fresh] = index.emplace(labels, series.size());
    if (fresh) series.emplace_back(labels, 0);
    series[it->second].second += g.count();
  }
  return series;
}

}  // namespace

std::string render_metrics(const Snapshot& snap, const std::vector<Group>& groups, const MetricsOptions& o) {
  const std::string& exe = snap.executable;
  const std::string process = label_set({{"executable", exe}});
  std::string out;
  family(out, "threadleak_group_members",
         "Threads or goroutines in a group of identical stacks, per group of the largest N; "
         "fingerprint=\"other\" sums the rest.");
  std::size_t rest = 0;
  for (const auto& [labels, n] : group_series(groups, o.top, exe, rest))
    sample(out, "threadleak_group_members", labels, static_cast<double>(n));
  sample(out, "threadleak_group_members", label_set({{"fingerprint", "other"}, {"executable", exe}}),
         static_cast<double>(rest));
  family(out, "threadleak_groups", "Groups of identical stacks in the snapshot.");
  sample(out, "threadleak_groups", process, static_cast<double>(groups.size()));
  std::size_t threads = 0, goroutines = 0;
  for (const Thread& t : snap.threads) ++(t.kind == Kind::goroutine ? goroutines : threads);
  family(out, "threadleak_threads", "OS threads of the process.");
  sample(out, "threadleak_threads", process, static_cast<double>(threads));
  if (goroutines) {
    family(out, "threadleak_goroutines", "Goroutines of the Go program.");
    sample(out, "threadleak_goroutines", process, static_cast<double>(goroutines));
  }
  if (snap.cost) {
    family(out, "threadleak_capture_duration_seconds", "How long taking the snapshot took.");
    sample(out, "threadleak_capture_duration_seconds", process, microseconds(snap.cost->capture_seconds));
    if (snap.cost->longest_pause_seconds) {
      family(out, "threadleak_capture_pause_seconds",
             "The longest any thread of the live process can have been held stopped by the capture (its freeze window).");
      sample(out, "threadleak_capture_pause_seconds", process, microseconds(*snap.cost->longest_pause_seconds));
    }
  }
  if (o.captured_unix_seconds) {
    family(out, "threadleak_snapshot_timestamp_seconds", "When the snapshot was taken, in seconds since the epoch.");
    sample(out, "threadleak_snapshot_timestamp_seconds", process, *o.captured_unix_seconds);
  }
  if (o.openmetrics) out += "# EOF\n";
  return out;
}

}  // namespace threadleak
