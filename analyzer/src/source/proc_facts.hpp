// Facts about a live process read from /proc, shared by the sources that
// look at one (live_process: we freeze it; debugger_feed: a debugger did).
#pragma once

#include <ctime>
#include <string>

#include "target.hpp"

namespace threadleak::detail {

// ISO-8601 UTC ("2026-11-27T12:00:00Z").
std::string iso_utc(std::time_t t);
// The same with microseconds ("2026-11-27T12:00:00.123456Z").
std::string iso_utc(const timespec& t);
// The real-time clock now, as iso_utc(timespec) writes it.
std::string now_utc();

// Sets t.executable (/proc/PID/exe), t.entry (AT_ENTRY from auxv) and
// t.captured_at (now, captured_at_from "clock"). `proc` is "/proc/PID".
void read_process_facts(Target& t, const std::string& proc);

// Sets each thread's name from /proc/PID/task/TID/comm.
void read_thread_names(Target& t, const std::string& proc);

// Creates t.dwfl with the modules of a /proc/PID/maps text (read earlier,
// e.g. while the process was frozen) reported: the ELF files mapped at
// offset 0, each with the build-id its image in `mem` (the process's memory)
// records, so that only the file the process runs is taken. Files are
// looked for under --sysroot, then in the process's own view (/proc/PID/root,
// /proc/PID/map_files: a container's files), then as for cores (dwfl_setup.cpp).
// Needs t.pid and t.entry (read_process_facts).
void report_maps_modules(Target& t, const Source& src, const std::string& maps, Memory& mem);

}  // namespace threadleak::detail
