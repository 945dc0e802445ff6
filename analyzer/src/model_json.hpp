// JSON forms of the model's own types (a frame, a state), shared by the
// stages that read and write them: snapshot files (capture) and every JSON
// report. Part of the model: it knows nothing of groups, diffs or reports.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "threadleak/snapshot.hpp"

namespace threadleak::detail {

// "syscall:futex" for State::syscall, else to_string(state).
std::string state_label(State s, const std::string& syscall_name);
// `j` as text, `indent` spaces a level; a string that is not UTF-8 (a
// symbol name read from a damaged or hostile binary) is written with U+FFFD
// for its bad bytes instead of failing the whole document.
std::string json_text(const nlohmann::json& j, int indent);
nlohmann::json frame_json(const Frame& f);
nlohmann::json frames_json(const std::vector<Frame>& frames);
// A descriptor's peers: [{pid, comm, fd}, ...].
nlohmann::json peers_json(const std::vector<SocketPeer>& peers);
// "0x1f" -> 31; throws std::invalid_argument (or a json exception) else.
std::uint64_t hex_from_json(const nlohmann::json& v);
// The inverse of frame_json; throws nlohmann::json::exception or
// std::invalid_argument on a malformed frame.
Frame frame_from_json(const nlohmann::json& j);

}  // namespace threadleak::detail
