// `threadleak hang`: deadlock cycles, blockers, orphaned locks, the crashed
// thread. Registered on the CLI app by main.cpp; exit 1 on a deadlock.
#pragma once

#include <CLI/CLI.hpp>

namespace threadleak::cli {

// Adds the `hang` subcommand to app; returns it (test `*sub` after parsing).
CLI::App* add_hang_command(CLI::App& app);
// Runs it with the parsed arguments: 0 no deadlock, 1 deadlock; throws
// threadleak::Error on bad input (main maps that to exit 2).
int run_hang_command();

}  // namespace threadleak::cli
