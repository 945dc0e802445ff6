// The fallback for a mutex waiter caught outside the futex system call
// (entering or leaving glibc's __lll_lock_wait, or stopped there by a
// debugger): the futex word is read from the innermost frame's registers
// where glibc's DWARF (libc6-dbg) says __lll_lock_wait's `futex` parameter
// lives at that very pc. Only a location that is one register is trusted;
// entry values and stack slots are not evaluated. pthread_mutex_lock is not
// used: a thread there may already own the mutex.
#pragma once

#include <elfutils/libdwfl.h>

#include <cstdint>
#include <optional>

#include "target.hpp"

namespace threadleak::detail {

// The futex word a thread whose innermost frame (regs.rip) is in
// __lll_lock_wait waits for; nullopt when the pc is elsewhere, glibc's DWARF
// is absent, or the parameter's location there is not a register.
std::optional<std::uint64_t> futex_from_frame(Dwfl* dwfl, const UserRegs& regs);

}  // namespace threadleak::detail
