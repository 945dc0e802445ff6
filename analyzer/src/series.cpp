// Series: groups followed across several snapshots, oldest first. A group is
// grown when its count never falls and rises by at least min_growth.
#include <algorithm>
#include <map>

#include "activity.hpp"
#include "ignore.hpp"
#include "threadleak/analysis.hpp"

namespace threadleak {
namespace {

bool monotone_rise(const std::vector<std::size_t>& counts, std::size_t min_growth) {
  for (std::size_t i = 1; i < counts.size(); ++i)
    if (counts[i] < counts[i - 1]) return false;
  std::size_t rise = counts.back() - counts.front();
  return rise > 0 && rise >= min_growth;
}

bool before(const SeriesEntry& a, const SeriesEntry& b) {
  if (a.grew != b.grew) return a.grew;
  if (a.grew && a.growth() != b.growth()) return a.growth() > b.growth();
  if (a.counts.back() != b.counts.back()) return a.counts.back() > b.counts.back();
  return a.group.signature < b.group.signature;
}

}  // namespace

Series series(const std::vector<Snapshot>& snaps, const DiffOptions& opts) {
  Series out;
  std::map<std::string, SeriesEntry> by_sig;
  for (std::size_t i = 0; i < snaps.size(); ++i) {
    out.origins.push_back(snaps[i].origin);
    out.totals.push_back(snaps[i].threads.size());
    for (const std::string& w : snaps[i].warnings) out.warnings.push_back(snaps[i].origin + ": " + w);
    Snapshot kept = detail::filtered(snaps[i], opts, out.ignored);
    for (Group& g : group(kept, opts.grouping)) {
      SeriesEntry& e = by_sig[g.signature];
      e.counts.resize(snaps.size(), 0);
      e.counts[i] = g.count();
      e.group = std::move(g);  // later snapshots overwrite: the group as last seen
    }
  }
  for (auto& [sig, e] : by_sig) {
    e.grew = monotone_rise(e.counts, opts.min_growth);
    out.groups.push_back(std::move(e));
  }
  // Activity across all snapshots, for the groups of the last one.
  std::vector<const Snapshot*> all;
  for (const Snapshot& s : snaps) all.push_back(&s);
  std::vector<Group*> last;
  for (SeriesEntry& e : out.groups)
    if (e.counts.back() > 0) last.push_back(&e.group);
  out.activity = detail::compare_activity(all, last);
  std::sort(out.groups.begin(), out.groups.end(), before);
  return out;
}

}  // namespace threadleak
