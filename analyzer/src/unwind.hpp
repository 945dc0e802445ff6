// Unwinding every thread of a Target into raw PCs with libdwfl, through our
// own Dwfl_Thread_Callbacks (registers from the Target, memory from its
// Memory): linear in threads, no stock core callbacks.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "target.hpp"

namespace threadleak::detail {

struct RawFrame {
  std::uint64_t pc = 0;
  bool activation = false;   // frame 0 or a signal frame: pc is exact, not a return address
};

struct RawStack {
  std::vector<RawFrame> frames;
  std::string error;         // unwinding stopped on this error
  bool truncated = false;
};

// Unwinds all threads of `t`; result[i] belongs to t.threads[i].
// Throws Error if libdwfl refuses the target as a whole.
// `on_stack`, if set, sees each stack (of t.threads[i]) as soon as it is
// unwound, on the thread that unwound it, with that thread's reader of the
// target's memory: on a core two threads may call it at once (for
// different i), so what it shares must be safe for that.
using OnStack = std::function<void(std::size_t i, const RawStack&, Memory& reader)>;
std::vector<RawStack> unwind_all(Target& t, unsigned max_frames, const OnStack& on_stack = {});

// Unwind statistics, for the regression guard on callback counts.
struct UnwindStats {
  std::uint64_t next_thread_calls = 0;
  std::uint64_t get_thread_calls = 0;
  std::uint64_t set_registers_calls = 0;
  std::uint64_t memory_reads = 0;
  std::uint64_t fast_threads = 0;   // unwound by the per-PC rule cache (fast_unwind.hpp)
  std::uint64_t cfi_lookups = 0;    // distinct PCs whose rules were asked of libdw
};
UnwindStats last_unwind_stats();

}  // namespace threadleak::detail
