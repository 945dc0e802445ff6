// JSON forms of the analysis types for the reports (frames and states are
// the model's: model_json.hpp).
#pragma once

#include <nlohmann/json.hpp>

#include "model_json.hpp"
#include "threadleak/analysis.hpp"

namespace threadleak::detail {

nlohmann::json group_json(const Group& g);

}  // namespace threadleak::detail
