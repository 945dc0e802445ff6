// Debug information loaded on a second thread while the first unwinds.
//
// Symbolizing starts by loading each module's debug info: for glibc
// (libc6-dbg) that is ~4 MB of compressed DWARF, inflated by libdw in one
// go, ~60 ms here, plus libdwfl's first debug-info lookup loading the
// debuginfod client library. None of it depends on the unwinding, so a
// second Dwfl with the same modules does it in parallel; the snapshot is
// then symbolized through that Dwfl. A Dwfl is not thread-safe: the two
// threads share no Dwfl, Elf or descriptor.
#pragma once

#include <cstdint>
#include <thread>
#include <vector>

#include "target.hpp"

namespace threadleak::detail {

class SymbolPreload {
 public:
  // Does nothing if the target cannot report its modules again. Otherwise
  // starts a thread that builds a Dwfl with t's modules and loads the
  // debug info of those holding `pcs` (the threads' current PCs) and of the
  // main executable. `t` must outlive this object.
  SymbolPreload(const Target& t, std::vector<std::uint64_t> pcs);
  ~SymbolPreload();
  SymbolPreload(const SymbolPreload&) = delete;
  SymbolPreload& operator=(const SymbolPreload&) = delete;

  // Waits for the thread; the loaded Dwfl, or null if there is none.
  DwflPtr take();

 private:
  void run(const Target& t, std::vector<std::uint64_t> pcs);
  std::thread worker_;
  DwflPtr dwfl_;
};

}  // namespace threadleak::detail
