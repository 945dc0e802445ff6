// Report formats and colour for the CLI's subcommands.
#include "output.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>

namespace cli {

void add_format_options(CLI::App* cmd, FormatArgs& f, CLI::Option* json_flag) {
  auto* fmt = cmd->add_option("--format", f.format,
                              "report format: text, json, folded (flame graph input), html, pprof (gzip-compressed "
                              "profile.proto for go tool pprof; needs -o FILE or a redirected stdout) or metrics "
                              "(Prometheus text, docs/metrics.md)")
                  ->check(CLI::IsMember({"text", "json", "folded", "html", "pprof", "metrics"}));
  if (json_flag) fmt->excludes(json_flag);
  cmd->add_option("--color", f.color, "colour in text output: auto (a terminal, unless NO_COLOR), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
}

Format resolve(const FormatArgs& f, bool json) {
  if (json || f.format == "json") return Format::json;
  if (f.format == "folded") return Format::folded;
  if (f.format == "html") return Format::html;
  if (f.format == "pprof") return Format::pprof;
  if (f.format == "metrics") return Format::metrics;
  return Format::text;
}

bool color_wanted(const FormatArgs& f, const std::string& out_path) {
  if (f.color == "always") return true;
  if (f.color == "never") return false;
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color && *no_color) return false;
  return (out_path.empty() || out_path == "-") && ::isatty(STDOUT_FILENO);
}

std::string render(Format fmt, const threadleak::Snapshot& snap, const std::vector<threadleak::Group>& groups,
                   const threadleak::TextOptions& text) {
  switch (fmt) {
    case Format::json: return threadleak::render_json(snap, groups);
    case Format::folded: return threadleak::render_folded(snap, groups);
    case Format::html: return threadleak::render_html(snap, groups);
    case Format::pprof: return threadleak::render_pprof(snap, groups, {.go_runtime = text.show_go_runtime});
    case Format::metrics: {
      threadleak::MetricsOptions m;
      if (text.top) m.top = text.top;
      return threadleak::render_metrics(snap, groups, m);
    }
    case Format::text: break;
  }
  return threadleak::render_text(snap, groups, text);
}

std::string render(Format fmt, const threadleak::Diff& d, const threadleak::TextOptions& text) {
  switch (fmt) {
    case Format::json: return threadleak::render_json(d);
    case Format::folded: return threadleak::render_folded(d);
    case Format::html: return threadleak::render_html(d);
    case Format::pprof: return threadleak::render_pprof(d);
    case Format::metrics: return threadleak::render_metrics(d.current, d.current_groups, {});   // the current state
    case Format::text: break;
  }
  return threadleak::render_text(d, text);
}

void refuse_binary_to_terminal(Format fmt, const std::string& path) {
  if (fmt == Format::pprof && (path.empty() || path == "-") && ::isatty(STDOUT_FILENO))
    throw threadleak::Error("--format pprof writes a gzip-compressed profile, not for a terminal: give -o FILE "
                            "(or redirect stdout)");
}

void write_output(const std::string& text, const std::string& path) {
  if (path.empty() || path == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return;
  }
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f || !f.write(text.data(), static_cast<std::streamsize>(text.size())))
    throw threadleak::Error(path + ": cannot write output");
}

void exit_now(int status) {
  std::fflush(nullptr);
  std::_Exit(status);
}

threadleak::Snapshot capture_until_exit(const threadleak::Source& src) {
  static std::mutex mu;
  static std::vector<std::shared_ptr<void>> held;   // still reachable at exit: not a leak
  threadleak::Capture c = threadleak::capture_holding(src);
  std::lock_guard lock(mu);
  held.push_back(std::move(c.held));
  return std::move(c.snapshot);
}

}  // namespace cli
