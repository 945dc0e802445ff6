// Text output of `stacks` and `diff`: one block per group, the stack once,
// the first frame of the program's own code marked with "=>".
#include <fmt/format.h>

#include "report/activity.hpp"
#include "report/color.hpp"
#include "report/group_words.hpp"
#include "report/json_model.hpp"
#include "report/names.hpp"
#include "threadleak/threadleak.hpp"

namespace threadleak {
namespace {

std::string id_list(const std::vector<std::int64_t>& ids, std::size_t max) { return detail::id_list(ids, max, " ..."); }

std::string frame_line(std::size_t i, const Frame& f, bool first_own, bool color) {
  std::string name = f.function.empty() ? fmt::format("{}+{:#x}", f.module.empty() ? "??" : f.module.str(), f.rel_pc)
                                        : f.function.str();
  std::string s = fmt::format("{} #{:<2} {:#018x} {}", first_own ? "=>" : "  ", i, f.pc, name);
  if (!f.function.empty() && !f.inlined && f.offset) s += fmt::format(" +{:#x}", f.offset);
  if (f.inlined) s += " (inlined)";
  if (!f.file.empty()) s += fmt::format(" at {}:{}", f.file, f.line);
  if (!f.module.empty() && !f.function.empty()) s += fmt::format(" [{}]", f.module);
  return detail::paint(s, first_own ? detail::Paint::bold : f.own_code ? detail::Paint::none : detail::Paint::dim,
                       color) + "\n";
}

using detail::plural;

std::string label(const Group& g, bool color = false) {
  return detail::paint(detail::group_state_label(g), detail::state_paint(g.state), color);
}

// goleak's words: "N goroutines in state sleep, with time.Sleep on top of the stack".
std::string goroutine_tail(const Group& g, const std::string& ids, bool color) {
  std::string top = g.frames.empty() ? std::string("nothing") : g.frames.front().function.str();
  return fmt::format("in state {}, with {} on top of the stack: {}\n", label(g, color), top, ids);
}

std::string goroutine_head(const Group& g, std::size_t n, const std::string& ids, bool color) {
  return plural(n, "goroutine") + " " + goroutine_tail(g, ids, color);
}

// "    created by ..." (report/group_words.cpp).
std::string created_by(const Group& g) {
  std::string s = detail::created_by_text(g);
  return s.empty() ? s : "    " + s + "\n";
}

// "    12 threads in recvfrom on tcp A -> B ESTABLISHED (fd 5)", the sets
// indented under it (report/group_words.cpp).
std::string waits_on_text(const Group& g) {
  std::string s;
  for (const std::string& line : detail::waits_on_lines(g)) s += (s.empty() ? "    " : "      ") + line + "\n";
  return s;
}

// "[3f2a9c01d4e7] ": the group's fingerprint, first on its head line.
std::string tag(const Group& g) { return "[" + g.fingerprint + "] "; }

std::string group_block(const Group& g, const TextOptions& o) {
  if (g.kind == Kind::goroutine)
    return "\n" + tag(g) + goroutine_head(g, g.count(), "goroutines " + id_list(g.members, o.max_tids), o.color) +
           detail::stack_text(g.frames, o.color) + created_by(g);
  return fmt::format("\n{}{} in state {}: TIDs {}\n", tag(g), plural(g.count(), "thread"), label(g, o.color),
                     id_list(g.members, o.max_tids)) + waits_on_text(g) + detail::stack_text(g.frames, o.color) +
         created_by(g);
}

std::string headline(const Snapshot& snap, std::size_t groups, const TextOptions& o) {
  std::size_t gs = 0;
  for (const Thread& t : snap.threads) gs += t.kind == Kind::goroutine;
  std::string what = plural(snap.threads.size() - gs, "thread");
  if (gs) what += ", " + plural(gs, "goroutine");
  std::string in = o.groups_before_filter ? fmt::format("{}, {} shown", plural(o.groups_before_filter, "group"), groups)
                                          : plural(groups, "group");
  return fmt::format("{} {} ({}): {} in {}\n", snap.source, snap.origin,
                     snap.executable.empty() ? "?" : snap.executable, what, in);
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
  std::string out = headline(snap, groups.size(), o);
  if (snap.coredump)
    out += fmt::format("systemd-coredump: pid {} uid {} comm {} at {}\n", snap.coredump->pid, snap.coredump->uid,
                       snap.coredump->comm, snap.coredump->time);
  if (snap.crash)
    out += fmt::format("crashed: thread {} took {}{}\n", snap.crash->tid, snap.crash->signal_name,
                       snap.crash->address ? fmt::format(" at address {:#x}", *snap.crash->address) : "");
  for (const auto& w : snap.warnings) out += "warning: " + w + "\n";
  for (const auto& n : snap.notes) out += "note: " + n + "\n";
  std::size_t shown = 0, folded = 0, folded_members = 0;
  for (const Group& g : groups) {
    if (g.go_runtime && !o.show_go_runtime) {
      ++folded;
      folded_members += g.count();
      continue;
    }
    if (o.top && shown == o.top) {
      out += fmt::format("\n... {} more groups (--top {})\n", groups.size() - shown - folded, o.top);
      break;
    }
    ++shown;
    out += group_block(g, o);
  }
  if (folded)
    out += fmt::format("\n(the Go runtime's own OS threads and goroutines: {} in {} folded; "
                       "--go-runtime shows them)\n", folded_members, plural(folded, "group"));
  return out;
}

std::string render_text(const Diff& d, const TextOptions& o) {
  std::string out;
  std::size_t grew = 0;
  for (const auto& e : d.grown) {
    std::size_t growth = d.same_process ? e.new_members.size() : e.current - e.baseline;
    grew += growth;
    if (e.group.kind == Kind::goroutine) {
      out += fmt::format("\n{}{}: {} -> {} goroutines ", tag(e.group), detail::paint(fmt::format("GREW +{}", growth), detail::Paint::red, o.color),
                         e.baseline, e.current);
      out += goroutine_tail(e.group,
                            e.new_members.empty() ? "goroutines " + id_list(e.group.members, o.max_tids)
                                               : "new goroutines " + id_list(e.new_members, o.max_tids), o.color);
      out += detail::stack_text(e.group.frames, o.color) + created_by(e.group);
      continue;
    }
    out += fmt::format("\n{}{}: {} -> {} in state {}{}\n", tag(e.group),
                       detail::paint(fmt::format("GREW +{}", growth), detail::Paint::red, o.color),
                       e.baseline, e.current, label(e.group, o.color),
                       e.new_members.empty() ? fmt::format(": TIDs {}", id_list(e.group.members, o.max_tids))
                                          : fmt::format(": new TIDs {}", id_list(e.new_members, o.max_tids)));
    out += waits_on_text(e.group) + detail::stack_text(e.group.frames, o.color) + created_by(e.group);
  }
  for (const auto& e : d.shrunk) {
    out += fmt::format("\n{}{}: {} -> {} in state {}\n", tag(e.group),
                       detail::paint(fmt::format("SHRANK -{}", e.baseline - e.current), detail::Paint::green, o.color),
                       e.baseline, e.current, label(e.group, o.color));
    if (o.show_shrunk) out += detail::stack_text(e.group.frames, o.color);
  }
  std::string summary =
      d.grown.empty()
          ? fmt::format("no group grew ({} -> {} threads)", d.baseline_total, d.current_total)
          : fmt::format("{} grew by {} ({} -> {} threads{})", plural(d.grown.size(), "group"), grew,
                        d.baseline_total, d.current_total,
                        d.same_process ? ", same process: new TIDs counted" : "");
  if (d.ignored) summary += fmt::format("; {} ignored", plural(d.ignored, "thread"));
  if (d.activity.one_process) {
    std::vector<const Group*> groups;
    for (const Group& g : d.current_groups) groups.push_back(&g);
    out += detail::activity_text(d.activity, groups, o.color);
  }
  return "summary: " + summary + "\n" + out;
}

}  // namespace threadleak
