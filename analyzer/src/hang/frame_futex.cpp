#include "hang/frame_futex.hpp"

#include <dwarf.h>
#include <elfutils/libdw.h>

#include <cstdlib>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "util.hpp"

namespace threadleak::detail {
namespace {

// glibc's slow path of a contended mutex, and its parameter that is the lock
// word. Only here is the thread known to be waiting: in pthread_mutex_lock it
// may already hold the mutex (its __owner is set before it returns).
constexpr const char* kWaitFunction = "__lll_lock_wait";
constexpr const char* kFutexParam = "futex";

const char* name_of(Dwarf_Die* die) {
  Dwarf_Attribute a;
  return dwarf_attr_integrate(die, DW_AT_name, &a) ? dwarf_formstring(&a) : nullptr;
}

// The value of parameter `param` of `scope` at `pc` (module-relative), when
// its location there is exactly one register.
std::optional<std::uint64_t> register_param(Dwarf_Die* scope, const char* param, Dwarf_Addr pc,
                                            const std::array<std::uint64_t, 17>& regs) {
  Dwarf_Die child;
  if (dwarf_child(scope, &child) != 0) return std::nullopt;
  do {
    const char* n = name_of(&child);
    if (dwarf_tag(&child) != DW_TAG_formal_parameter || !n || std::strcmp(n, param) != 0) continue;
    Dwarf_Attribute a;
    Dwarf_Op* expr = nullptr;
    std::size_t len = 0;
    if (!dwarf_attr(&child, DW_AT_location, &a) || dwarf_getlocation_addr(&a, pc, &expr, &len, 1) != 1) return std::nullopt;
    if (len != 1 || expr[0].atom < DW_OP_reg0 || expr[0].atom > DW_OP_reg15) return std::nullopt;
    return regs[expr[0].atom - DW_OP_reg0];
  } while (dwarf_siblingof(&child, &child) == 0);
  return std::nullopt;
}

}  // namespace

std::optional<std::uint64_t> futex_from_frame(Dwfl* dwfl, const UserRegs& regs) {
  Dwarf_Addr bias = 0;
  Dwarf_Die* cu = dwfl ? dwfl_addrdie(dwfl, regs.rip, &bias) : nullptr;
  if (!cu) return std::nullopt;
  Dwarf_Die* raw = nullptr;
  int n = dwarf_getscopes(cu, regs.rip - bias, &raw);
  std::unique_ptr<Dwarf_Die, decltype(&std::free)> scopes(raw, &std::free);
  for (int i = 0; i < n; ++i) {  // innermost first, up to the physical function
    if (dwarf_tag(&raw[i]) != DW_TAG_subprogram) continue;
    const char* name = name_of(&raw[i]);
    if (!name || std::strcmp(name, kWaitFunction) != 0) return std::nullopt;
    auto v = register_param(&raw[i], kFutexParam, regs.rip - bias, dwarf_regs(regs));
    if (v && *v && log_enabled())
      log(fmt::format("futex {:#x} of a waiter outside the futex call, from {}'s {} at pc {:#x}", *v, name,
                      kFutexParam, regs.rip));
    return v && *v ? v : std::nullopt;
  }
  return std::nullopt;
}

}  // namespace threadleak::detail
