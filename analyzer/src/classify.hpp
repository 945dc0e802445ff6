// Classification: what each thread is blocked on, from its system call
// number (x86-64 orig_rax; negative when not in a system call) and the
// function names of its top frames.
#pragma once

#include <optional>

#include "threadleak/snapshot.hpp"

namespace threadleak::detail {

// Sets t.state and t.syscall_name. `syscall_nr` is nullopt when the thread's
// registers are unknown; `crashed` marks the thread that took a fatal signal.
void classify(Thread& t, std::optional<long> syscall_nr, bool crashed);

}  // namespace threadleak::detail
