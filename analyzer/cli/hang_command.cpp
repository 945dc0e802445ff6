// `threadleak hang (INPUT | --pid PID) [--format text|json|folded|html] [-o FILE]`:
// deadlock cycles, blockers, orphaned locks, the crashed thread.
#include <memory>

#include "commands.hpp"
#include "diagnostics.hpp"
#include "options.hpp"
#include "threadleak/hang.hpp"

namespace cli {
namespace {

struct HangArgs {
  InputArgs in;
  OutputArgs out;
};

// folded and metrics: the snapshot's stacks (as `stacks --format folded` or
// `--format metrics`); the hang findings have no such form.
std::string render_hang(Format f, const threadleak::Snapshot& snap, const threadleak::HangReport& h,
                        const std::vector<threadleak::Group>& groups, bool color) {
  switch (f) {
    case Format::json: return threadleak::render_hang_json(snap, h);
    case Format::folded: return threadleak::render_folded(snap, groups);
    case Format::html: return threadleak::render_hang_html(snap, h, groups);
    case Format::metrics: return threadleak::render_metrics(snap, groups, {});
    case Format::text: break;
  }
  return threadleak::render_hang_text(snap, h, {.color = color});
}

int run_hang(const HangArgs& a) {
  threadleak::Snapshot snap = capture_until_exit(the_source(a.in));
  warn_all(snap.warnings);
  threadleak::HangReport h = threadleak::analyze_hang(snap);
  auto groups = threadleak::group(snap, {a.out.grouping()});
  write_output(render_hang(a.out.format(), snap, h, groups, a.out.color()), a.out.out);
  exit_now(h.deadlocked() ? 1 : 0);
}

}  // namespace

Command add_hang_command(CLI::App& app) {
  auto a = std::make_shared<HangArgs>();
  auto* cmd = app.add_subcommand("hang", "who is everyone waiting for: deadlock cycles, lock owners, orphaned "
                                         "locks, the crashed thread; exit 1 on a deadlock");
  add_input_options(cmd, a->in, Inputs::one);
  add_output_options(cmd, a->out, "docs/schema/hang.schema.json");
  return {cmd, [a] { return run_hang(*a); }};
}

}  // namespace cli
