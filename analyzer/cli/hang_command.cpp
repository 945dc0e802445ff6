// `threadleak hang (INPUT | --pid PID) [--format text|json|folded|html|pprof] [-o FILE]`:
// deadlock cycles, blockers, orphaned locks, the crashed thread.
#include <memory>

#include "commands.hpp"
#include "diagnostics.hpp"
#include "options.hpp"
#include "threadleak/hang.hpp"

namespace cli {
namespace {

// What `threadleak --help` says of it.
constexpr const char* kHangHelp =
    "who is everyone waiting for: deadlock cycles, lock owners, orphaned "
    "locks, the crashed thread; exit 1 on a deadlock";

struct HangArgs {
  InputArgs in;
  OutputArgs out;
};

// folded, pprof and metrics: the snapshot's stacks (as `stacks --format
// folded|pprof|metrics`), for a flame graph, a profile or a scrape of the
// hung process; the hang findings have no form there.
std::string render_hang(Format f, const threadleak::Snapshot& snap, const threadleak::HangReport& h,
                        const std::vector<threadleak::Group>& groups, bool color) {
  switch (f) {
    case Format::json: return threadleak::render_hang_json(snap, h);
    case Format::folded: return threadleak::render_folded(snap, groups);
    case Format::pprof: return threadleak::render_pprof(snap, groups);
    case Format::html: return threadleak::render_hang_html(snap, h, groups);
    case Format::metrics: return threadleak::render_metrics(snap, groups, {});
    case Format::text: break;
  }
  return threadleak::render_hang_text(snap, h, {.color = color});
}

int run_hang(const HangArgs& a) {
  refuse_binary_to_terminal(a.out.format(), a.out.out);
  threadleak::Snapshot snap = capture_until_exit(the_source(a.in));
  warn_all(snap.warnings);
  threadleak::HangReport h = threadleak::analyze_hang(snap);
  auto groups = threadleak::group(snap, {a.out.grouping()});
  write_output(render_hang(a.out.format(), snap, h, groups, a.out.color()), a.out.out);
  exit_now(h.deadlocked() ? 1 : 0);
}

}  // namespace

Command add_hang_command(CLI::App& app) {
  auto [cmd, a] = new_command<HangArgs>(app, "hang", kHangHelp, Inputs::one);
  add_output_options(cmd, a->out, "docs/schema/hang.schema.json");
  return {cmd, [a] { return run_hang(*a); }};
}

}  // namespace cli
