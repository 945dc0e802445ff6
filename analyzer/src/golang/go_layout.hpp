// Where the Go runtime keeps what we read, taken from its DWARF: the
// fields of runtime.g and runtime.m and the addresses of the globals that
// lead to every goroutine. Nothing here is hard-coded per Go version.
#pragma once

#include <optional>
#include <string>

#include "golang/go_dwarf.hpp"

namespace threadleak::detail::golang {

struct GoLayout {
  // runtime.g (nested structs flattened: stack.lo, sched.pc, ...)
  Field g_stack_lo, g_stack_hi, g_m, g_sched_sp, g_sched_pc, g_sched_bp, g_syscallsp, g_syscallpc,
      g_status, g_goid, g_waitsince, g_waitreason, g_gopc, g_startpc;
  // runtime.m
  Field m_procid, m_curg, m_alllink;
  // globals (link-time addresses)
  std::uint64_t allgs = 0, allm = 0, wait_strings = 0;
  std::size_t wait_count = 0;   // entries of runtime.waitReasonStrings

  // Reads the layout; nullopt with `missing` naming the first thing the
  // DWARF does not describe.
  static std::optional<GoLayout> read(const GoDwarf& d, std::string& missing);
};

}  // namespace threadleak::detail::golang
