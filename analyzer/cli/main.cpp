// threadleak: the command-line front end. Parses arguments, calls the
// analyzer facade, prints. Exit status: 0 fine / nothing grew, 1 something
// grew (diff), 2 error.
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <future>
#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "output.hpp"
#include "hang_command.hpp"
#include "threadleak/hang.hpp"
#include "threadleak/threadleak.hpp"

namespace {

constexpr int kExitError = 2;

struct InputArgs {
  std::string file;
  int pid = 0;
  std::string exe, sysroot;
  std::vector<std::string> debug_dirs;
  std::string regs;      // debugger feed: registers of every thread ("-" = stdin)
  int mem_fd = -1;       // debugger feed: an open /proc/PID/mem
};

struct OutputArgs {
  bool json = false;
  std::string out;
  std::string group_by = "pc";
  std::size_t top = 0;
  cli::FormatArgs fmt;
  cli::Format format() const { return cli::resolve(fmt, json); }
  threadleak::TextOptions text(bool verbose = false) const {
    return {.top = top, .verbose = verbose, .color = cli::color_wanted(fmt, out),
            .show_go_runtime = go_runtime};
  }
  bool go_runtime = false;
};

void add_source_options(CLI::App* cmd, InputArgs& in) {
  cmd->add_option("--exe", in.exe, "the main executable, when the core's record of it is wrong or missing");
  cmd->add_option("--sysroot", in.sysroot, "look for the modules (a core's or a live process's) under this directory first");
  cmd->add_option("--debug-dir", in.debug_dirs, "where separate debug info lives (repeatable)");
}

void add_input(CLI::App* cmd, InputArgs& in) {
  auto* file = cmd->add_option("INPUT", in.file, "a core file or a snapshot file");
  auto* pid = cmd->add_option("--pid,-p", in.pid, "a live process");
  file->excludes(pid);
  auto* regs = cmd->add_option("--regs", in.regs, "with --pid, from a debugger that holds it stopped: "
                                                  "registers of every thread, a file or '-' (docs/debuggers.md)");
  auto* mem = cmd->add_option("--mem-fd", in.mem_fd, "with --regs: an open descriptor of /proc/PID/mem");
  regs->needs(pid)->needs(mem);
  mem->needs(regs);
  add_source_options(cmd, in);
}

void add_output(CLI::App* cmd, OutputArgs& o) {
  auto* json = cmd->add_flag("--json", o.json, "JSON output, short for --format json (schema: docs/threadleak.schema.json)");
  cli::add_format_options(cmd, o.fmt, json);
  cmd->add_option("-o,--output", o.out, "write to this file instead of stdout");
  cmd->add_option("--group-by", o.group_by, "how finely stacks are told apart")
      ->check(CLI::IsMember({"pc", "function"}));
}

threadleak::Source to_source(const InputArgs& in, const std::string& file) {
  threadleak::Source s;
  s.file = file;
  s.pid = file.empty() ? in.pid : 0;
  s.exe = in.exe;
  s.sysroot = in.sysroot;
  s.debug_dirs = in.debug_dirs;
  if (file.empty()) { s.regs_file = in.regs; s.mem_fd = in.mem_fd; }
  return s;
}

void require_input(const InputArgs& in) {
  if (in.file.empty() && in.pid == 0) throw threadleak::Error("give a core file, a snapshot file or --pid PID");
}

threadleak::GroupBy group_by(const std::string& s) {
  return s == "function" ? threadleak::GroupBy::function : threadleak::GroupBy::pc;
}

int run_stacks(const InputArgs& in, const OutputArgs& o) {
  require_input(in);
  threadleak::Snapshot snap = threadleak::capture(to_source(in, in.file), cli::ends_soon());
  auto groups = threadleak::group(snap, {group_by(o.group_by)});
  auto hang = threadleak::analyze_hang(snap);
  switch (o.format()) {
    case cli::Format::text: cli::write_output(threadleak::render_text(snap, groups, hang, o.text()), o.out); break;
    case cli::Format::json: cli::write_output(threadleak::render_json(snap, groups, hang), o.out); break;
    default: cli::write_output(cli::render(o.format(), snap, groups, o.text()), o.out); break;
  }
  for (const auto& w : snap.warnings)
    if (o.format() != cli::Format::text) std::fprintf(stderr, "threadleak: warning: %s\n", w.c_str());
  cli::exit_now(0);
}

int run_snapshot(const InputArgs& in, const std::string& out) {
  require_input(in);
  threadleak::Snapshot snap = threadleak::capture(to_source(in, in.file), cli::ends_soon());
  for (const auto& w : snap.warnings) std::fprintf(stderr, "threadleak: warning: %s\n", w.c_str());
  cli::write_output(threadleak::to_snapshot_json(snap), out);
  if (out != "-")
    std::fprintf(stderr, "threadleak: saved %zu threads of %s to %s\n", snap.threads.size(),
                 snap.origin.c_str(), out.c_str());
  cli::exit_now(0);
}

struct DiffArgs {
  std::vector<std::string> inputs;  // two: baseline and current; more: a series
  std::vector<std::string> ignore_top, ignore_any;
  std::size_t min_growth = 1;
  bool verbose = false;
};

threadleak::DiffOptions diff_options(const DiffArgs& a, const OutputArgs& o) {
  threadleak::DiffOptions opts;
  opts.grouping.by = group_by(o.group_by);
  opts.ignore_top = a.ignore_top;
  opts.ignore_any = a.ignore_any;
  opts.min_growth = a.min_growth;
  return opts;
}

int run_diff(const InputArgs& in, const DiffArgs& a, const OutputArgs& o) {
  if (a.inputs.size() > 2) {
    std::vector<threadleak::Source> sources;
    for (const auto& f : a.inputs) sources.push_back(to_source(in, f));
    return cli::run_series(sources, diff_options(a, o), o.format(), o.text(a.verbose), o.out);
  }
  // The two captures run side by side (each is mostly one core's work);
  // the baseline's error, if both fail, is the one reported.
  auto base_later = std::async(std::launch::async, [&] { return threadleak::capture(to_source(in, a.inputs[0]), cli::ends_soon()); });
  std::optional<threadleak::Snapshot> cur_or;
  std::exception_ptr cur_failed;
  try {
    cur_or = threadleak::capture(to_source(in, a.inputs[1]), cli::ends_soon());
  } catch (...) {
    cur_failed = std::current_exception();
  }
  threadleak::Snapshot base = base_later.get();
  if (cur_failed) std::rethrow_exception(cur_failed);
  threadleak::Snapshot cur = std::move(*cur_or);
  for (const auto* s : {&base, &cur})
    for (const auto& w : s->warnings) std::fprintf(stderr, "threadleak: warning: %s: %s\n", s->origin.c_str(), w.c_str());
  threadleak::DiffOptions opts = diff_options(a, o);
  threadleak::Diff d = threadleak::diff(base, cur, opts);
  std::vector<threadleak::Group> cur_groups;
  if (o.format() == cli::Format::html) cur_groups = threadleak::group(cur, opts.grouping);
  cli::write_output(cli::render(o.format(), d, cur, cur_groups, o.text(a.verbose)), o.out);
  cli::exit_now(d.grew() ? 1 : 0);
}

}  // namespace

// A run of threadleak is short and allocates in bursts (a thread's notes,
// its frames, libdw's inflated debug sections): keep what the heap gets
// instead of trimming it back and faulting fresh pages in again (10,000
// threads: ~8,500 page faults -> ~8,200, 0.13 s -> 0.12 s of wall time).
void tune_malloc() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);   // the largest glibc accepts
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
}

int main(int argc, char** argv) {
  tune_malloc();
  CLI::App app{"threadleak: what every thread is doing, grouped; and what grew since a baseline"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "threadleak 0.1.0");
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "log where modules and debug info came from (stderr)");

  InputArgs in;
  OutputArgs out;
  auto* stacks = app.add_subcommand("stacks", "threads grouped by identical stacks, largest group first");
  add_input(stacks, in);
  add_output(stacks, out);
  stacks->add_option("--top", out.top, "show only the N largest groups");
  stacks->add_flag("--go-runtime", out.go_runtime, "also show the Go runtime's own OS threads and goroutines");

  std::string snap_out;
  auto* snapshot = app.add_subcommand("snapshot", "save a snapshot file: a baseline without keeping the core");
  add_input(snapshot, in);
  snapshot->add_option("-o,--output", snap_out, "the snapshot file to write ('-' for stdout)")->required();

  DiffArgs da;
  auto* diff = app.add_subcommand("diff", "what grew from BASELINE to CURRENT (cores or snapshot files); "
                                          "with more snapshots, what grew across all of them; "
                                          "exit 1 when something grew");
  diff->add_option("SNAPSHOTS", da.inputs,
                   "BASELINE CURRENT [MORE...]: cores or snapshot files, oldest first; with three or more, a group leaks only "
                   "when it grows monotonically across them")
      ->required()
      ->expected(2, 1 << 20);
  add_source_options(diff, in);
  add_output(diff, out);
  diff->add_option("--ignore-top", da.ignore_top, "ignore threads with this function on top (repeatable)");
  diff->add_option("--ignore-any", da.ignore_any, "ignore threads with this function anywhere (repeatable)");
  diff->add_option("--min-growth", da.min_growth, "report a group only when it grew by at least N")
      ->check(CLI::PositiveNumber);
  diff->add_flag("--show-shrunk", da.verbose, "also print the stacks of groups that shrank");

  cli::Command watch = cli::add_watch_command(app);

  auto* hang = threadleak::cli::add_hang_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitError;
  }
  if (verbose) threadleak::set_log_sink([](const std::string& m) { std::fprintf(stderr, "threadleak: %s\n", m.c_str()); });
  try {
    if (*stacks) return run_stacks(in, out);
    if (*snapshot) return run_snapshot(in, snap_out);
    if (*diff) return run_diff(in, da, out);
    if (*watch.app) return watch.run();
    if (*hang) return threadleak::cli::run_hang_command();
  } catch (const threadleak::Error& e) {
    std::fprintf(stderr, "threadleak: %s\n", e.what());
    return kExitError;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "threadleak: internal error: %s\n", e.what());
    return kExitError;
  }
  return kExitError;
}
