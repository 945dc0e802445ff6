// How each OS thread was started, read from glibc's thread descriptor
// (struct pthread) at its thread pointer: the routine pthread_create was
// given, or for libstdc++'s std::thread the callable it runs; the main
// thread and threads glibc did not create are told apart. Internal to the
// analyzer; see docs/threads.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "source/memory.hpp"
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

// Copies of each thread's descriptor fields at glibc 2.36's offsets, taken
// while the thread is unwound: its stack top, next to the descriptor, is
// then in the memory reader's cache (at 10,000 threads, reading them later
// costs a page read each). Reads through the unwinding thread's reader;
// two unwinding threads may add different threads at once.
class DescriptorPeek {
 public:
  explicit DescriptorPeek(const Target& t) : t_(t), per_thread_(t.threads.size()) {}
  void add(std::size_t i, Memory& reader);   // t.threads[i]
  // A reader that answers from the copies, else from `rest` (another
  // layout's offsets, a std::thread's object); borrows `rest`.
  std::unique_ptr<Memory> over(Memory& rest);

 private:
  const Target& t_;
  std::vector<std::vector<CopiedMemory::Copy>> per_thread_;   // [i]: written by whoever adds i
};

}  // namespace threadleak::detail
