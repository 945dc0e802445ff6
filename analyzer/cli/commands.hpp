// Subcommands that live in files of their own, registered from main.cpp.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "output.hpp"
#include "threadleak/threadleak.hpp"

namespace cli {

// A registered subcommand: `app` is set when the user chose it; `run`
// returns the exit status and may throw threadleak::Error.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

// `threadleak watch --pid PID --interval 30s [--count N] [--out DIR]`.
Command add_watch_command(CLI::App& app);

// `threadleak diff S1 S2 S3 ...` (three or more): the series report. Exit 1
// when a group is leaking. Every format: folded and html show the leaking groups.
int run_series(const std::vector<threadleak::Source>& sources, const threadleak::DiffOptions& opts, Format fmt,
               const threadleak::TextOptions& text, const std::string& out);

}  // namespace cli
