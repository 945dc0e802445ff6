// threadleak/hang.hpp — who is everyone waiting for.
//
// From the locks recorded in a Snapshot (Thread::waiting_on, filled at
// capture time from glibc's mutex, rwlock and condvar objects) this builds
// the wait-for graph, waiter -> owner, and reports: deadlock cycles,
// blockers ranked by how many threads wait behind them, orphaned locks (the
// owner is no thread of the process: it exited holding the lock),
// self-deadlocks, condvar waiters by condvar, and the crashed thread with
// the locks it held. Pure function of the Snapshot; works on snapshot files.
//
//   threadleak::Snapshot snap = threadleak::capture(threadleak::Source::path("core.1"));
//   threadleak::HangReport h = threadleak::analyze_hang(snap);
//   std::cout << threadleak::render_hang_text(snap, h, {});
//   return h.deadlocked() ? 1 : 0;
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "threadleak/threadleak.hpp"

namespace threadleak {

// A cycle: threads[i] waits for locks[i], held by threads[(i + 1) % n].
// Rotated so the lowest TID comes first.
struct Deadlock {
  std::vector<int> threads;
  std::vector<std::uint64_t> locks;
  std::vector<std::string> kinds;      // kinds[i] is the kind of locks[i] ("mutex", "rwlock")
};

// A thread holding locks others wait for.
struct Blocker {
  int tid = 0;
  std::size_t waiters = 0;             // threads waiting directly for a lock it holds
  std::size_t transitive_waiters = 0;  // threads that reach it along wait-for edges
  std::vector<std::uint64_t> locks;    // the locks it holds that others wait for, ascending
  bool in_deadlock = false;            // it is part of a cycle
};

// A lock whose recorded owner is no thread of the process.
struct OrphanedLock {
  std::uint64_t lock = 0;
  std::string kind;
  int owner = 0;
  std::vector<int> waiters;            // sorted
};

// A thread waiting for a non-recursive mutex it owns itself.
struct SelfDeadlock {
  int tid = 0;
  std::uint64_t lock = 0;
};

// Every lock or condvar some thread waits on, with its waiters. Locks with no
// recorded owner (a condvar, a mutex being handed over, a Go sync.Mutex) are
// listed too: grouping by address is all that can be said of them.
struct WaitedObject {
  std::string kind;
  std::uint64_t address = 0;
  std::optional<int> owner;
  std::vector<int> waiters;            // TIDs of OS threads, sorted
  std::vector<std::int64_t> goroutines;  // goroutine ids (Go kinds: "go-mutex", "go-rwmutex", "go-sema"), sorted
};

// Go's own "fatal error: all goroutines are asleep - deadlock!", decided on
// the snapshot (docs/hang.md, "Go"). User goroutines are those the runtime's
// traceback shows, minus the os/signal watcher (it waits for a signal from
// outside the process and keeps the runtime's own check from firing).
struct GoAsleep {
  std::size_t goroutines = 0;           // user goroutines
  std::size_t asleep = 0;               // of those, parked on a channel, select or sync primitive
  std::vector<std::int64_t> awake;      // goids of the others (running, runnable, syscall, sleep, IO wait...)
  std::optional<std::uint64_t> timers;  // timers pending in the runtime; nullopt if unknown
  bool signal_watcher = false;          // an os/signal watcher goroutine exists (not counted)
  // Some user goroutine exists, all are asleep, and no timer is pending.
  bool all_asleep = false;
};

struct CrashContext {
  int tid = 0;
  int signal = 0;
  std::string signal_name;
  std::optional<std::uint64_t> address;
  std::vector<std::uint64_t> held_locks;  // locks it owns that others wait for
  std::vector<int> waiters;               // threads waiting for those locks, sorted
};

struct HangReport {
  std::vector<Deadlock> deadlocks;        // ordered by first TID
  std::vector<Blocker> blockers;          // most transitive waiters first, then direct, then TID
  std::vector<OrphanedLock> orphaned;
  std::vector<SelfDeadlock> self_deadlocks;
  std::vector<WaitedObject> objects;      // by kind, then address
  std::optional<CrashContext> crash;
  std::size_t lock_waiters = 0;           // threads blocked on a lock (mutex/rwlock) at all
  std::size_t located = 0;                // of those, how many have a lock object recorded
  std::optional<GoAsleep> go;             // Go programs only
  // A cycle of two or more threads, a thread waiting for its own mutex, or
  // a Go program whose goroutines are all asleep.
  bool deadlocked() const {
    return !deadlocks.empty() || !self_deadlocks.empty() || (go && go->all_asleep);
  }
};

HangReport analyze_hang(const Snapshot& snap);
// The Go part of analyze_hang: nullopt when the snapshot has no goroutines.
std::optional<GoAsleep> go_asleep(const Snapshot& snap);

struct HangTextOptions {
  bool stacks = true;        // print the stacks of deadlocked, blocking and crashed threads
  std::size_t max_tids = 8;  // TIDs listed per line before "..."
  bool color = false;        // ANSI colours: deadlocks and the crash red, orphaned locks yellow
};
// The `threadleak hang` text; with stacks=false, the short section that heads `stacks`.
std::string render_hang_text(const Snapshot& snap, const HangReport& h, const HangTextOptions& o);
// The `threadleak hang --json` document (schema: docs/schema/hang.schema.json).
std::string render_hang_json(const Snapshot& snap, const HangReport& h);
// `threadleak hang --format html`: one self-contained page (it loads nothing)
// with the wait-for graph drawn as SVG, cycles in red, the findings with
// their stacks, and the groups table and icicle of `groups` (docs/hang.md).
std::string render_hang_html(const Snapshot& snap, const HangReport& h, const std::vector<Group>& groups);

// `threadleak stacks` with hang triage: the text starts with the short hang
// section when there is a deadlock, blocker, orphaned lock or crash; the JSON
// carries a "hang" object shaped like the `hang --json` document's body.
std::string render_text(const Snapshot& snap, const std::vector<Group>& groups, const HangReport& h,
                        const TextOptions& o);
std::string render_json(const Snapshot& snap, const std::vector<Group>& groups, const HangReport& h);

}  // namespace threadleak
