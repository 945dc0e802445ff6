// JSON forms of the model types, shared by snapshot files and --json output.
#pragma once

#include <nlohmann/json.hpp>

#include "threadleak/analysis.hpp"

namespace threadleak::detail {

nlohmann::json frame_json(const Frame& f);
nlohmann::json frames_json(const std::vector<Frame>& frames);
nlohmann::json group_json(const Group& g);
// "syscall:futex" for State::syscall, else to_string(state).
std::string state_label(State s, const std::string& syscall_name);

}  // namespace threadleak::detail
