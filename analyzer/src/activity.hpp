// Parked and spinning threads between captures of one process (diff and
// series; docs/activity.md). Internal to the analyzer.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "threadleak/analysis.hpp"

namespace threadleak::detail {

// Compares `snaps` (oldest first) thread by thread and sets the activity
// of each group in `groups` (groups of the last snapshot: members are its
// TIDs; goroutine groups are left alone). Returns the span; when the
// captures cannot be compared, no group gets an activity and the span says
// why.
ActivitySpan compare_activity(const std::vector<const Snapshot*>& snaps, const std::vector<Group*>& groups);

// Seconds since the epoch of an ISO-8601 UTC time as threadleak writes it
// ("2026-12-03T14:01:49Z", optionally with a fraction); nullopt otherwise.
std::optional<double> epoch_seconds(const std::string& iso);

}  // namespace threadleak::detail
