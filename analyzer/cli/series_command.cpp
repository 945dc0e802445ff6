// `threadleak diff S1 S2 S3 ...`: several snapshots, oldest first; a group
// leaks when it grows monotonically across them (threadleak::series).
#include <cstdio>

#include "commands.hpp"

namespace cli {

int run_series(const std::vector<threadleak::Source>& sources, const threadleak::DiffOptions& opts, Format fmt,
               const threadleak::TextOptions& text, const std::string& out) {
  if (fmt == Format::folded || fmt == Format::html)
    throw threadleak::Error(std::string("--format ") + (fmt == Format::html ? "html" : "folded") +
                            " is for one snapshot or a diff of two; a series of " +
                            std::to_string(sources.size()) + " snapshots prints as text or json");
  std::vector<threadleak::Snapshot> snaps;
  snaps.reserve(sources.size());
  for (const auto& src : sources) {
    snaps.push_back(threadleak::capture(src));
    for (const auto& w : snaps.back().warnings)
      std::fprintf(stderr, "threadleak: warning: %s: %s\n", snaps.back().origin.c_str(), w.c_str());
  }
  threadleak::Series s = threadleak::series(snaps, opts);
  write_output(fmt == Format::json ? threadleak::render_json(s) : threadleak::render_text(s, text), out);
  return s.grew() ? 1 : 0;
}

}  // namespace cli
