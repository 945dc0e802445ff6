// Source: a live process fed by the debugger that traces it (gdb, lldb).
#pragma once
#include <memory>

#include "target.hpp"

namespace threadleak::detail {
// Builds a Target from the registers in src.regs_file ("-" = stdin) and the
// memory behind src.mem_fd (an open /proc/PID/mem the caller owns and keeps
// open until the Target is gone). Throws Error naming the input.
std::unique_ptr<Target> open_debugger_feed(const Source& src);
}  // namespace threadleak::detail
