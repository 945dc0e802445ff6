// threadleak: the command-line front end. Parses arguments, calls the
// analyzer facade, prints. Exit status (docs/cli.md): 0 nothing grew, 1
// something grew (diff, watch) or a deadlock (hang), 2 an input problem,
// 70 an internal error.
#include <malloc.h>

#include <exception>
#include <vector>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "diagnostics.hpp"
#include "threadleak/threadleak.hpp"

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
  std::string diagnostics = "text";
  app.add_option("--diagnostics", diagnostics, "warnings and errors on stderr as text lines or JSON lines "
                                               "(for programs; docs/cli.md)")
      ->check(CLI::IsMember({"text", "json"}));

  std::vector<cli::Command> commands = {cli::add_stacks_command(app), cli::add_snapshot_command(app),
                                        cli::add_diff_command(app), cli::add_watch_command(app),
                                        cli::add_hang_command(app)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return cli::kExitInputError;
  }
  cli::set_diagnostics(diagnostics == "json" ? cli::Diagnostics::json : cli::Diagnostics::text);
  if (verbose) threadleak::set_log_sink([](const std::string& m) { cli::note(m); });
  try {
    for (const cli::Command& c : commands)
      if (*c.app) return c.run();
  } catch (const threadleak::Error& e) {
    return cli::report_error(e.what(), e.kind());
  } catch (const std::exception& e) {
    return cli::report_error(e.what(), threadleak::ErrorKind::internal);
  }
  return cli::kExitInputError;
}
