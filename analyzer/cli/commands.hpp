// The subcommands, each declared the same way: add_X_command registers it
// on the app with its options (inputs and outputs from options.hpp) and
// returns a Command; main runs the one the user chose. `run` returns the
// exit status (or ends the process through exit_now) and may throw
// threadleak::Error.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include <CLI/CLI.hpp>

#include "options.hpp"

namespace cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

// Registers subcommand `name` with its input options (Args::in) and makes
// the arguments its options fill; both live as long as the app:
//   auto [cmd, a] = new_command<HangArgs>(app, "hang", kHangHelp, Inputs::one);
template <typename Args>
std::pair<CLI::App*, std::shared_ptr<Args>> new_command(CLI::App& app, const std::string& name,
                                                        const std::string& help, Inputs inputs) {
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(name, help);
  add_input_options(cmd, args->in, inputs);
  return {cmd, std::move(args)};
}

// `threadleak stacks (INPUT | --pid PID)`: threads grouped by identical stack.
Command add_stacks_command(CLI::App& app);
// `threadleak snapshot (INPUT | --pid PID) -o FILE`: a snapshot file.
Command add_snapshot_command(CLI::App& app);
// `threadleak diff BASELINE CURRENT [MORE...]`: what grew; exit 1 when something did.
Command add_diff_command(CLI::App& app);
// `threadleak watch --pid PID [--interval 30s] [--count N] [-o DIR]`.
Command add_watch_command(CLI::App& app);
// `threadleak hang (INPUT | --pid PID)`: who waits for whom; exit 1 on a deadlock.
Command add_hang_command(CLI::App& app);

}  // namespace cli
