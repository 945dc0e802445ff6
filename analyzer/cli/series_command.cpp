// `threadleak diff S1 S2 S3 ...`: several snapshots, oldest first; a group
// leaks when it grows monotonically across them (threadleak::series).
#include <cstdio>

#include "commands.hpp"

namespace cli {

int run_series(const std::vector<threadleak::Source>& sources, const threadleak::DiffOptions& opts, Format fmt,
               const threadleak::TextOptions& text, const std::string& out) {
  std::vector<threadleak::Snapshot> snaps;
  snaps.reserve(sources.size());
  for (const auto& src : sources) {
    snaps.push_back(threadleak::capture(src));
    for (const auto& w : snaps.back().warnings)
      std::fprintf(stderr, "threadleak: warning: %s: %s\n", snaps.back().origin.c_str(), w.c_str());
  }
  threadleak::Series s = threadleak::series(snaps, opts);
  switch (fmt) {
    case Format::json: write_output(threadleak::render_json(s), out); break;
    case Format::folded: write_output(threadleak::render_folded(s), out); break;
    case Format::html: write_output(threadleak::render_html(s), out); break;
    case Format::text: write_output(threadleak::render_text(s, text), out); break;
  }
  return s.grew() ? 1 : 0;
}

}  // namespace cli
