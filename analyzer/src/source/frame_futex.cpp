#include "source/frame_futex.hpp"

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

// The DWARF register number holding parameter `param` of `scope` at `pc`
// (module-relative), when its location there is exactly one register.
std::optional<int> register_param(Dwarf_Die* scope, const char* param, Dwarf_Addr pc) {
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
    return expr[0].atom - DW_OP_reg0;
  } while (dwarf_siblingof(&child, &child) == 0);
  return std::nullopt;
}

}  // namespace

std::optional<int> FutexFrameReader::register_at(std::uint64_t pc) {
  Dwarf_Addr bias = 0;
  Dwarf_Die* cu = dwfl_ ? dwfl_addrdie(dwfl_, pc, &bias) : nullptr;
  if (!cu) return std::nullopt;
  Dwarf_Die* raw = nullptr;
  int n = dwarf_getscopes(cu, pc - bias, &raw);
  std::unique_ptr<Dwarf_Die, decltype(&std::free)> scopes(raw, &std::free);
  for (int i = 0; i < n; ++i) {  // innermost first, up to the physical function
    if (dwarf_tag(&raw[i]) != DW_TAG_subprogram) continue;
    const char* name = name_of(&raw[i]);
    if (!name || std::strcmp(name, kWaitFunction) != 0) return std::nullopt;
    return register_param(&raw[i], kFutexParam, pc - bias);
  }
  return std::nullopt;
}

std::optional<std::uint64_t> FutexFrameReader::read(const UserRegs& regs) {
  auto it = reg_at_.find(regs.rip);
  if (it == reg_at_.end()) it = reg_at_.emplace(regs.rip, register_at(regs.rip)).first;
  if (!it->second) return std::nullopt;
  std::uint64_t v = dwarf_regs(regs)[static_cast<std::size_t>(*it->second)];
  if (v && log_enabled())
    log(fmt::format("futex {:#x} of a waiter outside the futex call, from {}'s {} at pc {:#x}", v,
                    kWaitFunction, kFutexParam, regs.rip));
  return v ? std::optional<std::uint64_t>(v) : std::nullopt;
}

}  // namespace threadleak::detail
