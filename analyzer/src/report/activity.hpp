// The "parked and spinning" part of the diff and series reports (text and
// JSON, HTML; docs/activity.md). Renders only: the numbers come from the diff.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "threadleak/analysis.hpp"

namespace threadleak::detail {

// "412ms", "12.4s", "12m30s", "3h05m", "2d04h".
std::string duration_text(double seconds);

// The head line: "activity between the captures, 2.0s apart: 9 parked, 1
// spinning, 0 woke (same TIDs)", or "...: parked and spinning not told: WHY".
std::string activity_head(const ActivitySpan& span);
// "times: recorded by threadleak at each capture; CPU: ..., parked = at most 10ms used".
std::string activity_times(const ActivitySpan& span);
// A group's counts: "3 parked >= 2.0s, 1 spinning" (spinning red with `color`).
std::string activity_counts(const Activity& a, const ActivitySpan& span, bool color);
// "3 threads in state condvar in F: 3 parked >= 2.0s"; "" when the group has no counted thread.
std::string activity_group_line(const Group& g, const ActivitySpan& span, bool color);

// The section: a head line saying what was compared, how far apart and
// where the times come from, then one line per group with any counted
// thread (`groups` in report order).
std::string activity_text(const ActivitySpan& span, const std::vector<const Group*>& groups, bool color);

// {"compared", "not_compared"?, "cpu_from", "tolerance_ns", "seconds"?,
//  "captured_at_from", "parked", "spinning", "woke", "groups": [...]}
nlohmann::json activity_json(const ActivitySpan& span, const std::vector<const Group*>& groups);
// A group's own {"parked", "spinning", "woke"}.
nlohmann::json activity_json(const Activity& a);

}  // namespace threadleak::detail
