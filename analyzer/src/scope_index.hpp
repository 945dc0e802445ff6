// The inlined calls at a pc, from an index of one compilation unit.
//
// libdw answers "which scopes hold this pc" (dwarf_getscopes) and "which
// scopes hold this DIE" (dwarf_getscopes_die) by walking the unit's DIE
// tree from its root, for every pc: ~2 ms per pc in a C++ unit that pulls
// in the standard library's templates. A ScopeIndex walks the unit once and
// keeps its functions and inlined calls with their address ranges; each pc
// is then a scan of that list. THREADLEAK_SCOPES=libdw uses libdw's walk
// instead (to compare).
#pragma once

#include <elfutils/libdw.h>

#include <utility>
#include <vector>

namespace threadleak::detail {

class ScopeIndex {
 public:
  explicit ScopeIndex(Dwarf_Die* cu);
  // The DW_TAG_inlined_subroutine DIEs holding pc, innermost first, then
  // the DW_TAG_subprogram they were inlined into (if any holds pc). `pc`
  // is a DWARF address (bias removed).
  std::vector<Dwarf_Die> chain(Dwarf_Addr pc) const;

 private:
  struct Node {
    Dwarf_Die die;
    int parent;   // index of the enclosing function or inlined call, -1 if none
    int depth;
    std::vector<std::pair<Dwarf_Addr, Dwarf_Addr>> ranges;
  };
  void walk(Dwarf_Die* parent_die, int parent, int depth);
  std::vector<Node> nodes_;
};

// Whether THREADLEAK_SCOPES=libdw asks for libdw's own walk.
bool libdw_scopes_wanted();

}  // namespace threadleak::detail
