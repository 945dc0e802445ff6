// Activity: what each thread did between captures of one process. A thread
// that kept its stack and its wait and used no CPU beyond the tolerance was
// parked the whole time; one that kept its stack in its own code while its
// CPU time rose was spinning.
#include "activity.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <unordered_map>

#include <fmt/format.h>

namespace threadleak::detail {
namespace {

// The CPU a parked thread may still show per interval. schedstat counts
// nanoseconds, and stopping and resuming a blocked thread for a snapshot
// costs it ~10-30 us (docs/activity.md), but a CI run on a loaded 2-core VM
// once charged a blocked mutex waiter over 1 ms between two snapshots
// (likely the scheduler's accounting while the vCPU was preempted); 5 ms
// leaves that room and is still far below what a spinning thread shows.
// /proc/.../stat counts 10 ms ticks, each of utime and stime rounded down: 2 ticks. A core's times are tick samples (HZ 100 at worst).
std::uint64_t tolerance_ns(const std::string& cpu_from) {
  if (cpu_from == "schedstat") return 5'000'000;
  if (cpu_from == "proc-stat") return 20'000'000;
  return 10'000'000;
}

enum class Outcome { parked, spinning, woke, none };

const Interned& module_key(const Frame& f) { return f.build_id.empty() ? f.module : f.build_id; }

// The same stack, as a reader would say: the same state, the same innermost
// real function (a spinning thread's pc moves within it; the inlined calls
// at the top come and go with it), and the same return addresses above.
bool same_stack(const Thread& a, const Thread& b) {
  if (a.state != b.state || a.syscall_name != b.syscall_name) return false;
  auto real = [](const std::vector<Frame>& fs) {
    return std::find_if(fs.begin(), fs.end(), [](const Frame& f) { return !f.inlined; });
  };
  auto ia = real(a.frames), ib = real(b.frames);
  if (a.frames.end() - ia != b.frames.end() - ib) return false;
  if (ia == a.frames.end()) return true;
  if (module_key(*ia) != module_key(*ib)) return false;
  if (ia->function.empty() ? ia->rel_pc != ib->rel_pc : ia->function != ib->function) return false;
  return std::equal(ia + 1, a.frames.end(), ib + 1, [](const Frame& x, const Frame& y) {
    return x.rel_pc == y.rel_pc && x.inlined == y.inlined && module_key(x) == module_key(y);
  });
}

bool same_wait(const Thread& a, const Thread& b) {
  if (a.waiting_on.has_value() != b.waiting_on.has_value()) return false;
  return !a.waiting_on || a.waiting_on->address == b.waiting_on->address;
}

Outcome one_interval(const Thread& a, const Thread& b, std::uint64_t tolerance) {
  if (!a.cpu_ns || !b.cpu_ns || *b.cpu_ns < *a.cpu_ns || !same_stack(a, b)) return Outcome::none;
  std::uint64_t used = *b.cpu_ns - *a.cpu_ns;   // a fall: the TID was reused, a thread of its own
  if (used <= tolerance) return same_wait(a, b) ? Outcome::parked : Outcome::none;
  return a.state == State::running ? Outcome::spinning : Outcome::woke;
}

// Across every interval: parked or spinning only when it was so in each.
Outcome across(const std::vector<const Thread*>& seen, std::uint64_t tolerance) {
  Outcome all = Outcome::none;
  for (std::size_t i = 1; i < seen.size(); ++i) {
    Outcome o = one_interval(*seen[i - 1], *seen[i], tolerance);
    if (o == Outcome::none) return o;
    all = i == 1 || o == all ? o : Outcome::woke;
  }
  return all;
}

constexpr const char* kNotOneProcess = "not captures of one process";

using ByTid = std::unordered_map<int, const Thread*>;

ByTid by_tid(const Snapshot& s) {
  ByTid m;
  m.reserve(s.threads.size());
  for (const Thread& t : s.threads)
    if (t.kind == Kind::thread) m.emplace(t.tid, &t);
  return m;
}

std::string why_not(const std::vector<const Snapshot*>& snaps) {
  const Snapshot& first = *snaps.front();
  for (const Snapshot* s : snaps) {
    if (s->pid == 0 || s->pid != first.pid || s->executable != first.executable)
      return kNotOneProcess;
    if (s->cpu_from.empty())
      return fmt::format("{}: {}", s->origin, s->cpu_missing.empty() ? "no CPU times recorded" : s->cpu_missing);
  }
  for (const Snapshot* s : snaps)
    if (s->cpu_from != first.cpu_from)
      return fmt::format("CPU times from different sources ({} in {}, {} in {})", first.cpu_from, first.origin,
                         s->cpu_from, s->origin);
  return "";
}

void count(Activity& a, Outcome o) {
  if (o == Outcome::parked) ++a.parked;
  if (o == Outcome::spinning) ++a.spinning;
  if (o == Outcome::woke) ++a.woke;
}

}  // namespace

std::optional<double> epoch_seconds(const std::string& iso) {
  std::tm tm{};
  int used = 0;
  if (std::sscanf(iso.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &used) != 6 || used != 19)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  double frac = 0;
  std::size_t i = 19;
  if (i < iso.size() && iso[i] == '.') {
    double scale = 0.1;
    for (++i; i < iso.size() && iso[i] >= '0' && iso[i] <= '9'; ++i, scale /= 10) frac += (iso[i] - '0') * scale;
  }
  if (i + 1 != iso.size() || iso[i] != 'Z') return std::nullopt;
  return static_cast<double>(::timegm(&tm)) + frac;
}

ActivitySpan compare_activity(const std::vector<const Snapshot*>& snaps, const std::vector<Group*>& groups) {
  ActivitySpan span;
  if (snaps.size() < 2) return span;
  for (const Snapshot* s : snaps) span.captured_at_from.push_back(s->captured_at_from);
  auto t0 = epoch_seconds(snaps.front()->captured_at), t1 = epoch_seconds(snaps.back()->captured_at);
  if (t0 && t1 && *t1 >= *t0) span.seconds = *t1 - *t0;
  span.not_compared = why_not(snaps);
  span.one_process = span.not_compared != kNotOneProcess;
  if (!span.not_compared.empty()) return span;
  span.compared = true;
  span.cpu_from = snaps.front()->cpu_from;
  span.tolerance_ns = tolerance_ns(span.cpu_from);
  std::vector<ByTid> tids;
  for (const Snapshot* s : snaps) tids.push_back(by_tid(*s));
  std::vector<const Thread*> seen(snaps.size());
  for (Group* g : groups) {
    if (g->kind != Kind::thread) continue;
    Activity a;
    for (std::int64_t id : g->members) {
      Outcome o = Outcome::none;
      for (std::size_t i = 0; i < snaps.size(); ++i) {
        auto it = tids[i].find(static_cast<int>(id));
        seen[i] = it == tids[i].end() ? nullptr : it->second;
      }
      if (std::all_of(seen.begin(), seen.end(), [](const Thread* t) { return t; })) o = across(seen, span.tolerance_ns);
      count(a, o);
    }
    span.threads.parked += a.parked;
    span.threads.spinning += a.spinning;
    span.threads.woke += a.woke;
    g->activity = a;
  }
  return span;
}

}  // namespace threadleak::detail
