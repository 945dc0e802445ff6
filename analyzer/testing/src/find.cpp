// Find: the threads not in the baseline, after waiting with backoff for them
// to exit (goleak's retry loop). Stacks are taken only when needed: never
// for a clean check, once per batch of new threads when ignore rules must
// look at stacks, and once at the end for the report.
#include <algorithm>
#include <set>
#include <thread>

#include "internal.hpp"

namespace threadleak {
namespace testing_detail {
namespace {

using Clock = std::chrono::steady_clock;
using Id = std::pair<int, unsigned long long>;  // TID, kernel start time

constexpr auto kMaxSleep = std::chrono::milliseconds(100);
// Ignore rules need stacks; threads that exit this fast need none.
constexpr auto kFirstCapture = std::chrono::milliseconds(20);

// Threads alive now that are neither in the baseline, nor the caller, nor settled.
std::vector<Task> candidates(const Baseline& base, const std::set<Id>& settled) {
  int self = self_tid();
  std::vector<Task> out;
  for (Task& t : list_tasks())
    if (t.tid != self && !base.contains(t.tid, t.start_time) && !settled.count({t.tid, t.start_time}))
      out.push_back(std::move(t));
  return out;
}

Snapshot take(const std::vector<Task>& tasks, const Options& opts) {
  try {
    return capture_self(opts.capture_timeout);
  } catch (const std::exception& e) {
    return proc_only_snapshot(tasks, e.what());
  }
}

// The threads of `snap` among `tasks` that no ignore rule matches; the ones
// a rule matches are added to `ignored`. At the last look (`last`), the
// groups an Expect file knows are left out too while within their limits
// (a count of new threads; their growth is that count).
Snapshot unignored(const Snapshot& snap, const std::vector<Task>& tasks, const Options& opts,
                   std::set<Id>& ignored, bool last = false) {
  Snapshot cur = without_threads(snap);
  for (const Thread& t : snap.threads)
    if (std::any_of(tasks.begin(), tasks.end(), [&](const Task& k) { return k.tid == t.tid; }))
      cur.threads.push_back(t);
  DiffOptions d;
  d.ignore_top = opts.ignore_top;
  d.ignore_any = opts.ignore_any;
  d.ignore_groups = opts.ignore_groups;
  d.ignore_created_by = opts.ignore_created_by;
  if (opts.expect) opts.expect->apply_to(d);
  Snapshot none;
  none.pid = cur.pid;
  none.executable = cur.executable;
  std::set<std::int64_t> kept;
  for (const DiffEntry& e : diff(none, cur, d).grown) {
    const KnownGroup* k = last && opts.expect ? opts.expect->known(e.group) : nullptr;
    if (k && k->broken(e.current, e.current).empty()) continue;
    kept.insert(e.group.members.begin(), e.group.members.end());
  }
  Snapshot out = without_threads(cur);
  for (const Thread& t : cur.threads) {
    if (kept.count(t.tid)) { out.threads.push_back(t); continue; }
    for (const Task& k : tasks)
      if (k.tid == t.tid) ignored.insert({k.tid, k.start_time});
  }
  return out;
}

bool has_rules(const Options& o) {
  return !o.ignore_top.empty() || !o.ignore_any.empty() || !o.ignore_groups.empty() || !o.ignore_created_by.empty() ||
         o.expect != nullptr;
}

}  // namespace

Options options_of(const std::vector<Option>& opts) {
  Options o;
  for (const Option& opt : opts) opt.apply_to(o);
  return o;
}

Leaks find(const std::vector<Option>& opts) { return Finder::find(options_of(opts)); }

Leaks Finder::find(const Options& opts) {
  const Baseline& base = opts.baseline ? *opts.baseline : Baseline::at_start();
  const auto start = Clock::now();
  const auto deadline = start + opts.max_retry_time;
  std::set<Id> ignored, seen;  // seen: looked at by a capture already
  std::chrono::nanoseconds nap = std::chrono::microseconds(1);
  std::vector<Task> cand;
  for (;;) {
    cand = candidates(base, ignored);
    if (cand.empty()) return Leaks{};
    bool unseen = std::any_of(cand.begin(), cand.end(), [&](const Task& t) { return !seen.count({t.tid, t.start_time}); });
    if (has_rules(opts) && unseen && Clock::now() - start >= kFirstCapture) {
      unignored(take(cand, opts), cand, opts, ignored);
      for (const Task& k : cand) seen.insert({k.tid, k.start_time});
      continue;  // re-list: ignored threads are now settled
    }
    auto now = Clock::now();
    if (now >= deadline) break;
    std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(nap, deadline - now));
    nap = std::min<std::chrono::nanoseconds>(nap * 2, kMaxSleep);
  }
  Leaks out;
  out.waited_s_ = std::chrono::duration<double>(Clock::now() - start).count();
  out.snapshot_ = unignored(take(cand, opts), cand, opts, ignored, true);
  out.groups_ = group(out.snapshot_, {});
  return out;
}

}  // namespace testing_detail
}  // namespace threadleak
