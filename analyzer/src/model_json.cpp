#include "model_json.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace threadleak::detail {

std::string state_label(State s, const std::string& syscall_name) {
  if (s == State::syscall) return "syscall:" + syscall_name;
  return to_string(s);
}

nlohmann::json peers_json(const std::vector<SocketPeer>& peers) {
  nlohmann::json j = nlohmann::json::array();
  for (const SocketPeer& p : peers) j.push_back({{"pid", p.pid}, {"comm", p.comm}, {"fd", p.fd}});
  return j;
}

nlohmann::json frame_json(const Frame& f) {
  nlohmann::json j = {{"pc", fmt::format("{:#x}", f.pc)},
                      {"rel_pc", fmt::format("{:#x}", f.rel_pc)},
                      {"module", f.module},
                      {"function", f.function},
                      {"offset", f.offset}};
  if (!f.build_id.empty()) j["build_id"] = f.build_id;
  if (!f.file.empty()) { j["file"] = f.file; j["line"] = f.line; }
  if (f.inlined) j["inlined"] = true;
  if (f.own_code) j["own_code"] = true;
  return j;
}

nlohmann::json frames_json(const std::vector<Frame>& frames) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& f : frames) a.push_back(frame_json(f));
  return a;
}

std::uint64_t hex_from_json(const nlohmann::json& v) {
  const std::string& s = v.get_ref<const std::string&>();
  std::size_t used = 0;
  std::uint64_t x = std::stoull(s, &used, 16);
  if (used != s.size()) throw std::invalid_argument("bad hex number '" + s + "'");
  return x;
}

Frame frame_from_json(const nlohmann::json& j) {
  Frame f;
  f.pc = hex_from_json(j.at("pc"));
  f.rel_pc = hex_from_json(j.at("rel_pc"));
  f.module = j.at("module").get<std::string>();
  f.function = j.at("function").get<std::string>();
  f.offset = j.at("offset").get<std::uint64_t>();
  f.build_id = j.value("build_id", "");
  f.file = j.value("file", "");
  f.line = j.value("line", 0);
  f.inlined = j.value("inlined", false);
  f.own_code = j.value("own_code", false);
  return f;
}

std::string json_text(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace threadleak::detail
