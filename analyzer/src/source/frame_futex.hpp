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
#include <unordered_map>

#include "target.hpp"

namespace threadleak::detail {

// Reads, for threads whose innermost frame (regs.rip) is in __lll_lock_wait,
// the futex word they wait for. The DWARF is asked once per distinct pc
// (thousands of sleepers share a handful).
class FutexFrameReader {
 public:
  explicit FutexFrameReader(Dwfl* dwfl) : dwfl_(dwfl) {}
  // nullopt when the pc is elsewhere, glibc's DWARF is absent, or the
  // parameter's location there is not a register.
  std::optional<std::uint64_t> read(const UserRegs& regs);

 private:
  std::optional<int> register_at(std::uint64_t pc);
  Dwfl* dwfl_;
  std::unordered_map<std::uint64_t, std::optional<int>> reg_at_;
};

}  // namespace threadleak::detail
