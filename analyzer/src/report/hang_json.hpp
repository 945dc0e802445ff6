// JSON form of a HangReport: the `threadleak hang --json` document's body,
// also embedded as "hang" in `threadleak stacks --json`.
#pragma once

#include <nlohmann/json.hpp>

#include "threadleak/hang.hpp"

namespace threadleak::detail {

nlohmann::json hang_json(const Snapshot& snap, const HangReport& h);

}  // namespace threadleak::detail
