// Diff: groups of a baseline and a current snapshot matched by signature.
#include <algorithm>
#include <map>
#include <set>

#include "threadleak/analysis.hpp"

namespace threadleak {
namespace {

// "worker" matches "worker", "worker(int)" and "worker<T>(...)"; a full
// demangled name matches itself.
bool function_matches(const std::string& fn, const std::string& pattern) {
  if (fn == pattern) return true;
  return fn.size() > pattern.size() && fn.compare(0, pattern.size(), pattern) == 0 &&
         (fn[pattern.size()] == '(' || fn[pattern.size()] == '<');
}

bool any_matches(const std::string& fn, const std::vector<std::string>& patterns) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& p) { return function_matches(fn, p); });
}

// "Top" is the innermost frame or the first frame of the program's own code.
bool ignored(const Thread& t, const DiffOptions& o) {
  if (!t.frames.empty() && any_matches(t.frames.front().function, o.ignore_top)) return true;
  if (const Frame* own = first_own_frame(t.frames); own && any_matches(own->function, o.ignore_top))
    return true;
  return std::any_of(t.frames.begin(), t.frames.end(),
                     [&](const Frame& f) { return any_matches(f.function, o.ignore_any); });
}

Snapshot filtered(const Snapshot& s, const DiffOptions& o, std::size_t& dropped) {
  Snapshot out;
  out.pid = s.pid;
  for (const Thread& t : s.threads) {
    if (ignored(t, o)) ++dropped;
    else out.threads.push_back(t);
  }
  return out;
}

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
  d.baseline_threads = baseline.threads.size();
  d.current_threads = current.threads.size();
  d.same_process = baseline.pid != 0 && baseline.pid == current.pid &&
                   baseline.executable == current.executable;
  Snapshot b = filtered(baseline, opts, d.ignored);
  Snapshot c = filtered(current, opts, d.ignored);
  std::set<int> old_tids;
  for (const Thread& t : baseline.threads) old_tids.insert(t.tid);
  auto bg = by_signature(group(b, opts.grouping));
  auto cg = by_signature(group(c, opts.grouping));

  for (auto& [sig, g] : cg) {
    auto it = bg.find(sig);
    DiffEntry e{it == bg.end() ? 0 : it->second.count(), g.count(), g, {}};
    std::size_t growth = e.current > e.baseline ? e.current - e.baseline : 0;
    if (d.same_process) {
      for (int tid : g.tids)
        if (!old_tids.count(tid)) e.new_tids.push_back(tid);
      growth = e.new_tids.size();
    }
    if (growth > 0 && growth >= opts.min_growth) d.leaked.push_back(std::move(e));
  }
  for (auto& [sig, g] : bg) {
    auto it = cg.find(sig);
    std::size_t now = it == cg.end() ? 0 : it->second.count();
    if (now < g.count()) d.gone.push_back({g.count(), now, it == cg.end() ? g : it->second, {}});
  }
  std::sort(d.leaked.begin(), d.leaked.end(), larger_change);
  std::sort(d.gone.begin(), d.gone.end(), larger_change);
  return d;
}

}  // namespace threadleak
