// Symbolization of Go PCs the way the runtime's own traceback prints them:
// function, file:line and the inlined calls at the pc, from the program's
// GoSymbols (DWARF or pclntab). Each distinct pc is looked up once.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "golang/go_symbols.hpp"
#include "threadleak/snapshot.hpp"

namespace threadleak::detail::golang {

// The executable's module as the snapshot names it.
struct GoModule {
  std::string name, build_id;
  std::uint64_t start = 0;   // load address, for rel_pc
};

class GoSymbolizer {
 public:
  // `symbols` must outlive the symbolizer; `bias` = load - link-time address.
  GoSymbolizer(const GoSymbols& symbols, std::uint64_t bias, GoModule module);
  // The frames at `pc`, innermost first. `return_address`: pc follows a
  // call, so the call's own line is looked up (pc - 1), unless pc is the
  // first instruction of a function (a goroutine that has not run yet).
  std::vector<GoFrame> frames(std::uint64_t pc, bool return_address);
  // The function holding pc (not expanded), with the file:line of the
  // instruction before it: how the runtime prints "created by".
  Frame creator(std::uint64_t gopc);
  // "/usr/lib/go-1.19/src/": frames under it are not the program's own.
  const std::string& goroot_src() const { return goroot_src_; }

 private:
  std::vector<GoFrame> lookup(std::uint64_t link_pc);
  const GoSymbols& d_;
  std::uint64_t bias_;
  GoModule module_;
  std::string goroot_src_;
  std::unordered_map<std::uint64_t, std::vector<GoFrame>> cache_;   // by pc | return_address << 63
};

}  // namespace threadleak::detail::golang
