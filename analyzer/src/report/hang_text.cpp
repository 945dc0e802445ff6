// `threadleak hang` text, and the short section heading `threadleak stacks`.
// Reads like jstack's "Found one Java-level deadlock": each edge of a cycle
// spelled out, then the stacks of the threads involved.
#include <fmt/format.h>

#include "report/color.hpp"
#include "report/json_model.hpp"
#include "report/names.hpp"
#include "threadleak/analysis.hpp"
#include "threadleak/hang.hpp"

namespace threadleak {
namespace {

using detail::find_thread;

std::string tids(const std::vector<int>& v, std::size_t max) { return detail::id_list(v, max, " ..."); }

// "sleep in (anonymous namespace)::holder()": the state and the first own frame.
std::string doing(const Snapshot& s, int tid) {
  const Thread* t = find_thread(s, tid);
  if (!t) return "gone";
  std::string out = detail::state_label(t->state, t->syscall_name);
  const Frame* own = first_own_frame(t->frames);
  if (!own && !t->frames.empty()) own = &t->frames.front();
  if (own && !own->function.empty()) out += " in " + own->function;
  return out;
}

std::string stack(const Snapshot& s, int tid) {
  const Thread* t = find_thread(s, tid);
  if (!t) return "";
  std::string out = fmt::format("  thread {}{} ({}):\n", tid, t->name.empty() ? "" : " \"" + t->name + "\"",
                                detail::state_label(t->state, t->syscall_name));
  for (std::size_t i = 0; i < t->frames.size(); ++i) {
    const Frame& f = t->frames[i];
    std::string name = f.function.empty() ? fmt::format("{}+{:#x}", f.module.empty() ? "??" : f.module.str(), f.rel_pc)
                                          : f.function.str();
    out += fmt::format("    #{:<2} {}{}\n", i, name, f.file.empty() ? "" : fmt::format(" at {}:{}", f.file, f.line));
  }
  return out;
}

std::string deadlock_text(const Snapshot& s, const Deadlock& d, const HangTextOptions& o) {
  std::string out =
      detail::paint(fmt::format("DEADLOCK ({} threads)", d.threads.size()), detail::Paint::red, o.color) + ": ";
  for (std::size_t i = 0; i < d.threads.size(); ++i) {
    int next = d.threads[(i + 1) % d.threads.size()];
    out += fmt::format("{} waits for {} {:#x} held by thread {}",
                       i ? ", which" : fmt::format("thread {}", d.threads[i]), d.kinds[i], d.locks[i], next);
  }
  out += "\n";
  if (o.stacks)
    for (int tid : d.threads) out += stack(s, tid);
  return out;
}

std::string crash_text(const Snapshot& s, const CrashContext& c, const HangTextOptions& o) {
  std::string out = fmt::format("{} thread {} took {}{}", detail::paint("crashed:", detail::Paint::red, o.color), c.tid,
                                c.signal_name.empty() ? "a signal" : c.signal_name,
                                c.address ? fmt::format(" at address {:#x}", *c.address) : "");
  if (c.held_locks.empty()) out += "; it held no lock anyone waits for\n";
  for (std::size_t i = 0; i < c.held_locks.size(); ++i)
    out += fmt::format("{} {:#x}", i ? "," : "; it held", c.held_locks[i]);
  if (!c.held_locks.empty())
    out += fmt::format(" that {} thread{} wait for: TIDs {}\n", c.waiters.size(), c.waiters.size() == 1 ? "" : "s",
                       tids(c.waiters, o.max_tids));
  if (o.stacks) out += stack(s, c.tid);
  return out;
}

std::string blocker_text(const Snapshot& s, const Blocker& b, const HangTextOptions& o) {
  std::string locks;
  for (auto l : b.locks) locks += fmt::format("{}{:#x}", locks.empty() ? "" : " ", l);
  std::string out = fmt::format("  thread {} holds lock {}: {} waiting, {} transitively{}; it is {}\n", b.tid, locks,
                                b.waiters, b.transitive_waiters, b.in_deadlock ? " (deadlocked)" : "",
                                doing(s, b.tid));
  bool shown = b.in_deadlock || (s.crash && s.crash->tid == b.tid);  // its stack is shown above
  if (o.stacks && !shown) out += stack(s, b.tid);
  return out;
}

std::string goids(const std::vector<std::int64_t>& v, std::size_t max) { return detail::id_list(v, max, " ..."); }

// Goroutines grouped by the sync.Mutex (RWMutex, semaphore) they wait for.
std::string go_objects_text(const HangReport& h, const HangTextOptions& o) {
  std::string out;
  for (const WaitedObject& w : h.objects) {
    if (w.goroutines.empty()) continue;
    bool lock = w.kind == "go-mutex" || w.kind == "go-rwmutex";
    out += fmt::format("{} {:#x}: {} goroutine{} waiting{}: goroutines {}\n", w.kind, w.address, w.goroutines.size(),
                       w.goroutines.size() == 1 ? "" : "s", lock ? ", owner not recorded" : "",
                       goids(w.goroutines, o.max_tids));
  }
  return out;
}

std::string go_asleep_text(const GoAsleep& a, const HangTextOptions& o) {
  std::string watcher = a.signal_watcher ? " (not counting the os/signal watcher: a signal could still act)" : "";
  if (a.all_asleep)
    return fmt::format("{}: all {} user goroutine{} are parked on channels, selects or sync "
                       "primitives and no timer is pending{} (Go's \"all goroutines are asleep - deadlock!\")\n",
                       detail::paint("ALL GOROUTINES ARE ASLEEP", detail::Paint::red, o.color), a.goroutines,
                       a.goroutines == 1 ? "" : "s", watcher);
  if (!o.stacks) return "";
  std::string timers = a.timers ? fmt::format("{} timer{} pending", *a.timers, *a.timers == 1 ? "" : "s")
                                : std::string("timers unknown");
  return fmt::format("go: {} of {} user goroutines asleep on channels or sync primitives, {}; awake: {}\n", a.asleep,
                     a.goroutines, timers, a.awake.empty() ? "none" : "goroutines " + goids(a.awake, o.max_tids));
}

std::string summary(const HangReport& h, bool color) {
  if (h.deadlocked())
    return fmt::format("hang: {}: {} cycle{}, {} self-deadlock{}{}\n", detail::paint("DEADLOCK", detail::Paint::red, color),
                       h.deadlocks.size(),
                       h.deadlocks.size() == 1 ? "" : "s", h.self_deadlocks.size(),
                       h.self_deadlocks.size() == 1 ? "" : "s",
                       h.go && h.go->all_asleep ? ", all goroutines asleep" : "");
  const char* plural = h.lock_waiters == 1 ? "" : "s";
  return fmt::format("hang: no deadlock; {} {} blocked on locks, {} blocker{}, {} orphaned lock{}\n",
                     h.lock_waiters, std::string("thread") + plural + (h.go ? std::string("/goroutine") + plural : ""),
                     h.blockers.size(),
                     h.blockers.size() == 1 ? "" : "s", h.orphaned.size(), h.orphaned.size() == 1 ? "" : "s");
}

}  // namespace

std::string render_hang_text(const Snapshot& s, const HangReport& h, const HangTextOptions& o) {
  std::string out = summary(h, o.color);
  if (h.crash) out += crash_text(s, *h.crash, o);
  if (h.go) out += go_asleep_text(*h.go, o);
  out += go_objects_text(h, o);
  for (const auto& d : h.deadlocks) out += deadlock_text(s, d, o);
  for (const auto& d : h.self_deadlocks) {
    out += fmt::format("{}: thread {} waits for mutex {:#x}, which it holds itself\n",
                       detail::paint("SELF-DEADLOCK", detail::Paint::red, o.color), d.tid, d.lock);
    if (o.stacks) out += stack(s, d.tid);
  }
  for (const auto& l : h.orphaned)
    out += fmt::format("{} {} {:#x} is held by thread {}, which is no thread of the process "
                       "(it exited holding it); waiting: TIDs {}\n",
                       detail::paint("orphaned:", detail::Paint::yellow, o.color), l.kind, l.lock, l.owner,
                       tids(l.waiters, o.max_tids));
  if (!h.blockers.empty()) out += "blockers (most waiters first):\n";
  for (const auto& b : h.blockers) out += blocker_text(s, b, o);
  if (o.stacks)
    for (const auto& c : h.objects)
      if (c.kind == "condvar")
        out += fmt::format("condvar {:#x}: {} waiting: TIDs {}\n", c.address, c.waiters.size(), tids(c.waiters, o.max_tids));
  if (h.located < h.lock_waiters)
    out += fmt::format("note: {} of {} lock waiters have no lock object recorded (not in a futex call when "
                       "captured); they are not in the graph\n", h.lock_waiters - h.located, h.lock_waiters);
  return out;
}

}  // namespace threadleak

namespace threadleak {

std::string render_text(const Snapshot& snap, const std::vector<Group>& groups, const HangReport& h,
                        const TextOptions& o) {
  std::string body = render_text(snap, groups, o);
  bool go_waits = std::any_of(h.objects.begin(), h.objects.end(),
                              [](const WaitedObject& w) { return !w.goroutines.empty(); });
  if (!h.deadlocked() && h.blockers.empty() && h.orphaned.empty() && !h.crash && !go_waits) return body;
  std::size_t eol = body.find('\n');
  std::string head = eol == std::string::npos ? body : body.substr(0, eol + 1);
  std::string rest = eol == std::string::npos ? "" : body.substr(eol + 1);
  if (snap.crash && rest.rfind("crashed:", 0) == 0) rest = rest.substr(rest.find('\n') + 1);  // said below
  return head + render_hang_text(snap, h, {.stacks = false, .max_tids = o.max_tids, .color = o.color}) +
         "(details: threadleak hang)\n" + rest;
}

}  // namespace threadleak
