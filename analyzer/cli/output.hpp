// Report formats and colour for the CLI's subcommands (stacks, diff, and any
// later one such as hang): --format text|json|folded|html|pprof|metrics
// (--json is short for --format json), --color auto|always|never, NO_COLOR.
//
// A new subcommand calls add_format_options() on its CLI::App, then renders
// with render() (or, for a report type of its own, picks by resolve()):
//
//   cli::FormatArgs fa;
//   cli::add_format_options(cmd, fa, json_flag);
//   ...
//   std::string page = cli::render(cli::resolve(fa, json), snap, groups, {.color = cli::color_wanted(fa, out)});
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "threadleak/threadleak.hpp"

namespace cli {

enum class Format { text, json, folded, html, pprof, metrics };

struct FormatArgs {
  std::string format = "text";
  std::string color = "auto";
};

// Adds --format and --color; `json_flag` (may be null) is the --json short
// form, which then excludes --format.
void add_format_options(CLI::App* cmd, FormatArgs& f, CLI::Option* json_flag);

Format resolve(const FormatArgs& f, bool json);

// Colour for text: --color=always, or auto with stdout a terminal (no -o
// file) and NO_COLOR unset or empty. --color=always overrides NO_COLOR.
bool color_wanted(const FormatArgs& f, const std::string& out_path);

std::string render(Format fmt, const threadleak::Snapshot& snap, const std::vector<threadleak::Group>& groups,
                   const threadleak::TextOptions& text);
std::string render(Format fmt, const threadleak::Diff& d, const threadleak::TextOptions& text);

// pprof is gzip-compressed binary: refused (Error) when it would go to a
// terminal, i.e. no -o FILE and stdout a tty. Call before the capture.
void refuse_binary_to_terminal(Format fmt, const std::string& path);

// Writes to `path`, or stdout when it is empty or "-"; throws Error on failure.
void write_output(const std::string& text, const std::string& path);

// Ends the process with `status` once the report is out, without tearing
// down the snapshot: freeing ~130,000 frames of a 10,000-thread core one by
// one takes longer than the kernel takes to drop the whole address space.
[[noreturn]] void exit_now(int status);

// capture() for a command that ends with exit_now: what reading the source
// took (a core's buffers, libdw's debug info) is left to the exit too.
threadleak::Snapshot capture_until_exit(const threadleak::Source& src);

}  // namespace cli
