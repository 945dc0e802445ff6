// A pool whose two kinds of workers share one stack but differ in start
// routine, for "created by" (docs/threads.md). Threads, by how they were
// started:
//   3 x pthread_create(pool::io_worker_main)   \  both tail-call pool::pool_loop
//   2 x pthread_create(pool::cpu_worker_main)  /  and wait on one condvar
//   1 x std::thread(pool::stats_loop, 7)          a function pointer
//   1 x std::thread([] { ... })                   a lambda
//   1 x clone() without a thread descriptor of its own (it keeps main's
//       thread pointer), sleeping in pause()
//   the main thread, in read(0) waiting for commands.
// Prints "ready THREADS" once every thread is blocked. On stdin: "io N"
// starts N more io workers (then "ready THREADS" again), "quit" exits.
#include <sched.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <string>
#include <thread>

#include "park.hpp"

namespace pool {

sample::Registry g_blocked;
pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
int g_started[2];

// Shared by both kinds. noipa: neither inlined into the start routines nor
// cloned per kind, so an optimized build shows one stack for both.
__attribute__((noipa)) void* pool_loop(void* arg, int kind) {
  g_blocked.add(sample::gettid());
  pthread_mutex_lock(&g_mu);
  ++g_started[kind];
  for (;;) pthread_cond_wait(&g_cv, &g_mu);
  return arg;
}

// Two start routines that differ only in the kind they pass (so that the
// compiler cannot fold them into one function).
__attribute__((noinline)) void* io_worker_main(void* arg) { return pool_loop(arg, 0); }
__attribute__((noinline)) void* cpu_worker_main(void* arg) { return pool_loop(arg, 1); }

__attribute__((noinline)) void stats_loop(int period_s) {
  g_blocked.add(sample::gettid());
  for (;;) std::this_thread::sleep_for(std::chrono::seconds(period_s));
}

std::mutex g_lambda_mu;
std::condition_variable g_lambda_cv;

// The clone()d thread: no glibc descriptor of its own, so it calls nothing
// that touches thread-local state (raw system calls only).
int cloned_main(void*) {
  for (;;) ::syscall(SYS_pause);
  return 0;
}

int start_cloned() {
  constexpr std::size_t kStack = 64 * 1024;
  char* stack = static_cast<char*>(std::malloc(kStack));
  int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
  return ::clone(cloned_main, stack + kStack, flags, nullptr);
}

void start_all() {
  pthread_t t;
  for (int i = 0; i < 3; ++i) pthread_create(&t, nullptr, io_worker_main, nullptr);
  for (int i = 0; i < 2; ++i) pthread_create(&t, nullptr, cpu_worker_main, nullptr);
  std::thread(stats_loop, 7).detach();
  std::thread([] {
    g_blocked.add(sample::gettid());
    std::unique_lock lock(g_lambda_mu);
    for (;;) g_lambda_cv.wait(lock);
  }).detach();
  int cloned = start_cloned();
  if (cloned > 0) g_blocked.add(cloned);
}

}  // namespace pool

int main() {
  pool::start_all();
  std::size_t threads = 9;
  pool::g_blocked.wait_blocked(threads - 1);
  sample::say("ready " + std::to_string(threads));
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line == "quit") std::_Exit(0);
    if (line.rfind("io ", 0) == 0) {
      int n = std::atoi(line.c_str() + 3);
      pthread_t t;
      for (int i = 0; i < n; ++i) pthread_create(&t, nullptr, pool::io_worker_main, nullptr);
      threads += static_cast<std::size_t>(n);
      pool::g_blocked.wait_blocked(threads - 1);
      sample::say("ready " + std::to_string(threads));
    }
  }
  for (;;) pause();
}
