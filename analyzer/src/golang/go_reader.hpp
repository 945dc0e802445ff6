// Reading the goroutines of a Go program from its memory: walk
// runtime.allgs, read each runtime.g through the layout (from DWARF, or
// derived from the binary's type descriptors), map running
// goroutines to their OS threads through runtime.allm (m.procid is the
// TID, m.curg the goroutine on it), and unwind parked goroutines from their
// saved registers by frame pointers. Only reads memory; never writes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "golang/go_dwarf.hpp"
#include "golang/go_image.hpp"
#include "golang/go_layout.hpp"
#include "golang/go_sema.hpp"
#include "golang/go_symbols.hpp"
#include "target.hpp"

namespace threadleak::detail::golang {

struct RawGoroutine {
  std::int64_t goid = 0;
  std::uint32_t status = 0;        // _Gscan bit masked off
  std::uint8_t wait_reason = 0;    // index into runtime.waitReasonStrings
  std::string wait_text;           // that string, "" if none
  std::int64_t wait_since = 0;     // nanotime when it started waiting, 0 if not recorded
  std::uint64_t gopc = 0, startpc = 0;
  int tid = 0;                     // the OS thread it runs on (running or in a syscall), 0 if none
  bool on_thread_stack = false;    // running: its frames are the OS thread's
  std::vector<std::uint64_t> pcs;  // unwound pcs, innermost first (return addresses but maybe pcs[0])
  std::string error;
  bool truncated = false;
  std::uint64_t sema = 0;          // parked on a runtime semaphore: its address (&m.sema), else 0
};

// What one look at a Go program gives, before symbolization.
struct GoCapture {
  std::unique_ptr<GoImage> image;       // the executable's bytes
  std::unique_ptr<GoDwarf> dwarf;       // null when stripped (or THREADLEAK_GO_SYMBOLS=pclntab)
  std::unique_ptr<GoSymbols> symbols;   // from the DWARF, else the pclntab
  bool layout_known = false;            // false: OS threads only, goroutines cannot be read
  GoLayout layout;
  std::uint64_t bias = 0;                 // load address - link-time address (PIE)
  std::vector<RawGoroutine> goroutines;   // by goid
  std::set<int> m_tids;                   // OS threads that are Ms of the runtime
  std::optional<std::int64_t> now_ns;     // the target's nanotime at capture, when known
  std::optional<SemaLayout> sema;         // runtime.semtable's layout, when the DWARF has it
  std::optional<std::uint64_t> timers;    // timers pending in the runtime's Ps at capture
  std::vector<std::string> warnings;
};

// Reads every live goroutine. `mem` gives the target's memory; `max_frames`
// caps each stack; `tids` are the target's threads (checks the globals
// found in a stripped binary). Problems become capture.warnings, never
// exceptions.
void read_goroutines(GoCapture& capture, const GoLayout& layout, Memory& mem, unsigned max_frames,
                     const std::set<int>& tids);

}  // namespace threadleak::detail::golang
