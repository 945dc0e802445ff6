// Input and output options, declared once for every subcommand.
#include "options.hpp"

#include "diagnostics.hpp"

namespace cli {

void add_input_options(CLI::App* cmd, InputArgs& in, Inputs which) {
  CLI::Option* pid = nullptr;
  switch (which) {
    case Inputs::one: {
      auto* file = cmd->add_option("INPUT", in.files, "a core file (plain, zstd, lz4 or xz) or a snapshot file")
                       ->expected(0, 1);
      pid = cmd->add_option("--pid,-p", in.pid, "a live process")->excludes(file);
      break;
    }
    case Inputs::several:
      cmd->add_option("SNAPSHOTS", in.files,
                      "BASELINE CURRENT [MORE...]: cores or snapshot files, oldest first; with three or more, a "
                      "group grows only when it rises monotonically across them")
          ->required()
          ->expected(2, 1 << 20);
      break;
    case Inputs::live:
      pid = cmd->add_option("--pid,-p", in.pid, "the live process")->required();
      break;
  }
  if (which == Inputs::one) {
    auto* regs = cmd->add_option("--regs", in.regs, "with --pid, from a debugger that holds it stopped: "
                                                    "registers of every thread, a file or '-' (docs/debuggers.md)");
    auto* mem = cmd->add_option("--mem-fd", in.mem_fd, "with --regs: an open descriptor of /proc/PID/mem");
    regs->needs(pid)->needs(mem);
    mem->needs(regs);
  }
  cmd->add_option("--exe", in.exe, "the main executable, when the core's record of it is wrong or missing");
  cmd->add_option("--sysroot", in.sysroot, "look for the modules (a core's or a live process's) under this directory first: a container's root, a foreign core's image");
  cmd->add_option("--debug-dir", in.debug_dirs, "where separate debug info lives (repeatable)");
}

threadleak::Source file_source(const InputArgs& in, const std::string& file) {
  return threadleak::Source::path(file).with_exe(in.exe).with_sysroot(in.sysroot).with_debug_dirs(in.debug_dirs);
}

threadleak::Source the_source(const InputArgs& in) {
  if (!in.files.empty()) return file_source(in, in.files.front());
  if (in.pid == 0) throw threadleak::Error("give a core file, a snapshot file or --pid PID");
  threadleak::Source s = in.regs.empty() ? threadleak::Source::live(in.pid)
                                         : threadleak::Source::debugger(in.pid, in.regs, in.mem_fd);
  return s.with_exe(in.exe).with_sysroot(in.sysroot).with_debug_dirs(in.debug_dirs);
}

threadleak::GroupBy grouping_of(const std::string& group_by) {
  return group_by == "function" ? threadleak::GroupBy::function : threadleak::GroupBy::pc;
}

threadleak::GroupBy OutputArgs::grouping() const { return grouping_of(group_by); }

void add_group_by_option(CLI::App* cmd, std::string& group_by) {
  cmd->add_option("--group-by", group_by, "how finely stacks are told apart: pc (default) or function")
      ->check(CLI::IsMember({"pc", "function"}));
}

CLI::Option* add_fingerprint_option(CLI::App* cmd, const std::string& name, std::vector<std::string>& into,
                                    const std::string& help) {
  CLI::Validator fp([](std::string& s) {
    return threadleak::is_fingerprint_prefix(s) ? std::string() : "'" + s + "' is not a group fingerprint (4 to 12 hex digits)";
  }, "FP");
  return cmd->add_option(name, into, help)->check(fp);
}

void add_ignore_options(CLI::App* cmd, IgnoreArgs& ignore) {
  cmd->add_option("--ignore-top", ignore.top, "ignore threads with this function on top (repeatable)");
  cmd->add_option("--ignore-any", ignore.any, "ignore threads with this function anywhere (repeatable)");
  cmd->add_option("--ignore-created-by", ignore.created_by,
                  "ignore threads started by this function (pthread_create's routine, std::thread's "
                  "callable, a goroutine's `go` statement; repeatable)");
  add_fingerprint_option(cmd, "--ignore-group", ignore.groups,
                         "ignore the threads of the group with this fingerprint, or a prefix of it (repeatable)");
  cmd->add_option("--expect", ignore.expect,
                  "an expectations file (TOML, docs/expect.md): more ignore rules, and known groups with a "
                  "max_count or max_growth; exit 0 within them, 1 a leak, 3 threads not unwound");
}

std::optional<threadleak::Expectations> IgnoreArgs::expectations() const {
  if (expect.empty()) return std::nullopt;
  return threadleak::load_expectations(expect);
}

int verdict_status(const threadleak::Verdict& v) {
  for (const auto& l : v.allowed) note("expected: " + l);
  for (const auto& l : v.leaks) note("LEAK: " + l);
  for (const auto& l : v.incomplete_threads) note("not unwound: " + l);
  if (v.status == threadleak::Verdict::incomplete)
    note("analysis incomplete: " + std::to_string(v.incomplete_threads.size()) +
         " compared thread(s) could not be unwound (exit 3)");
  return static_cast<int>(v.status);
}

void IgnoreArgs::apply_to(threadleak::DiffOptions& opts) const {
  opts.ignore_top = top;
  opts.ignore_any = any;
  opts.ignore_created_by = created_by;
  opts.ignore_groups = groups;
}

void add_output_options(CLI::App* cmd, OutputArgs& o, const std::string& schema) {
  auto* json = cmd->add_flag("--json", o.json, "JSON output, short for --format json (schema: " + schema + ")");
  add_format_options(cmd, o.fmt, json);
  cmd->add_option("-o,--output", o.out, "write the report to this file instead of stdout");
  add_group_by_option(cmd, o.group_by);
}

}  // namespace cli
