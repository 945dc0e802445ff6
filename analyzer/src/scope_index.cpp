#include "scope_index.hpp"

#include <dwarf.h>

#include <cstdlib>
#include <cstring>

namespace threadleak::detail {
namespace {

// Enough for any real program; a hostile debug file cannot make the walk
// run away.
constexpr int kMaxDepth = 128;
constexpr std::size_t kMaxNodes = 1 << 20;

std::vector<std::pair<Dwarf_Addr, Dwarf_Addr>> ranges_of(Dwarf_Die* die) {
  std::vector<std::pair<Dwarf_Addr, Dwarf_Addr>> out;
  Dwarf_Addr base, start, end;
  ptrdiff_t off = 0;
  while ((off = dwarf_ranges(die, off, &base, &start, &end)) > 0 && out.size() < 4096)
    if (start < end) out.emplace_back(start, end);
  return out;
}

}  // namespace

ScopeIndex::ScopeIndex(Dwarf_Die* cu) { walk(cu, -1, 0); }

void ScopeIndex::walk(Dwarf_Die* parent_die, int parent, int depth) {
  if (depth >= kMaxDepth) return;
  Dwarf_Die child;
  if (dwarf_child(parent_die, &child) != 0) return;
  do {
    if (nodes_.size() >= kMaxNodes) return;
    switch (dwarf_tag(&child)) {
      case DW_TAG_subprogram:
      case DW_TAG_inlined_subroutine: {
        auto ranges = ranges_of(&child);
        if (ranges.empty()) break;   // a declaration or an abstract instance: no code here
        nodes_.push_back({child, parent, depth, std::move(ranges)});
        walk(&child, static_cast<int>(nodes_.size() - 1), depth + 1);
        break;
      }
      // Where functions and inlined calls can sit.
      case DW_TAG_lexical_block:
      case DW_TAG_namespace:
      case DW_TAG_module:
        walk(&child, parent, depth + 1);
        break;
      default:
        break;   // types, variables, call sites: no scopes of interest inside
    }
  } while (dwarf_siblingof(&child, &child) == 0);
}

std::vector<Dwarf_Die> ScopeIndex::chain(Dwarf_Addr pc) const {
  int best = -1;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const Node& n = nodes_[i];
    if (best >= 0 && n.depth <= nodes_[static_cast<std::size_t>(best)].depth) continue;
    for (const auto& [lo, hi] : n.ranges)
      if (pc >= lo && pc < hi) {
        best = static_cast<int>(i);
        break;
      }
  }
  std::vector<Dwarf_Die> out;
  for (int i = best; i >= 0; i = nodes_[static_cast<std::size_t>(i)].parent) {
    const Node& n = nodes_[static_cast<std::size_t>(i)];
    out.push_back(n.die);
    if (dwarf_tag(const_cast<Dwarf_Die*>(&n.die)) == DW_TAG_subprogram) break;
  }
  return out;
}

bool libdw_scopes_wanted() {
  const char* v = std::getenv("THREADLEAK_SCOPES");
  return v && std::strcmp(v, "libdw") == 0;
}

}  // namespace threadleak::detail
