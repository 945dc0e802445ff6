// `threadleak stacks (INPUT | --pid PID)` and `threadleak snapshot ... -o FILE`:
// one capture, reported or saved.
#include <algorithm>
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "diagnostics.hpp"
#include "options.hpp"
#include "threadleak/hang.hpp"

namespace cli {
namespace {

struct StacksArgs {
  InputArgs in;
  OutputArgs out;
  std::size_t top = 0;
  bool go_runtime = false;
  std::vector<std::string> only_groups;   // --group FP
};

// --group: only the groups whose fingerprint starts with one of `wanted`;
// returns how many there were before (0 without --group).
std::size_t keep_named(std::vector<threadleak::Group>& groups, const std::vector<std::string>& wanted) {
  if (wanted.empty()) return 0;
  std::size_t all = groups.size();
  std::erase_if(groups, [&](const threadleak::Group& g) {
    return std::none_of(wanted.begin(), wanted.end(),
                        [&](const std::string& w) { return threadleak::fingerprint_matches(g.fingerprint, w); });
  });
  note(fmt::format("--group: showing {} of {} groups", groups.size(), all));
  return all;
}

int run_stacks(const StacksArgs& a) {
  threadleak::Snapshot snap = capture_until_exit(the_source(a.in));
  warn_all(snap.warnings);
  auto groups = threadleak::group(snap, {a.out.grouping()});
  std::size_t before = keep_named(groups, a.only_groups);
  auto hang = threadleak::analyze_hang(snap);
  threadleak::TextOptions text{.top = a.top, .color = a.out.color(), .show_go_runtime = a.go_runtime,
                               .groups_before_filter = before};
  switch (a.out.format()) {
    case Format::text: write_output(threadleak::render_text(snap, groups, hang, text), a.out.out); break;
    case Format::json: write_output(threadleak::render_json(snap, groups, hang), a.out.out); break;
    default: write_output(render(a.out.format(), snap, groups, text), a.out.out); break;
  }
  exit_now(0);
}

struct SnapshotArgs {
  InputArgs in;
  std::string out;
};

int run_snapshot(const SnapshotArgs& a) {
  threadleak::Snapshot snap = capture_until_exit(the_source(a.in));
  warn_all(snap.warnings);
  write_output(threadleak::to_snapshot_json(snap), a.out);
  if (a.out != "-") note(fmt::format("saved {} threads of {} to {}", snap.threads.size(), snap.origin, a.out));
  exit_now(0);
}

}  // namespace

Command add_stacks_command(CLI::App& app) {
  auto a = std::make_shared<StacksArgs>();
  auto* cmd = app.add_subcommand("stacks", "threads grouped by identical stacks, largest group first");
  add_input_options(cmd, a->in, Inputs::one);
  add_output_options(cmd, a->out, "docs/schema/stacks.schema.json");
  cmd->add_option("--top", a->top, "show only the N largest groups");
  cmd->add_flag("--go-runtime", a->go_runtime, "also show the Go runtime's own OS threads and goroutines");
  add_fingerprint_option(cmd, "--group", a->only_groups,
                         "show only the group with this fingerprint, or a prefix of it (repeatable)");
  return {cmd, [a] { return run_stacks(*a); }};
}

Command add_snapshot_command(CLI::App& app) {
  auto a = std::make_shared<SnapshotArgs>();
  auto* cmd = app.add_subcommand("snapshot", "save a snapshot file: a baseline without keeping the core "
                                             "(schema: docs/schema/snapshot.schema.json)");
  add_input_options(cmd, a->in, Inputs::one);
  cmd->add_option("-o,--output", a->out, "the snapshot file to write ('-' for stdout)")->required();
  return {cmd, [a] { return run_snapshot(*a); }};
}

}  // namespace cli
