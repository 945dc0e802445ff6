// `threadleak hang (CORE | --pid PID | SNAPSHOT) [--json]`.
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
};

HangArgs& args() {
  static HangArgs a;
  return a;
}

}  // namespace

CLI::App* add_hang_command(CLI::App& app) {
  HangArgs& a = args();
  auto* cmd = app.add_subcommand("hang", "who is everyone waiting for: deadlock cycles, lock owners, orphaned "
                                         "locks, the crashed thread; exit 1 on a deadlock");
  auto* file = cmd->add_option("INPUT", a.file, "a core file or a snapshot file");
  cmd->add_option("--pid,-p", a.pid, "a live process")->excludes(file);
  cmd->add_option("--exe", a.exe, "the main executable, when the core's record of it is wrong or missing");
  cmd->add_option("--sysroot", a.sysroot, "look for the core's modules under this directory");
  cmd->add_option("--debug-dir", a.debug_dirs, "where separate debug info lives (repeatable)");
  cmd->add_flag("--json", a.json, "JSON output (schema: docs/hang.schema.json)");
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
  Snapshot snap = capture(src);
  for (const auto& w : snap.warnings) std::fprintf(stderr, "threadleak: warning: %s\n", w.c_str());
  HangReport h = analyze_hang(snap);
  ::cli::write_output(a.json ? render_hang_json(snap, h) : render_hang_text(snap, h, {}), a.out);
  return h.deadlocked() ? 1 : 0;
}

}  // namespace threadleak::cli
