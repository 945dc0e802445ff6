// `threadleak diff BASELINE CURRENT [MORE...]`: what grew from the baseline
// to the current snapshot; with three or more, what grew monotonically
// across all of them (threadleak::series). Exit 1 when something grew.
#include <exception>
#include <future>
#include <memory>
#include <optional>

#include "commands.hpp"
#include "diagnostics.hpp"
#include "options.hpp"

namespace cli {
namespace {

// What `threadleak --help` says of it.
constexpr const char* kDiffHelp =
    "what grew from BASELINE to CURRENT (cores or snapshot files); "
    "with more snapshots, what grew across all of them; "
    "exit 1 when something grew (with --expect: beyond the expectations; 3 when threads could not be unwound)";

struct DiffArgs {
  InputArgs in;
  OutputArgs out;
  IgnoreArgs ignore;
  std::size_t min_growth = 1;
  bool show_shrunk = false;
};

threadleak::DiffOptions diff_options(const DiffArgs& a, const std::optional<threadleak::Expectations>& expect) {
  threadleak::DiffOptions opts;
  opts.grouping.by = a.out.grouping();
  a.ignore.apply_to(opts);
  if (expect) expect->apply_to(opts);
  opts.min_growth = a.min_growth;
  return opts;
}

int run_series(const DiffArgs& a, const std::optional<threadleak::Expectations>& expect) {
  std::vector<threadleak::Snapshot> snaps;
  snaps.reserve(a.in.files.size());
  for (const auto& f : a.in.files) snaps.push_back(threadleak::capture(file_source(a.in, f)));
  threadleak::DiffOptions opts = diff_options(a, expect);
  threadleak::Series s = threadleak::series(snaps, opts);
  warn_all(s.warnings);
  threadleak::TextOptions text{.color = a.out.color()};
  switch (a.out.format()) {
    case Format::json: write_output(threadleak::render_json(s), a.out.out); break;
    case Format::folded: write_output(threadleak::render_folded(s), a.out.out); break;
    case Format::html: write_output(threadleak::render_html(s), a.out.out); break;
    case Format::pprof: write_output(threadleak::render_pprof(s), a.out.out); break;
    case Format::text: write_output(threadleak::render_text(s, text), a.out.out); break;
    case Format::metrics:
      throw threadleak::Error("--format metrics: a series of snapshots has no metrics form; "
                              "use `stacks --format metrics` on the last one");
  }
  if (!expect) return s.grew() ? 1 : 0;
  threadleak::Verdict v = threadleak::judge(s, *expect);
  for (const auto& snap : snaps) threadleak::check_unwound(snap, opts, v);
  return verdict_status(v);
}

int run_diff(const DiffArgs& a) {
  refuse_binary_to_terminal(a.out.format(), a.out.out);
  std::optional<threadleak::Expectations> expect = a.ignore.expectations();  // before any capture
  if (a.in.files.size() > 2) return run_series(a, expect);
  // The two captures run side by side (each is mostly one core's work);
  // the baseline's error, if both fail, is the one reported.
  auto base_later = std::async(std::launch::async, [&] { return capture_until_exit(file_source(a.in, a.in.files[0])); });
  std::optional<threadleak::Snapshot> cur;
  std::exception_ptr cur_failed;
  try {
    cur = capture_until_exit(file_source(a.in, a.in.files[1]));
  } catch (...) {
    cur_failed = std::current_exception();
  }
  threadleak::Snapshot base = base_later.get();
  if (cur_failed) std::rethrow_exception(cur_failed);
  threadleak::DiffOptions opts = diff_options(a, expect);
  threadleak::Diff d = threadleak::diff(base, *cur, opts);
  warn_all(d.warnings);
  threadleak::TextOptions text{.show_shrunk = a.show_shrunk, .color = a.out.color()};
  write_output(render(a.out.format(), d, text), a.out.out);
  if (!expect) exit_now(d.grew() ? 1 : 0);
  threadleak::Verdict v = threadleak::judge(d, *expect);
  threadleak::check_unwound(base, opts, v);
  threadleak::check_unwound(*cur, opts, v);
  exit_now(verdict_status(v));
}

}  // namespace

Command add_diff_command(CLI::App& app) {
  auto [cmd, a] = new_command<DiffArgs>(app, "diff", kDiffHelp, Inputs::several);
  add_output_options(cmd, a->out, "docs/schema/diff.schema.json, docs/schema/series.schema.json");
  add_ignore_options(cmd, a->ignore);
  cmd->add_option("--min-growth", a->min_growth, "report a group only when it grew by at least N")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--show-shrunk", a->show_shrunk, "also print the stacks of groups that shrank");
  return {cmd, [a] { return run_diff(*a); }};
}

}  // namespace cli
