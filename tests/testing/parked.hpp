// Threads parked in noinline functions of known names, blocked in read() on
// a pipe until released. The tests' way to leak a thread on purpose.
#pragma once

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "../../samples/cpp/park.hpp"   // sample::gettid, sample::thread_state

namespace tl_testing {

// Blocks in read() until a byte or EOF; the code after the call keeps it
// from being a tail call, so `caller` stays on the stack.
[[gnu::always_inline]] inline void block_on(int fd) {
  char c;
  while (::read(fd, &c, 1) < 0) {}
  asm volatile("" ::: "memory");
}

// A thread running `body(fd)` until release(); joined by the destructor.
class Parked {
 public:
  using Body = void (*)(int fd);
  explicit Parked(Body body, const char* name = "tl-parked") {
    if (::pipe(fds_) != 0) throw std::runtime_error("pipe");
    thread_ = std::thread([this, body, name] {
      ::pthread_setname_np(::pthread_self(), name);
      tid_ = sample::gettid();
      body(fds_[0]);
    });
    while (tid_ == 0) std::this_thread::sleep_for(std::chrono::microseconds(100));
    for (int i = 0; i < 5000 && sample::thread_state(tid_) != 'S'; ++i)
      std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  ~Parked() {
    release();
    ::close(fds_[0]);
  }
  Parked(const Parked&) = delete;
  Parked& operator=(const Parked&) = delete;
  int tid() const { return tid_; }
  void release() {
    if (fds_[1] < 0) return;
    ::close(fds_[1]);  // EOF ends the read
    fds_[1] = -1;
    thread_.join();
  }

 private:
  int fds_[2] = {-1, -1};
  std::atomic<int> tid_{0};
  std::thread thread_;
};

// The parking places, each a noinline function of its own.
__attribute__((noinline)) inline void tl_leaked_reader(int fd) { block_on(fd); }
__attribute__((noinline)) inline void tl_ignored_top(int fd) { block_on(fd); }
__attribute__((noinline)) inline void tl_inner(int fd) { block_on(fd); }
__attribute__((noinline)) inline void tl_outer(int fd) {
  tl_inner(fd);
  asm volatile("" ::: "memory");
}
// Blocks every signal first: a signal-based capture could never reach it.
__attribute__((noinline)) inline void tl_sigblocked_reader(int fd) {
  sigset_t all;
  sigfillset(&all);
  ::pthread_sigmask(SIG_BLOCK, &all, nullptr);
  block_on(fd);
}

}  // namespace tl_testing
