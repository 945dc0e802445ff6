// threadleak/threadleak.hpp — the one facade front ends use.
//
// Capture a Snapshot from a source (a core file, a live PID or a snapshot
// file saved earlier), then group it, diff it against a baseline, and render
// it as text or JSON. The CLI, the gdb and lldb commands (through the CLI)
// and the C++ testing library go through these functions only.
//
//   threadleak::Source src = threadleak::Source::path("core.1");
//   threadleak::Snapshot snap = threadleak::capture(src);   // throws threadleak::Error
//   std::cout << threadleak::render_text(snap, threadleak::group(snap, {}), {});
//
// Errors: every fatal problem with an input is a threadleak::Error whose
// what() is one line naming the input and the problem. Problems that still
// leave a true partial answer become Snapshot::warnings instead.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "threadleak/analysis.hpp"
#include "threadleak/snapshot.hpp"

namespace threadleak {

// A fatal, user-facing error: one line, names the input and the problem.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where to look, and with what help.
struct Source {
  std::string file;                      // core or snapshot file; empty for a live PID
  int pid = 0;                           // live process when file is empty
  std::string exe;                       // --exe: the main executable, overriding the core's record
  std::string sysroot;                   // --sysroot: prefix for module paths of a foreign core
  std::vector<std::string> debug_dirs;   // --debug-dir: where separate debug info lives
  // Debugger feed (with pid): the process is stopped and traced by a debugger,
  // which gives every thread's registers (a file, "-" = stdin; format in
  // docs/debuggers.md) and an open /proc/PID/mem descriptor it keeps open.
  std::string regs_file;                 // --regs
  int mem_fd = -1;                       // --mem-fd

  static Source path(std::string f) { Source s; s.file = std::move(f); return s; }
  static Source live(int p) { Source s; s.pid = p; return s; }
};

struct CaptureOptions {
  unsigned max_frames = 256;             // per thread; deeper stacks are cut and marked truncated
  // Keep what reading a core took (its buffers, libdw's debug info) until
  // the process exits instead of freeing it before returning: for a
  // command-line run that ends right after (10,000 threads: ~5 ms).
  bool keep_until_exit = false;
};

// Reads the source and returns a symbolized, classified Snapshot.
// Throws Error for inputs that give no true answer at all.
Snapshot capture(const Source& src, const CaptureOptions& opts = {});

// Snapshot files: the JSON `threadleak snapshot` writes and every command reads.
std::string to_snapshot_json(const Snapshot& snap);
// Throws Error naming `origin` when the text is malformed or of a future version.
Snapshot from_snapshot_json(const std::string& text, const std::string& origin);

// Rendering. Renderers never compute: give them the groups or the diff.
struct TextOptions {
  std::size_t top = 0;                   // show at most this many groups (0 = all)
  std::size_t max_tids = 8;              // TIDs listed per group before "..."
  bool verbose = false;                  // also list modules and warnings in full
  bool color = false;                    // ANSI colours (the front end decides: a terminal, NO_COLOR)
  bool show_go_runtime = false;          // also print the Go runtime's own threads and goroutines (folded by default)
};
std::string render_text(const Snapshot& snap, const std::vector<Group>& groups, const TextOptions& o);
std::string render_text(const Diff& d, const TextOptions& o);
std::string render_json(const Snapshot& snap, const std::vector<Group>& groups);
std::string render_json(const Diff& d);

// Folded stacks, as flamegraph.pl and speedscope read them: one line per
// distinct stack, "outermost;...;innermost COUNT", largest first. For a diff,
// the grown groups only, each counted by its growth.
std::string render_folded(const Snapshot& snap, const std::vector<Group>& groups);
std::string render_folded(const Diff& d);

// One self-contained HTML page (inline CSS, JS and SVG; it loads nothing):
// a summary line, the groups as a table whose rows expand to the full stack,
// and an icicle graph of all threads (width = threads, colour = state).
std::string render_html(const Snapshot& snap, const std::vector<Group>& groups);
// A diff: the groups of `current` (grouped as the diff was), the grown ones
// highlighted with baseline -> current, then the groups that shrank.
std::string render_html(const Diff& d, const Snapshot& current, const std::vector<Group>& current_groups);

// Several snapshots: per group its count in each, leaking groups first.
std::string render_text(const Series& s, const TextOptions& o);
std::string render_json(const Series& s);
// Folded stacks of the leaking groups, each counted by its growth (last -
// first); a page with per group its count in each snapshot, leaking ones
// highlighted, and the icicle of the last snapshot's groups.
std::string render_folded(const Series& s);
std::string render_html(const Series& s);

// One log channel for the library; front ends route it (stderr with -v, ...).
// The default sink discards messages.
using LogSink = std::function<void(const std::string&)>;
void set_log_sink(LogSink sink);

}  // namespace threadleak
