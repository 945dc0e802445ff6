// Per-thread CPU time of a live process, from /proc (docs/activity.md).
// Internal to the analyzer.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "target.hpp"

namespace threadleak::detail {

// Sets each thread's cpu_ns and t.cpu_from ("schedstat": the kernel's
// sum_exec_runtime in ns, from /proc/PID/task/TID/schedstat; "proc-stat":
// utime + stime clock ticks of .../stat, where the kernel has no schedstat).
// A thread that exited meanwhile has none. Reads only; `proc` is
// "/proc/PID". Meant for after the process is thawed (live_process.cpp says
// why).
void read_thread_cpu(Target& t, const std::string& proc);

// The parsers, for tests: the first field of a schedstat text (ns), and
// utime + stime of a stat text (clock ticks; fields 14 and 15, counted
// after the parenthesized name, which may hold spaces and parentheses).
std::optional<std::uint64_t> schedstat_ns(std::string_view text);
std::optional<std::uint64_t> stat_ticks(std::string_view text);

}  // namespace threadleak::detail
