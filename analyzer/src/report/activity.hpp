// The "parked and spinning" part of the diff and series reports (text and
// JSON; docs/activity.md). Renders only: the numbers come from the diff.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "threadleak/analysis.hpp"

namespace threadleak::detail {

// "412ms", "12.4s", "12m30s", "3h05m", "2d04h".
std::string duration_text(double seconds);

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
