// Field offsets of glibc's lock types, read from glibc's own DWARF when its
// debug info is installed (libc6-dbg), else the documented layout of glibc
// 2.36 on x86-64 (docs/hang.md). Internal to the analyzer.
#pragma once

#include <elfutils/libdwfl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "threadleak/snapshot.hpp"

namespace threadleak::detail {

// Offsets from the start of pthread_mutex_t (__data is at offset 0 of the union).
struct MutexLayout {
  std::uint64_t lock = 0, count = 4, owner = 8, kind = 16;
  std::string source = "glibc-2.36-x86_64";
};

// pthread_rwlock_t: waiters sleep on __wrphase_futex or __writers_futex.
struct RwlockLayout {
  std::uint64_t wrphase_futex = 8, writers_futex = 12, cur_writer = 24;
  std::string source = "glibc-2.36-x86_64";
};

// pthread_cond_t: waiters sleep on __g_signals[0] or __g_signals[1].
struct CondLayout {
  std::uint64_t g_signals = 40;
  std::string source = "glibc-2.36-x86_64";
};

// struct pthread, the thread descriptor at a glibc thread's thread pointer
// (fs_base on x86-64): header.self points back at it, tid is its TID,
// start_routine and arg are what pthread_create was given.
struct PthreadLayout {
  static constexpr std::uint64_t kSelf = 16, kTid = 720, kStartRoutine = 1592, kArg = 1600;   // glibc 2.36
  std::uint64_t self = kSelf, tid = kTid, start_routine = kStartRoutine, arg = kArg;
  std::string source = "glibc-2.36-x86_64";
};

// Finds each layout once per capture from the DWARF of a libc function on a
// waiter's stack (the type of its `mutex`, `rwlock` or `cond` parameter);
// keeps the fallback when there is no debug info. Borrows the Dwfl.
class GlibcLayouts {
 public:
  explicit GlibcLayouts(Dwfl* dwfl) : dwfl_(dwfl) {}
  const MutexLayout& mutex(const std::vector<Frame>& frames);
  const RwlockLayout& rwlock(const std::vector<Frame>& frames);
  const CondLayout& cond(const std::vector<Frame>& frames);
  // From the type of start_thread's `pd` (the outermost frames of a
  // pthread's stack).
  const PthreadLayout& pthread(const std::vector<Frame>& frames);

 private:
  // Offsets of `members` inside the struct behind parameter `param` of a
  // frame's function (pointer -> typedef -> union -> __data -> struct).
  std::optional<std::vector<std::uint64_t>> find(const std::vector<Frame>& frames, const char* param,
                                                 const std::vector<const char*>& members);
  Dwfl* dwfl_;
  MutexLayout mutex_;
  RwlockLayout rwlock_;
  CondLayout cond_;
  PthreadLayout pthread_;
  int mutex_tries_ = 0, rwlock_tries_ = 0, cond_tries_ = 0, pthread_tries_ = 0;  // give up after a few threads
};

}  // namespace threadleak::detail
