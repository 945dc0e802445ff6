// The futex a blocked thread sleeps on is the first argument of its futex
// system call (rdi on x86-64, preserved while the call is interrupted by a
// stop). From the futex word to the object: for a mutex it is __lock (the
// mutex itself); for rwlocks and condvars the word is one of two fields,
// and the object's 8-byte alignment tells which. A mutex waiter outside the
// futex call falls back to its innermost frame (frame_futex.hpp).
#include "source/wait_targets.hpp"

#include <fmt/format.h>

#include "source/frame_futex.hpp"
#include "source/glibc_layout.hpp"

namespace threadleak::detail {
namespace {

constexpr std::uint64_t kFutexSyscall = 202;
// glibc's robust-mutex markers in __owner: not a TID.
constexpr int kOwnerNotRecoverable = 0x7ffffffe;

std::optional<std::int32_t> read_i32(Memory& mem, std::uint64_t addr) {
  std::int32_t v = 0;
  if (mem.read(addr, &v, sizeof v) != sizeof v) return std::nullopt;
  return v;
}

std::optional<int> owner_at(Memory& mem, std::uint64_t addr) {
  auto v = read_i32(mem, addr);
  if (!v || *v <= 0 || *v >= kOwnerNotRecoverable) return std::nullopt;
  return *v;
}

// Of two candidate fields 4 bytes apart, the one that puts the object on an
// 8-byte boundary (pthread_rwlock_t and pthread_cond_t are 8-aligned).
std::uint64_t aligned_base(std::uint64_t futex, std::uint64_t first, std::uint64_t second) {
  return (futex - first) % 8 == 0 ? futex - first : futex - second;
}

WaitTarget mutex_target(std::uint64_t futex, Memory& mem, const MutexLayout& l) {
  WaitTarget w{"mutex", futex - l.lock, futex, std::nullopt, std::nullopt, l.source};
  w.owner = owner_at(mem, w.address + l.owner);
  if (auto k = read_i32(mem, w.address + l.kind)) w.mutex_kind = *k;
  return w;
}

WaitTarget rwlock_target(std::uint64_t futex, Memory& mem, const RwlockLayout& l) {
  std::uint64_t base = aligned_base(futex, l.wrphase_futex, l.writers_futex);
  WaitTarget w{"rwlock", base, futex, std::nullopt, std::nullopt, l.source};
  w.owner = owner_at(mem, base + l.cur_writer);
  return w;
}

WaitTarget cond_target(std::uint64_t futex, const CondLayout& l) {
  return {"condvar", aligned_base(futex, l.g_signals, l.g_signals + 4), futex, std::nullopt, std::nullopt,
          l.source};
}

}  // namespace

void find_wait_targets(Target& t, Snapshot& snap) {
  if (!t.memory) return;
  GlibcLayouts layouts(t.dwfl.get());
  FutexFrameReader frame_futex(t.dwfl.get());
  for (std::size_t i = 0; i < t.threads.size() && i < snap.threads.size(); ++i) {
    const RawThread& raw = t.threads[i];
    Thread& th = snap.threads[i];
    if (!raw.regs) continue;
    if (raw.regs->orig_rax != kFutexSyscall) {
      // Outside the futex call, whatever it was classified as (running
      // between its attempts, or stopped at a debugger's breakpoint, which a
      // core records as the thread's signal): __lll_lock_wait's registers.
      if (auto futex = frame_futex.read(*raw.regs))
        th.waiting_on = mutex_target(*futex, *t.memory, layouts.mutex(th.frames));
      continue;
    }
    std::uint64_t futex = raw.regs->rdi;
    if (th.state == State::mutex) th.waiting_on = mutex_target(futex, *t.memory, layouts.mutex(th.frames));
    else if (th.state == State::rwlock) th.waiting_on = rwlock_target(futex, *t.memory, layouts.rwlock(th.frames));
    else if (th.state == State::condvar) th.waiting_on = cond_target(futex, layouts.cond(th.frames));
  }
}

}  // namespace threadleak::detail
