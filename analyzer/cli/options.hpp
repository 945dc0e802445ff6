// The options subcommands share, declared in one place: what to read
// (INPUT | --pid, with --exe/--sysroot/--debug-dir and the debugger feed's
// --regs/--mem-fd) and where and how to write (-o/--output, --format,
// --json, --color, --group-by).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "output.hpp"
#include "threadleak/threadleak.hpp"

namespace cli {

struct InputArgs {
  std::vector<std::string> files;        // cores or snapshot files
  int pid = 0;                           // a live process
  std::string exe, sysroot;
  std::vector<std::string> debug_dirs;
  std::string regs;                      // debugger feed: every thread's registers ("-" = stdin)
  int mem_fd = -1;                       // debugger feed: an open /proc/PID/mem
};

// What a subcommand reads.
enum class Inputs {
  one,        // INPUT (a core or snapshot file) or --pid PID [--regs R --mem-fd N]
  several,    // SNAPSHOTS...: two or more cores or snapshot files, oldest first
  live,       // --pid PID (required)
};
void add_input_options(CLI::App* cmd, InputArgs& in, Inputs which);

// The one input of an Inputs::one or ::live command; throws Error when none was given.
threadleak::Source the_source(const InputArgs& in);
// One of several files, with the shared --exe/--sysroot/--debug-dir.
threadleak::Source file_source(const InputArgs& in, const std::string& file);

struct OutputArgs {
  std::string out;                       // -o/--output; "" or "-" = stdout
  bool json = false;
  FormatArgs fmt;
  std::string group_by = "pc";
  Format format() const { return resolve(fmt, json); }
  bool color() const { return color_wanted(fmt, out); }
  threadleak::GroupBy grouping() const;
};
// -o/--output FILE, --json, --format, --color, --group-by.
void add_output_options(CLI::App* cmd, OutputArgs& o, const std::string& schema);
// --group-by alone (for commands with an output of their own).
void add_group_by_option(CLI::App* cmd, std::string& group_by);
threadleak::GroupBy grouping_of(const std::string& group_by);
// A repeatable option that names groups by fingerprint (4 to 12 hex digits,
// a prefix of the [fingerprint] the reports show): --group, --ignore-group.
CLI::Option* add_fingerprint_option(CLI::App* cmd, const std::string& name, std::vector<std::string>& into,
                                    const std::string& help);

// The ignore rules of diff and watch (threadleak::DiffOptions):
// --ignore-top, --ignore-any, --ignore-created-by, --ignore-group, and
// --expect FILE (docs/expect.md), whose [ignore] rules add to them.
struct IgnoreArgs {
  std::vector<std::string> top, any, created_by, groups;
  std::string expect;
  void apply_to(threadleak::DiffOptions& opts) const;
  // --expect's file, read and checked (throws Error), or nothing.
  std::optional<threadleak::Expectations> expectations() const;
};
// Prints a verdict's lines (leaks, allowed groups, threads not unwound) and
// returns its exit status: 0, 1 or 3.
int verdict_status(const threadleak::Verdict& v);
void add_ignore_options(CLI::App* cmd, IgnoreArgs& ignore);

}  // namespace cli
