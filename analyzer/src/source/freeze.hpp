// Freezing a live process: every thread stopped at one moment, its
// registers and the used part of its stack copied, then every thread
// resumed. Internal to source/live_process.cpp.
//
//   Freeze f(pid, mem_fd, parse_maps(maps_text), 2);  // seizes: threads keep running
//   f.stop_and_copy();        // the pause starts; returns when all are stopped and copied
//   ... read more while frozen (lock words, goroutines) ...
//   f.thaw();                 // every thread resumes (the destructor does it too)
//   use f.threads, f.stacks, f.times()
//
// How: tracer threads (one, or two from 256 threads: ptrace ties a tracee to
// the thread that seized it, and two cores stop two halves at once) seize
// their share with PTRACE_SEIZE before the pause starts (a seized thread
// runs on). stop_and_copy() has each interrupt its share (PTRACE_INTERRUPT,
// highest TID first) and then read each thread's registers (one
// PTRACE_GETREGS; a waitpid only for a thread not stopped yet) and stack
// (process_vm_readv in batches). /proc/PID/status's thread count then
// tells whether a thread was created meanwhile (only then is the task list
// read again). thaw() lets the tracer threads end: the kernel detaches every
// tracee of an exiting tracer in one pass (exit_ptrace), resuming each
// where it stopped and delivering any signal that stopped it, in the
// reverse order of seizing, i.e. the order of the interrupts. The same pass
// resumes everything if threadleak is killed at any point. See
// docs/performance.md ("Design of the live path").
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "source/memory.hpp"
#include "target.hpp"

namespace threadleak::detail {

struct Mapping { std::uint64_t start, end; };

// The address ranges of /proc/PID/maps text, in its order (ascending).
std::vector<Mapping> parse_maps(const std::string& text);

// Where the time of one freeze went, in ms.
struct FreezeTimes {
  double seize_ms = 0;     // before the pause: seizing (the threads run on)
  double stop_ms = 0;      // first interrupt -> every listed thread stopped and copied
  double recheck_ms = 0;   // -> the thread count checked (and new threads stopped)
  double held_ms = 0;      // first interrupt -> thaw() called
  double resume_ms = 0;    // thaw() called -> the tracer threads gone, i.e. every thread resumed
  // first interrupt -> every thread resumed: no thread was held longer.
  double window_ms() const { return held_ms + resume_ms; }
  int relists = 0;         // task-list re-reads (threads created during the freeze)
  std::vector<std::string> tracers;   // each tracer's share of stop_ms, for the log
};

class Tracer;

class Freeze {
 public:
  // Seizes every thread of pid; none is stopped yet. Throws Error (nothing
  // stopped, every seized thread released) when a thread cannot be traced.
  // `tracers`: 1, or 2 to use two tracer threads from kTwoTracersFrom threads.
  Freeze(int pid, int mem_fd, const std::vector<Mapping>& maps, unsigned tracers);
  ~Freeze();
  Freeze(const Freeze&) = delete;
  Freeze& operator=(const Freeze&) = delete;

  // Stops every thread (also those created meanwhile) and copies registers
  // and stacks into `threads` (sorted by TID) and `stacks`. Throws Error
  // target_vanished when no thread could be stopped.
  void stop_and_copy();
  // Resumes every thread and waits until all have resumed. Idempotent.
  void thaw();

  const FreezeTimes& times() const { return times_; }

  std::vector<RawThread> threads;
  std::vector<CopiedMemory::Copy> stacks;

 private:
  void stop_new_threads(std::size_t held);

  int pid_;
  std::vector<std::unique_ptr<Tracer>> tracers_;
  std::vector<int> seen_;   // sorted: every TID handed to a tracer
  FreezeTimes times_;
  std::chrono::steady_clock::time_point first_interrupt_;
  bool stopped_ = false, thawed_ = false;
};

}  // namespace threadleak::detail
