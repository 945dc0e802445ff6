// The wait-for graph: one edge per thread blocked on a lock whose owner is
// recorded, waiter -> owner. A thread waits for one lock at a time, so every
// node has at most one outgoing edge and cycles are found by walking paths.
#include <algorithm>
#include <map>
#include <set>

#include "threadleak/hang.hpp"

namespace threadleak {
namespace {

struct Edge {
  int owner = 0;
  std::uint64_t lock = 0;
  std::string kind;
};
using Edges = std::map<int, Edge>;  // waiter -> what it waits for

Edges wait_edges(const Snapshot& s) {
  Edges e;
  for (const Thread& t : s.threads)
    if (t.waiting_on && t.waiting_on->owner && t.waiting_on->kind != "condvar")
      e[t.tid] = {*t.waiting_on->owner, t.waiting_on->address, t.waiting_on->kind};
  return e;
}

Deadlock rotated(const std::vector<int>& cycle, const Edges& e) {
  auto lowest = std::min_element(cycle.begin(), cycle.end()) - cycle.begin();
  Deadlock d;
  for (std::size_t i = 0; i < cycle.size(); ++i) {
    int tid = cycle[(static_cast<std::size_t>(lowest) + i) % cycle.size()];
    d.threads.push_back(tid);
    d.locks.push_back(e.at(tid).lock);
    d.kinds.push_back(e.at(tid).kind);
  }
  return d;
}

// Cycles of two or more threads (a self-edge is a self-deadlock instead).
std::vector<Deadlock> find_cycles(const Edges& e) {
  std::map<int, int> color;  // 0 unseen, 1 on the current path, 2 done
  std::vector<Deadlock> out;
  for (const auto& [start, _] : e) {
    std::vector<int> path;
    int n = start;
    while (color[n] == 0) {
      color[n] = 1;
      path.push_back(n);
      auto it = e.find(n);
      if (it == e.end() || it->second.owner == n) break;
      n = it->second.owner;
    }
    if (color[n] == 1 && e.count(n) && e.at(n).owner != n) {
      auto from = std::find(path.begin(), path.end(), n);
      if (from != path.end()) out.push_back(rotated(std::vector<int>(from, path.end()), e));
    }
    for (int p : path) color[p] = 2;
  }
  std::sort(out.begin(), out.end(), [](const Deadlock& a, const Deadlock& b) { return a.threads < b.threads; });
  return out;
}

// How many threads reach `owner` along wait-for edges (not counting itself).
std::size_t reach(int owner, const std::multimap<int, int>& waiters_of) {
  std::set<int> seen{owner};
  std::vector<int> todo{owner};
  while (!todo.empty()) {
    int n = todo.back();
    todo.pop_back();
    auto [lo, hi] = waiters_of.equal_range(n);
    for (auto it = lo; it != hi; ++it)
      if (seen.insert(it->second).second) todo.push_back(it->second);
  }
  return seen.size() - 1;
}

std::vector<Blocker> find_blockers(const Edges& e, const std::set<int>& tids, const std::vector<Deadlock>& cycles) {
  std::multimap<int, int> waiters_of;  // owner -> waiter
  std::map<int, Blocker> by_owner;
  for (const auto& [waiter, edge] : e) {
    if (edge.owner == waiter) continue;
    waiters_of.emplace(edge.owner, waiter);
    if (!tids.count(edge.owner)) continue;
    Blocker& b = by_owner[edge.owner];
    b.tid = edge.owner;
    ++b.waiters;
    if (std::find(b.locks.begin(), b.locks.end(), edge.lock) == b.locks.end()) b.locks.push_back(edge.lock);
  }
  std::vector<Blocker> out;
  for (auto& [owner, b] : by_owner) {
    b.transitive_waiters = reach(owner, waiters_of);
    std::sort(b.locks.begin(), b.locks.end());
    for (const Deadlock& d : cycles)
      b.in_deadlock = b.in_deadlock || std::count(d.threads.begin(), d.threads.end(), owner);
    out.push_back(std::move(b));
  }
  std::sort(out.begin(), out.end(), [](const Blocker& a, const Blocker& b) {
    if (a.transitive_waiters != b.transitive_waiters) return a.transitive_waiters > b.transitive_waiters;
    if (a.waiters != b.waiters) return a.waiters > b.waiters;
    return a.tid < b.tid;
  });
  return out;
}

std::vector<WaitedObject> waited_objects(const Snapshot& s) {
  std::map<std::pair<std::string, std::uint64_t>, WaitedObject> by_key;
  for (const Thread& t : s.threads) {
    if (!t.waiting_on) continue;
    WaitedObject& o = by_key[{t.waiting_on->kind, t.waiting_on->address}];
    o.kind = t.waiting_on->kind;
    o.address = t.waiting_on->address;
    if (t.waiting_on->owner) o.owner = t.waiting_on->owner;
    if (t.kind == Kind::goroutine) o.goroutines.push_back(t.goid);
    else o.waiters.push_back(t.tid);
  }
  std::vector<WaitedObject> out;
  for (auto& [_, o] : by_key) {
    std::sort(o.waiters.begin(), o.waiters.end());
    std::sort(o.goroutines.begin(), o.goroutines.end());
    out.push_back(std::move(o));
  }
  return out;
}

std::vector<OrphanedLock> find_orphans(const std::vector<WaitedObject>& objects, const std::set<int>& tids) {
  std::vector<OrphanedLock> out;
  for (const WaitedObject& o : objects)
    if (o.owner && !tids.count(*o.owner)) out.push_back({o.address, o.kind, *o.owner, o.waiters});
  return out;
}

std::optional<CrashContext> crash_context(const Snapshot& s, const std::vector<WaitedObject>& objects) {
  if (!s.crash) return std::nullopt;
  CrashContext c{s.crash->tid, s.crash->signal, s.crash->signal_name, s.crash->address, {}, {}};
  for (const WaitedObject& o : objects) {
    if (o.owner != s.crash->tid) continue;
    c.held_locks.push_back(o.address);
    c.waiters.insert(c.waiters.end(), o.waiters.begin(), o.waiters.end());
  }
  std::sort(c.waiters.begin(), c.waiters.end());
  return c;
}

}  // namespace

HangReport analyze_hang(const Snapshot& snap) {
  HangReport h;
  std::set<int> tids;
  for (const Thread& t : snap.threads) {
    tids.insert(t.tid);
    if (t.state != State::mutex && t.state != State::rwlock) continue;
    ++h.lock_waiters;
    if (t.waiting_on) ++h.located;
  }
  Edges e = wait_edges(snap);
  for (const auto& [waiter, edge] : e)
    if (edge.owner == waiter) h.self_deadlocks.push_back({waiter, edge.lock});
  h.deadlocks = find_cycles(e);
  h.blockers = find_blockers(e, tids, h.deadlocks);
  h.objects = waited_objects(snap);
  h.orphaned = find_orphans(h.objects, tids);
  h.crash = crash_context(snap, h.objects);
  // Goroutines blocked on one sync.Mutex (kind "go-mutex", no owner) share a
  // WaitedObject above; no owner means no edge, so no Go cycle is provable.
  h.go = go_asleep(snap);
  return h;
}

}  // namespace threadleak
