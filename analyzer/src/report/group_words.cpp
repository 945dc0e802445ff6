#include "report/group_words.hpp"

#include <fmt/format.h>

#include "report/json_model.hpp"
#include "report/names.hpp"

namespace threadleak::detail {

std::string group_state_label(const Group& g) {
  return g.kind == Kind::goroutine ? g.wait_reason : state_label(g.state, g.syscall_name);
}

std::vector<std::string> waits_on_lines(const Group& g) {
  if (g.waits_on.empty()) return {};
  std::size_t n = 0;
  for (const DescriptorWait& w : g.waits_on) n += w.members.size();
  std::string head = fmt::format("{} in {} on ", plural(n, "thread"), g.syscall_name);
  if (g.waits_on.size() == 1) return {head + descriptors_text(g.waits_on[0].descriptors)};
  std::vector<std::string> out{head + fmt::format("{} distinct descriptor sets:", g.waits_on.size())};
  for (std::size_t i = 0; i < g.waits_on.size() && i < kMaxWaitSets; ++i)
    out.push_back(fmt::format("{} on {}", g.waits_on[i].members.size(), descriptors_text(g.waits_on[i].descriptors)));
  if (g.waits_on.size() > kMaxWaitSets)
    out.push_back(fmt::format("... {} more sets (--json lists them)", g.waits_on.size() - kMaxWaitSets));
  return out;
}

std::string created_by_text(const Group& g) {
  if (g.kind == Kind::thread && g.start_kind == "main") return "the main thread";
  if (g.kind == Kind::thread && g.start_kind == "not-pthread")
    return "not created by pthread_create (no glibc thread descriptor)";
  if (!g.created_by) return "";
  const Frame& c = *g.created_by;
  std::string s = "created by " + frame_name(c);
  if (g.start_kind == "std::thread") s += " via std::thread";
  if (!c.file.empty()) s += fmt::format(" at {}:{}", c.file, c.line);
  if (g.kind == Kind::thread && !c.module.empty() && !c.function.empty()) s += fmt::format(" [{}]", c.module);
  return s;
}

}  // namespace threadleak::detail
