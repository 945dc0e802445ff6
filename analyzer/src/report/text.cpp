// Text output of `stacks` and `diff`: one block per group, the stack once,
// the first frame of the program's own code marked with "=>".
#include <fmt/format.h>

#include "report/color.hpp"
#include "report/json_model.hpp"
#include "report/names.hpp"
#include "threadleak/threadleak.hpp"

namespace threadleak {
namespace {

std::string tid_list(const std::vector<int>& tids, std::size_t max) {
  std::string s;
  for (std::size_t i = 0; i < tids.size() && i < max; ++i) s += fmt::format("{}{}", i ? " " : "", tids[i]);
  if (tids.size() > max) s += fmt::format(" ... (+{} more)", tids.size() - max);
  return s;
}

std::string frame_line(std::size_t i, const Frame& f, bool first_own, bool color) {
  std::string name = f.function.empty() ? fmt::format("{}+{:#x}", f.module.empty() ? "??" : f.module, f.rel_pc)
                                        : f.function;
  std::string s = fmt::format("{} #{:<2} {:#018x} {}", first_own ? "=>" : "  ", i, f.pc, name);
  if (!f.function.empty() && !f.inlined && f.offset) s += fmt::format(" +{:#x}", f.offset);
  if (f.inlined) s += " (inlined)";
  if (!f.file.empty()) s += fmt::format(" at {}:{}", f.file, f.line);
  if (!f.module.empty() && !f.function.empty()) s += fmt::format(" [{}]", f.module);
  return detail::paint(s, first_own ? detail::Paint::bold : f.own_code ? detail::Paint::none : detail::Paint::dim,
                       color) + "\n";
}


std::string plural(std::size_t n, const char* word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

std::string label(const Group& g, bool color = false) {
  return detail::paint(detail::state_label(g.state, g.syscall_name), detail::state_paint(g.state), color);
}

}  // namespace

namespace detail {
std::string stack_text(const std::vector<Frame>& frames, bool color) {
  const Frame* own = first_own_frame(frames);
  std::string s;
  for (std::size_t i = 0; i < frames.size(); ++i) s += frame_line(i, frames[i], &frames[i] == own, color);
  if (frames.empty()) s += "    (no frames)\n";
  return s;
}
}  // namespace detail

std::string render_text(const Snapshot& snap, const std::vector<Group>& groups, const TextOptions& o) {
  std::string out = fmt::format("{} {} ({}): {} in {}\n", snap.source, snap.origin,
                                snap.executable.empty() ? "?" : snap.executable,
                                plural(snap.threads.size(), "thread"), plural(groups.size(), "group"));
  if (snap.crash)
    out += fmt::format("crashed: thread {} took {}{}\n", snap.crash->tid, snap.crash->signal_name,
                       snap.crash->address ? fmt::format(" at address {:#x}", *snap.crash->address) : "");
  for (const auto& w : snap.warnings) out += "warning: " + w + "\n";
  std::size_t shown = 0;
  for (const Group& g : groups) {
    if (o.top && shown == o.top) {
      out += fmt::format("\n... {} more groups (--top {})\n", groups.size() - shown, o.top);
      break;
    }
    ++shown;
    out += fmt::format("\n{} in state {}: TIDs {}\n", plural(g.count(), "thread"), label(g, o.color),
                       tid_list(g.tids, o.max_tids));
    out += detail::stack_text(g.frames, o.color);
  }
  return out;
}

std::string render_text(const Diff& d, const TextOptions& o) {
  std::string out;
  std::size_t grew = 0;
  for (const auto& e : d.leaked) {
    std::size_t growth = d.same_process ? e.new_tids.size() : e.current - e.baseline;
    grew += growth;
    out += fmt::format("\n{}: {} -> {} in state {}{}\n",
                       detail::paint(fmt::format("GREW +{}", growth), detail::Paint::red, o.color),
                       e.baseline, e.current, label(e.group, o.color),
                       e.new_tids.empty() ? fmt::format(": TIDs {}", tid_list(e.group.tids, o.max_tids))
                                          : fmt::format(": new TIDs {}", tid_list(e.new_tids, o.max_tids)));
    out += detail::stack_text(e.group.frames, o.color);
  }
  for (const auto& e : d.gone) {
    out += fmt::format("\n{}: {} -> {} in state {}\n",
                       detail::paint(fmt::format("SHRANK -{}", e.baseline - e.current), detail::Paint::green, o.color),
                       e.baseline, e.current, label(e.group, o.color));
    if (o.verbose) out += detail::stack_text(e.group.frames, o.color);
  }
  std::string summary =
      d.leaked.empty()
          ? fmt::format("no group grew ({} -> {} threads)", d.baseline_threads, d.current_threads)
          : fmt::format("{} grew by {} ({} -> {} threads{})", plural(d.leaked.size(), "group"), grew,
                        d.baseline_threads, d.current_threads,
                        d.same_process ? ", same process: new TIDs counted" : "");
  if (d.ignored) summary += fmt::format("; {} ignored", plural(d.ignored, "thread"));
  return "summary: " + summary + "\n" + out;
}

}  // namespace threadleak
