// Where the Go runtime keeps what we read: the fields of runtime.g and
// runtime.m and the addresses of the globals that lead to every goroutine,
// taken from the program's DWARF, or, stripped, from its own type
// descriptors (fields) and code (candidate globals, checked against
// memory at read time). Nothing here is hard-coded per Go version.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "golang/go_dwarf.hpp"
#include "golang/go_types.hpp"

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
  // Stripped binaries: where allgs and allm may be (0 above until chosen).
  std::vector<std::uint64_t> allgs_candidates, allm_candidates;
  // g.syscallbp (Go 1.23+): the frame pointer at a syscall's entry.
  std::optional<Field> g_syscallbp;

  // Reads the layout; nullopt with `missing` naming the first thing the
  // DWARF does not describe.
  static std::optional<GoLayout> read(const GoDwarf& d, std::string& missing);
  // The fields from type descriptors; globals are left to the caller.
  static std::optional<GoLayout> derive(const GoTypes& types, std::string& missing);
};

}  // namespace threadleak::detail::golang
