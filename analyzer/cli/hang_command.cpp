// `threadleak hang (CORE | --pid PID | SNAPSHOT) [--format text|json|folded|html] [-o FILE]`.
#include "hang_command.hpp"

#include <cstdio>

#include "output.hpp"
#include "threadleak/hang.hpp"

namespace threadleak::cli {
namespace {

struct HangArgs {
  std::string file, exe, sysroot, out;
  int pid = 0;
  std::vector<std::string> debug_dirs;
  bool json = false;
  ::cli::FormatArgs fmt;
};

HangArgs& args() {
  static HangArgs a;
  return a;
}

// folded: the snapshot's stacks (as `stacks --format folded`), for a flame
// graph of the hung process; the hang findings have no folded form.
std::string render(::cli::Format f, const Snapshot& snap, const HangReport& h, bool color) {
  switch (f) {
    case ::cli::Format::json: return render_hang_json(snap, h);
    case ::cli::Format::folded: return render_folded(snap, group(snap, {}));
    case ::cli::Format::html: return render_hang_html(snap, h, group(snap, {}));
    case ::cli::Format::text: break;
  }
  return render_hang_text(snap, h, {.color = color});
}

}  // namespace

CLI::App* add_hang_command(CLI::App& app) {
  HangArgs& a = args();
  auto* cmd = app.add_subcommand("hang", "who is everyone waiting for: deadlock cycles, lock owners, orphaned "
                                         "locks, the crashed thread; exit 1 on a deadlock");
  auto* file = cmd->add_option("INPUT", a.file, "a core file or a snapshot file");
  cmd->add_option("--pid,-p", a.pid, "a live process")->excludes(file);
  cmd->add_option("--exe", a.exe, "the main executable, when the core's record of it is wrong or missing");
  cmd->add_option("--sysroot", a.sysroot, "look for the modules (a core's or a live process's) under this directory first");
  cmd->add_option("--debug-dir", a.debug_dirs, "where separate debug info lives (repeatable)");
  auto* json = cmd->add_flag("--json", a.json, "JSON output, short for --format json (schema: docs/hang.schema.json)");
  ::cli::add_format_options(cmd, a.fmt, json);
  cmd->add_option("-o,--output", a.out, "write to this file instead of stdout");
  return cmd;
}

int run_hang_command() {
  const HangArgs& a = args();
  if (a.file.empty() && a.pid == 0) throw Error("give a core file, a snapshot file or --pid PID");
  Source src;
  src.file = a.file;
  src.pid = a.file.empty() ? a.pid : 0;
  src.exe = a.exe;
  src.sysroot = a.sysroot;
  src.debug_dirs = a.debug_dirs;
  Snapshot snap = capture(src, ::cli::ends_soon());
  for (const auto& w : snap.warnings) std::fprintf(stderr, "threadleak: warning: %s\n", w.c_str());
  HangReport h = analyze_hang(snap);
  ::cli::write_output(render(::cli::resolve(a.fmt, a.json), snap, h, ::cli::color_wanted(a.fmt, a.out)), a.out);
  ::cli::exit_now(h.deadlocked() ? 1 : 0);
}

}  // namespace threadleak::cli
