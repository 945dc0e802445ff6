// threadleak/analysis.hpp — grouping and diffing of Snapshots.
//
// Group: threads whose stacks have the same signature. The signature is
// built from module-relative frames (module identity + rel_pc) or, coarser,
// from function names, so groups match across ASLR and across restarts of one
// build. Groups come out largest first, then by signature; TIDs sorted.
//
// Diff: groups of a baseline and a current snapshot matched by signature.
//
// Fingerprint: a short name for a group (12 lower-case hex digits) that a
// person or a CI file can keep: built from the functions on the stack and
// their inline chain, not from offsets, so it survives ASLR, restarts and
// rebuilds that do not change those functions (docs/threadleak.md#fingerprints).
//
//   auto groups = threadleak::group(snap, {.by = threadleak::GroupBy::pc});
//   threadleak::Diff d = threadleak::diff(old_snap, new_snap, {});
//   return d.grew() ? 1 : 0;
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "threadleak/snapshot.hpp"

namespace threadleak {

// How finely stacks are told apart, finest first.
enum class GroupBy {
  pc,        // every frame's module and module-relative pc
  function,  // every frame's module and function name (lines and offsets ignored)
};

struct GroupOptions {
  GroupBy by = GroupBy::pc;
};

// What a group's threads did between captures of one process (diff and
// series; docs/activity.md). A thread counts when its TID is in every
// capture with a CPU time and the same stack (state, innermost function,
// return addresses of the outer frames); the others count in none.
struct Activity {
  std::size_t parked = 0;    // also the same wait object (waiting_on, else the state), and no CPU used
                             // beyond ActivitySpan::tolerance_ns in any interval
  std::size_t spinning = 0;  // in its own code (state running) at every capture, CPU rose in every interval
  std::size_t woke = 0;      // any other rise: it ran between the captures and came back to the same place
  std::size_t total() const { return parked + spinning + woke; }
};

// The captures' side of it: whether CPU times could be compared, their
// source, and the time between the first and the last capture.
struct ActivitySpan {
  bool one_process = false;            // every capture is of one process (same PID and executable)
  bool compared = false;               // one process, CPU times of one source in every capture
  std::string not_compared;            // why not, when not ("" when compared)
  std::string cpu_from;                // Snapshot::cpu_from of the captures
  std::uint64_t tolerance_ns = 0;      // the CPU a thread may show and still be parked, per interval
  std::optional<double> seconds;       // first to last capture, when every captured_at is known
  std::vector<std::string> captured_at_from;  // per capture, oldest first: Snapshot::captured_at_from
  Activity threads;                    // over all compared groups
};

// Members of a group that wait on the same descriptors (Thread::descriptors,
// live captures only): one entry per distinct set.
struct DescriptorWait {
  std::vector<Descriptor> descriptors;
  std::vector<std::int64_t> members;  // sorted TIDs
};

struct Group {
  std::string signature;         // stable key; equal signatures = same stack
  std::string fingerprint;       // fingerprint_of() its threads: 12 lower-case hex digits
  State state = State::unknown;  // the state of the group's threads (the most common one)
  std::string syscall_name;
  std::vector<std::int64_t> members;  // sorted: TIDs of a thread group, goroutine ids of a goroutine group
  std::vector<Frame> frames;     // the representative stack (of the lowest TID)
  Kind kind = Kind::thread;      // goroutine groups: same stack, wait reason and creator
  std::string wait_reason;       // goroutines: "sleep", "chan receive", ... (runtime.Stack's words)
  std::optional<Frame> created_by;  // goroutines: the `go` statement; OS threads: the start routine
  std::string start_kind;        // OS threads: Thread::start_kind of its members ("main", "pthread", ...)
  bool go_runtime = false;       // every member is the Go runtime's own (folded in text by default)
  bool leaked_by_gc = false;     // goroutines the Go GC proved leaked (part of the wait reason, so of the key)
  std::vector<DescriptorWait> waits_on;  // what its I/O waits are on, most members first; empty: none known
  std::optional<Activity> activity;  // diff and series of one process, when compared (not part of the key)
  std::size_t count() const { return members.size(); }
};

std::vector<Group> group(const Snapshot& snap, const GroupOptions& opts);

// The fingerprint of the group `t` belongs to: FNV-1a 64 over its kind,
// state (goroutines: wait reason), each frame's function name and whether
// it is an inlined call, and the creating function; the hash's first 12 hex
// digits. A frame without a function counts as its module's file name
// (docs/threadleak.md#fingerprints). Equal signatures give equal
// fingerprints at every GroupBy; groups that differ only in offsets share one.
std::string fingerprint_of(const Thread& t);
// True when `wanted` (4 to 12 hex digits, any case) starts `fingerprint`.
bool fingerprint_matches(const std::string& fingerprint, const std::string& wanted);
// True when `s` is something fingerprint_matches accepts: 4 to 12 hex digits.
bool is_fingerprint_prefix(const std::string& s);

struct DiffOptions {
  GroupOptions grouping;
  std::vector<std::string> ignore_top;   // skip threads whose top function is one of these
  std::vector<std::string> ignore_any;   // skip threads with any frame in one of these
  std::vector<std::string> ignore_groups;  // skip threads whose group fingerprint starts with one of these
  std::vector<std::string> ignore_created_by;  // skip threads (goroutines) whose start routine (`go` statement's function) is one of these
  std::vector<std::string> ignore_module;  // skip threads with any frame in a module of this file name (basename)
  std::size_t min_growth = 1;            // a group must grow by at least this much to count
};

struct DiffEntry {
  std::size_t baseline = 0;
  std::size_t current = 0;
  Group group;                   // the current group (or the baseline one, for a group that is gone)
  std::vector<std::int64_t> new_members;  // same-process diff: members not present at the baseline
};

struct Diff {
  bool same_process = false;     // both snapshots of one PID: new means "new TID"
  std::vector<DiffEntry> grown;  // grew or appeared, largest growth first
  std::vector<DiffEntry> shrunk; // shrank or vanished
  std::size_t baseline_total = 0, current_total = 0;   // members (threads and goroutines) per snapshot
  std::size_t ignored = 0;       // threads skipped by ignore rules (both sides)
  // Both snapshots' warnings, each prefixed "baseline: " or "current: ".
  std::vector<std::string> warnings;
  // What a report of the current state draws: the current snapshot's facts
  // (origin, process, modules, crash, warnings; its threads left out) and all its
  // groups, grouped and filtered as the diff was.
  Snapshot current;
  std::vector<Group> current_groups;   // each with its activity when compared
  ActivitySpan activity;               // parked and spinning threads between the two captures
  bool grew() const { return !grown.empty(); }
};

Diff diff(const Snapshot& baseline, const Snapshot& current, const DiffOptions& opts);

// Several snapshots of one service, oldest first: per group its count in
// each. A group grew only when its count never falls along the series
// and rises by at least DiffOptions::min_growth from first to last, so a pool
// that grows and shrinks is not flagged. Counts only (TIDs are not matched).
//
//   threadleak::Series s = threadleak::series({snap1, snap2, snap3}, {});
//   return s.grew() ? 1 : 0;
struct SeriesEntry {
  Group group;                       // the group as last seen (TIDs of that snapshot)
  std::vector<std::size_t> counts;   // one per snapshot, oldest first; 0 where absent
  bool grew = false;                 // never fell, and last - first >= min_growth
  std::size_t growth() const { return counts.empty() || counts.back() < counts.front() ? 0 : counts.back() - counts.front(); }
};

struct Series {
  std::vector<std::string> origins;  // per snapshot, oldest first
  std::vector<std::size_t> totals;   // members (threads and goroutines) per snapshot, before ignore rules
  std::vector<SeriesEntry> groups;   // grown first (largest growth first), then by last count
  // Every snapshot's warnings, each prefixed with its origin.
  std::vector<std::string> warnings;
  std::size_t ignored = 0;           // threads skipped by ignore rules (all snapshots)
  ActivitySpan activity;             // parked and spinning threads across all snapshots (groups: Group::activity)
  bool grew() const {
    for (const auto& g : groups)
      if (g.grew) return true;
    return false;
  }
};

// Needs at least one snapshot; the snapshots are only read.
Series series(const std::vector<Snapshot>& snaps, const DiffOptions& opts);

// The first frame of the program's own code in a stack, or nullptr.
const Frame* first_own_frame(const std::vector<Frame>& frames);

}  // namespace threadleak
