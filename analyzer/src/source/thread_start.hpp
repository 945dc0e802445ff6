// How each OS thread was started, read from glibc's thread descriptor
// (struct pthread) at its thread pointer: the routine pthread_create was
// given, or for libstdc++'s std::thread the callable it runs; the main
// thread and threads glibc did not create are told apart. Internal to the
// analyzer; see docs/threads.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "target.hpp"

namespace threadleak::detail {

struct ThreadStart {
  std::string kind;      // Thread::start_kind: "main", "pthread", "std::thread", "not-pthread", "" unknown
  std::uint64_t pc = 0;  // the function Thread::created_by names (its entry address); 0: none
};

// One per t.threads[i]; snap.threads[i] is that thread with its symbolized
// frames (start_thread's DWARF gives glibc's layout). Reads `mem` only:
// for a live process, its memory after the thaw (what pthread_create
// stored never changes while the thread lives). Uses t.dwfl for symbols.
std::vector<ThreadStart> read_thread_starts(const Target& t, Memory& mem, const Snapshot& snap);

}  // namespace threadleak::detail
