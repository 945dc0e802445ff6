// x86-64 system call numbers to names (generated from <asm/unistd_64.h>).
#pragma once
#include <string>

namespace threadleak::detail {
// "futex" for 202; "syscall_N" for numbers the table does not know.
std::string syscall_name(long nr);
}  // namespace threadleak::detail
