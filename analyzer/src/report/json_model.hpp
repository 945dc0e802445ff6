// JSON forms of the analysis types for the reports (frames and states are
// the model's: model_json.hpp).
#pragma once

#include <nlohmann/json.hpp>

#include "model_json.hpp"
#include "threadleak/analysis.hpp"

namespace threadleak::detail {

// The `version` of the stacks, diff, series and hang documents. 2: group
// members as `members`, diff entries as `grown`/`shrunk` with `new_members`,
// counts as `total`/`baseline_total`/`current_total`, series groups `grew`.
constexpr int kReportVersion = 2;

nlohmann::json group_json(const Group& g);

}  // namespace threadleak::detail
