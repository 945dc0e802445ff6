// Small naming helpers shared by the renderers.
#include "report/names.hpp"

#include <fmt/format.h>

namespace threadleak::detail {

std::string frame_name(const Frame& f) {
  if (!f.function.empty()) return f.function;
  return fmt::format("{}+{:#x}", f.module.empty() ? "??" : f.module, f.rel_pc);
}

std::string group_title(const Group& g) {
  for (const Frame& f : g.frames)
    if (f.own_code && !f.inlined) return frame_name(f);
  if (const Frame* own = first_own_frame(g.frames)) return frame_name(*own);
  return g.frames.empty() ? "(no frames)" : frame_name(g.frames.front());
}

std::size_t growth(const Diff& d, const DiffEntry& e) {
  if (d.same_process) return e.new_tids.size();
  return e.current > e.baseline ? e.current - e.baseline : 0;
}

}  // namespace threadleak::detail
