// Facts about a live process read from /proc, shared by the sources that
// look at one (live_process: we freeze it; debugger_feed: a debugger did).
#pragma once

#include <ctime>
#include <string>

#include "target.hpp"

namespace threadleak::detail {

// ISO-8601 UTC ("2026-11-27T12:00:00Z").
std::string iso_utc(std::time_t t);

// Sets t.executable (/proc/PID/exe), t.entry (AT_ENTRY from auxv) and
// t.captured_at (now). `proc` is "/proc/PID".
void read_process_facts(Target& t, const std::string& proc);

// Sets each thread's name from /proc/PID/task/TID/comm.
void read_thread_names(Target& t, const std::string& proc);

// Creates t.dwfl with the modules of a /proc/PID/maps text (read earlier,
// e.g. while the process was frozen) reported.
void report_maps_modules(Target& t, const Source& src, std::string maps);

}  // namespace threadleak::detail
