// Diff: groups of a baseline and a current snapshot matched by signature.
#include <algorithm>
#include <map>
#include <set>

#include "activity.hpp"
#include "ignore.hpp"
#include "threadleak/analysis.hpp"

namespace threadleak {
namespace detail {

// A pattern names a function: "worker" matches "worker", "worker(int)",
// "ns::worker<T>(...)" is matched by "ns::worker", and a template's return
// type in front ("void ns::f<...>(...)") does not get in the way.
bool function_matches(const std::string& fn, const std::string& pattern) {
  if (pattern.empty()) return false;
  for (std::size_t pos = fn.find(pattern); pos != std::string::npos; pos = fn.find(pattern, pos + 1)) {
    bool starts = pos == 0 || fn[pos - 1] == ' ';
    std::size_t end = pos + pattern.size();
    bool ends = end == fn.size() || fn[end] == '(' || fn[end] == '<';
    if (starts && ends) return true;
  }
  return false;
}

}  // namespace detail

namespace {
using detail::function_matches;

bool any_matches(const std::string& fn, const std::vector<std::string>& patterns) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& p) { return function_matches(fn, p); });
}

// "Top" is the innermost frame, or the program's own code up to its first
// real (not inlined) function: what the thread was doing, as a reader names it.
bool ignored(const Thread& t, const DiffOptions& o) {
  if (t.created_by && any_matches(t.created_by->function, o.ignore_created_by)) return true;
  if (!t.frames.empty() && any_matches(t.frames.front().function, o.ignore_top)) return true;
  for (const Frame& f : t.frames) {
    if (!f.own_code) continue;
    if (any_matches(f.function, o.ignore_top)) return true;
    if (!f.inlined) break;
  }
  if (std::any_of(t.frames.begin(), t.frames.end(), [&](const Frame& f) { return any_matches(f.function, o.ignore_any); }))
    return true;
  if (!o.ignore_module.empty() && std::any_of(t.frames.begin(), t.frames.end(), [&](const Frame& f) {
        return std::find(o.ignore_module.begin(), o.ignore_module.end(), f.module.str()) != o.ignore_module.end();
      }))
    return true;
  if (o.ignore_groups.empty()) return false;
  std::string fp = fingerprint_of(t);
  return std::any_of(o.ignore_groups.begin(), o.ignore_groups.end(),
                     [&](const std::string& w) { return fingerprint_matches(fp, w); });
}

}  // namespace

namespace detail {
// The Go runtime's own OS threads and goroutines come and go with its load
// (a new M, a GC worker): they are not the program's leak.
Snapshot filtered(const Snapshot& s, const DiffOptions& o, std::size_t& dropped) {
  Snapshot out;
  out.pid = s.pid;
  for (const Thread& t : s.threads) {
    if (t.go_runtime || ignored(t, o)) ++dropped;
    else out.threads.push_back(t);
  }
  return out;
}
}  // namespace detail

namespace {
using detail::filtered;

std::map<std::string, Group> by_signature(std::vector<Group> groups) {
  std::map<std::string, Group> m;
  for (auto& g : groups) m.emplace(g.signature, std::move(g));
  return m;
}

bool larger_change(const DiffEntry& a, const DiffEntry& b) {
  auto da = static_cast<long>(a.current) - static_cast<long>(a.baseline);
  auto db = static_cast<long>(b.current) - static_cast<long>(b.baseline);
  if (da < 0) da = -da;
  if (db < 0) db = -db;
  if (da != db) return da > db;
  return a.group.signature < b.group.signature;
}

}  // namespace

Diff diff(const Snapshot& baseline, const Snapshot& current, const DiffOptions& opts) {
  Diff d;
  d.baseline_total = baseline.threads.size();
  d.current_total = current.threads.size();
  d.same_process = baseline.pid != 0 && baseline.pid == current.pid &&
                   baseline.executable == current.executable;
  for (const std::string& w : baseline.warnings) d.warnings.push_back("baseline: " + w);
  for (const std::string& w : current.warnings) d.warnings.push_back("current: " + w);
  Snapshot b = filtered(baseline, opts, d.ignored);
  Snapshot c = filtered(current, opts, d.ignored);
  std::set<std::int64_t> old_tids, old_goids;   // same process: a goroutine is new when its goid is
  for (const Thread& t : baseline.threads) (t.kind == Kind::goroutine ? old_goids : old_tids).insert(t.member_id());
  auto bg = by_signature(group(b, opts.grouping));
  d.current_groups = group(c, opts.grouping);
  d.current = without_threads(current);
  std::vector<Group*> compared;
  for (Group& g : d.current_groups) compared.push_back(&g);
  d.activity = detail::compare_activity({&baseline, &current}, compared);
  auto cg = by_signature(d.current_groups);

  for (auto& [sig, g] : cg) {
    auto it = bg.find(sig);
    DiffEntry e{it == bg.end() ? 0 : it->second.count(), g.count(), g, {}};
    std::size_t growth = e.current > e.baseline ? e.current - e.baseline : 0;
    if (d.same_process) {
      const std::set<std::int64_t>& old = g.kind == Kind::goroutine ? old_goids : old_tids;
      for (std::int64_t id : g.members)
        if (!old.count(id)) e.new_members.push_back(id);
      growth = e.new_members.size();
    }
    if (growth > 0 && growth >= opts.min_growth) d.grown.push_back(std::move(e));
  }
  for (auto& [sig, g] : bg) {
    auto it = cg.find(sig);
    std::size_t now = it == cg.end() ? 0 : it->second.count();
    if (now < g.count()) d.shrunk.push_back({g.count(), now, it == cg.end() ? g : it->second, {}});
  }
  std::sort(d.grown.begin(), d.grown.end(), larger_change);
  std::sort(d.shrunk.begin(), d.shrunk.end(), larger_change);
  return d;
}

}  // namespace threadleak
