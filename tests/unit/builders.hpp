// Hand-built snapshots for unit tests.
#pragma once

#include "threadleak/threadleak.hpp"

namespace tl_unit {

inline threadleak::Frame frame(const std::string& fn, std::uint64_t rel_pc, bool own = false,
                               const std::string& module = "app") {
  threadleak::Frame f;
  f.function = fn;
  f.rel_pc = rel_pc;
  f.pc = 0x555500000000 + rel_pc;
  f.module = module;
  f.own_code = own;
  return f;
}

inline threadleak::Thread thread(int tid, threadleak::State st, std::vector<threadleak::Frame> frames) {
  threadleak::Thread t;
  t.tid = tid;
  t.state = st;
  t.frames = std::move(frames);
  return t;
}

inline std::vector<threadleak::Frame> sleeper_stack() {
  return {frame("clock_nanosleep", 0x100, false, "libc.so.6"), frame("worker_sleep", 0x20, true),
          frame("start_thread", 0x300, false, "libc.so.6")};
}

inline std::vector<threadleak::Frame> pool_stack() {
  return {frame("pthread_cond_wait", 0x200, false, "libc.so.6"), frame("pool_loop", 0x40, true),
          frame("start_thread", 0x300, false, "libc.so.6")};
}

// pid 42 with `sleepers` sleeping threads (TIDs from first_tid) and 2 pool threads.
inline threadleak::Snapshot snapshot(int pid, int sleepers, int first_tid) {
  threadleak::Snapshot s;
  s.pid = pid;
  s.executable = "/srv/app";
  s.threads.push_back(thread(pid, threadleak::State::poll, {frame("epoll_wait", 0x10, false, "libc.so.6"),
                                                           frame("main", 0x10, true)}));
  s.threads.push_back(thread(pid + 1, threadleak::State::condvar, pool_stack()));
  s.threads.push_back(thread(pid + 2, threadleak::State::condvar, pool_stack()));
  for (int i = 0; i < sleepers; ++i)
    s.threads.push_back(thread(first_tid + i, threadleak::State::sleep, sleeper_stack()));
  return s;
}

}  // namespace tl_unit
