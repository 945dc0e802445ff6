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
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "threadleak/analysis.hpp"
#include "threadleak/expect.hpp"
#include "threadleak/snapshot.hpp"

namespace threadleak {

// What kind of problem stopped a capture or a report. The CLI maps each to
// its exit status (docs/cli.md) and names it in `--diagnostics json`.
enum class ErrorKind {
  bad_input,        // the input is not what it should be: not a core, truncated, malformed, bad option
  not_found,        // no such file or process
  permission,       // the file or the process may not be read by this user
  target_vanished,  // the live process exited while it was being read
  internal,         // a bug in threadleak
};
// "bad_input", "not_found", "permission", "target_vanished", "internal".
const char* to_string(ErrorKind k);
// The kind of an errno from opening or reading an input: ENOENT and ESRCH
// not_found, EACCES and EPERM permission, anything else bad_input.
ErrorKind error_kind_of_errno(int err);

// A fatal, user-facing error: one line, names the input and the problem.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what, ErrorKind kind = ErrorKind::bad_input)
      : std::runtime_error(what), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

// Where to look, and with what help. Made by one of the named
// constructors, which say what is read; the with_ calls add help:
//
//   auto core = threadleak::Source::path("core.1").with_sysroot("/srv/image");
//   auto live = threadleak::Source::live(1234);
struct Source {
  enum class Kind {
    file,       // a core (plain, zstd, lz4 or xz) or a snapshot file, told apart by content
    live,       // a live process, frozen with ptrace for the capture
    debugger,   // a live process a debugger holds stopped (docs/debuggers.md)
  };
  Kind kind = Kind::file;
  std::string file;                      // Kind::file: the path
  int pid = 0;                           // Kind::live, Kind::debugger
  std::string regs_file;                 // Kind::debugger: every thread's registers (a file, "-" = stdin)
  int mem_fd = -1;                       // Kind::debugger: an open /proc/PID/mem the debugger keeps open
  std::string exe;                       // the main executable, overriding the core's record
  std::string sysroot;                   // prefix for module paths (a container's root, a foreign core's image)
  std::vector<std::string> debug_dirs;   // where separate debug info lives

  static Source path(std::string p) {
    Source s;
    s.file = std::move(p);
    return s;
  }
  static Source live(int pid) {
    Source s;
    s.kind = Kind::live;
    s.pid = pid;
    return s;
  }
  static Source debugger(int pid, std::string regs_file, int mem_fd) {
    Source s;
    s.kind = Kind::debugger;
    s.pid = pid;
    s.regs_file = std::move(regs_file);
    s.mem_fd = mem_fd;
    return s;
  }
  Source with_exe(std::string path) const { Source s = *this; s.exe = std::move(path); return s; }
  Source with_sysroot(std::string dir) const { Source s = *this; s.sysroot = std::move(dir); return s; }
  Source with_debug_dirs(std::vector<std::string> dirs) const { Source s = *this; s.debug_dirs = std::move(dirs); return s; }
};

struct CaptureOptions {
  unsigned max_frames = 256;             // per thread; deeper stacks are cut and marked truncated
};

// Reads the source and returns a symbolized, classified Snapshot.
// Throws Error for inputs that give no true answer at all.
Snapshot capture(const Source& src, const CaptureOptions& opts = {});

// The same, but what reading took (a core's buffers, libdw's debug info) is
// handed to the caller in `held` instead of freed before returning; it is
// freed when the last copy of `held` goes. A process that exits right after
// its report need not pay for the freeing (10,000 threads: ~5 ms).
struct Capture {
  Snapshot snapshot;
  std::shared_ptr<void> held;
};
Capture capture_holding(const Source& src, const CaptureOptions& opts = {});

// Snapshot files: the JSON `threadleak snapshot` writes and every command reads.
std::string to_snapshot_json(const Snapshot& snap);
// Throws Error naming `origin` when the text is malformed or of a future version.
Snapshot from_snapshot_json(const std::string& text, const std::string& origin);

// Rendering. Renderers never compute: give them the groups or the diff.
struct TextOptions {
  std::size_t top = 0;                   // show at most this many groups (0 = all)
  std::size_t max_tids = 8;              // TIDs listed per group before "..."
  bool show_shrunk = false;              // diff: also print the stacks of groups that shrank
  bool color = false;                    // ANSI colours (the front end decides: a terminal, NO_COLOR)
  bool show_go_runtime = false;          // also print the Go runtime's own threads and goroutines (folded by default)
  std::size_t groups_before_filter = 0;  // the groups given are a selection (stacks --group) of this many
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
// A diff: the current groups (Diff::current_groups), the grown ones
// highlighted with baseline -> current, then the groups that shrank.
std::string render_html(const Diff& d);

// pprof (docs/pprof.md): a gzip-compressed profile.proto, as `go tool pprof`
// and other pprof readers take it; binary, for a file. One sample per group,
// valued by its members, with its stack (inlined calls in their location),
// the modules as mappings (build-ids) and labels (state, fingerprint; for
// goroutines the wait reason and creator). Sample types: "threads", or for a Go program
// "goroutines" then "threads" (each sample counts in its kind's column).
struct PprofOptions {
  bool go_runtime = false;               // also the Go runtime's own threads and goroutines (labelled go_runtime)
};
std::string render_pprof(const Snapshot& snap, const std::vector<Group>& groups, const PprofOptions& o = {});
// A diff: the current groups (Diff::current_groups) as a snapshot's, plus
// "grown_threads" (and "grown_goroutines") columns with each group's growth,
// the type shown first; `go tool pprof -sample_index=threads` shows the counts.
std::string render_pprof(const Diff& d);
// Several snapshots: the last counts, and the growth of the groups that grew.
std::string render_pprof(const Series& s);

// Metrics for Prometheus (docs/metrics.md): per group a gauge
// threadleak_group_members{fingerprint,state,function,kind,executable} for
// the largest `top` groups plus one fingerprint="other" series summing the
// rest (so the series count stays bounded), and per process
// threadleak_groups, threadleak_threads, threadleak_goroutines (Go),
// threadleak_capture_duration_seconds and threadleak_capture_pause_seconds
// (live) from Snapshot::cost. Label values are escaped, made valid UTF-8
// and cut at 256 bytes.
//
//   threadleak::MetricsOptions o;
//   o.top = 20;
//   std::string page = threadleak::render_metrics(snap, threadleak::group(snap, {}), o);
struct MetricsOptions {
  std::size_t top = 50;                      // groups with a series of their own
  bool openmetrics = false;                  // OpenMetrics 1.0 text (ends "# EOF") instead of Prometheus text 0.0.4
  std::optional<double> captured_unix_seconds;  // adds threadleak_snapshot_timestamp_seconds
};
std::string render_metrics(const Snapshot& snap, const std::vector<Group>& groups, const MetricsOptions& o);

// Several snapshots: per group its count in each, grown groups first.
std::string render_text(const Series& s, const TextOptions& o);
std::string render_json(const Series& s);
// Folded stacks of the grown groups, each counted by its growth (last -
// first); a page with per group its count in each snapshot, grown ones
// highlighted, and the icicle of the last snapshot's groups.
std::string render_folded(const Series& s);
std::string render_html(const Series& s);

// One log channel for the library; front ends route it (stderr with -v, ...).
// The default sink discards messages.
using LogSink = std::function<void(const std::string&)>;
void set_log_sink(LogSink sink);

}  // namespace threadleak
