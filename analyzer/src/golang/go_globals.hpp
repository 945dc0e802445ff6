// The runtime's globals in a binary without a symbol table. Code still
// names them: a runtime function that uses allgs loads it with a
// RIP-relative instruction, so the addresses its code refers to are the
// candidates. Which candidate is allgs, allm, semtable or allp is decided
// against the target's memory, by what each must hold (a slice of valid
// gs; a chain of ms whose procids are the target's threads; a table whose
// waiters hash to their own slot; Ps numbered by their index).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "golang/go_image.hpp"
#include "golang/moduledata.hpp"

namespace threadleak::detail::golang {

// Addresses in [within] that the x86-64 code `code` (linked at `addr`)
// loads, stores or takes the address of, RIP-relative, in code order.
std::vector<std::uint64_t> rip_targets(std::span<const std::uint8_t> code, std::uint64_t addr, const Range& within);

// runtime.waitReasonStrings: the table of string headers in initialised
// data whose second entry is "GC assist marking" (waitReasonZero is ""):
// the link-time address and entry count, or nullopt.
struct StringTable { std::uint64_t address = 0, count = 0; };
std::optional<StringTable> find_wait_reasons(const GoImage& img, const ModuleData& md);

}  // namespace threadleak::detail::golang
