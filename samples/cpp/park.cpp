// Parks threads in four known ways, each in a noinline function of its own:
//   --condvar N   pool_worker:  a worker pool waiting on a condition variable
//   --mutex N     lock_waiter:  N threads blocked on a mutex that lock_holder
//                               holds while it sleeps (lock_holder: 1 thread)
//   --sleep N     sleeper:      sleeping in nanosleep
//   --read N      pipe_reader:  blocked in read() on a pipe that never gets data
//   --spin N      spinner:      a busy loop with no system call (a stable
//                               stack that burns CPU: `diff` calls it spinning)
// Options: --stack-kib K (thread stack size, default 64), --ticker (a 1 ms
// ticker thread that measures the longest pause the process suffers),
// --heap-mib M (a heap of M MiB, reserved and mostly untouched),
// --signals (count the SIGRTMIN signals the process receives: none may be
// lost while a snapshot freezes it).
// Prints "ready THREADS" once every parked thread is blocked in the kernel,
// then obeys stdin lines: "gap" prints "gap MICROSECONDS" (the longest
// ticker gap since the last "gap"), "signals" prints "signals N" (SIGRTMIN
// handled so far, with --signals), "quit" exits, "abort" calls abort() (a
// kernel core, where the limit allows one).
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>

#include "park.hpp"

namespace {

sample::Registry g_parked;
std::mutex g_pool_mu;
std::condition_variable g_pool_cv;
std::mutex g_contended;
int g_pipe[2];
std::atomic<long> g_max_gap_us{0};
std::atomic<int> g_spinning{0};
std::atomic<long> g_signals{0};

void count_signal(int) { g_signals.fetch_add(1, std::memory_order_relaxed); }

#ifdef PARK_SHIFTED
// park_shifted: the same program with this unrelated function compiled in
// front of the parked ones (GCC lays out the functions whose address main
// takes in reverse order of use: this one, used last, comes first), so every
// parked function's offset moves while no function on a parked stack
// changes (fingerprint_test). It never runs.
volatile long g_unrelated_sink;
__attribute__((noinline)) void unrelated_checksum() {
  long h = 7;
  for (const char* s = "an unrelated function"; *s; ++s) h = h * 131 + *s;
  g_unrelated_sink = h ^ (h >> 17);
}
#endif

__attribute__((noinline)) void pool_worker() {
  std::unique_lock lock(g_pool_mu);
  g_parked.add(sample::gettid());
  g_pool_cv.wait(lock, [] { return false; });
}

__attribute__((noinline)) void lock_holder() {
  std::lock_guard lock(g_contended);
  g_parked.add(sample::gettid());
  for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
}

__attribute__((noinline)) void lock_waiter() {
  g_parked.add(sample::gettid());
  std::lock_guard lock(g_contended);
}

__attribute__((noinline)) void sleeper() {
  g_parked.add(sample::gettid());
  for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
}

__attribute__((noinline)) void pipe_reader() {
  g_parked.add(sample::gettid());
  char c;
  while (::read(g_pipe[0], &c, 1) != 0) {
  }
}

__attribute__((noinline)) void spinner() {
  ++g_spinning;
  volatile unsigned long turns = 0;
  for (;;) turns = turns + 1;
}

__attribute__((noinline)) void ticker() {
  using clock = std::chrono::steady_clock;
  auto last = clock::now();
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    auto now = clock::now();
    long gap = std::chrono::duration_cast<std::chrono::microseconds>(now - last).count();
    long prev = g_max_gap_us.load();
    while (gap > prev && !g_max_gap_us.compare_exchange_weak(prev, gap)) {
    }
    last = now;
  }
}

std::size_t g_stack_bytes = 64 * 1024;

void start(void (*fn)()) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, g_stack_bytes);
  pthread_t t;
  auto tramp = [](void* f) -> void* {
    reinterpret_cast<void (*)()>(f)();
    return nullptr;
  };
  if (pthread_create(&t, &attr, tramp, reinterpret_cast<void*>(fn)) != 0) {
    std::perror("pthread_create");
    std::_Exit(1);
  }
  pthread_detach(t);
  pthread_attr_destroy(&attr);
}

__attribute__((noinline)) void wait_for_command() {
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line == "gap") sample::say("gap " + std::to_string(g_max_gap_us.exchange(0)));
    if (line == "signals") sample::say("signals " + std::to_string(g_signals.load()));
    if (line == "quit") return;
    if (line == "abort") std::abort();
  }
  for (;;) pause();
}

}  // namespace

int main(int argc, char** argv) {
  int condvar = 0, mutex = 0, sleep = 0, read = 0, spin = 0;
  long heap_mib = 0;
  bool tick = false;
  for (int i = 1; i < argc; ++i) {
    auto num = [&] { return i + 1 < argc ? std::atol(argv[++i]) : 0; };
    if (!std::strcmp(argv[i], "--condvar")) condvar = static_cast<int>(num());
    else if (!std::strcmp(argv[i], "--mutex")) mutex = static_cast<int>(num());
    else if (!std::strcmp(argv[i], "--sleep")) sleep = static_cast<int>(num());
    else if (!std::strcmp(argv[i], "--read")) read = static_cast<int>(num());
    else if (!std::strcmp(argv[i], "--spin")) spin = static_cast<int>(num());
    else if (!std::strcmp(argv[i], "--stack-kib")) g_stack_bytes = static_cast<std::size_t>(num()) * 1024;
    else if (!std::strcmp(argv[i], "--heap-mib")) heap_mib = num();
    else if (!std::strcmp(argv[i], "--ticker")) tick = true;
    else if (!std::strcmp(argv[i], "--signals")) {
      struct sigaction sa {};
      sa.sa_handler = count_signal;
      sa.sa_flags = SA_RESTART;
      ::sigaction(SIGRTMIN, &sa, nullptr);
    }
  }
  if (::pipe(g_pipe) != 0) return 1;
  if (heap_mib > 0) {
    // Reserved and mostly untouched; one byte per MiB is written so the
    // pages are really part of the process (and of its core).
    auto* heap = static_cast<char*>(::mmap(nullptr, static_cast<std::size_t>(heap_mib) << 20,
                                           PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (heap == MAP_FAILED) return 1;
    for (long m = 0; m < heap_mib; ++m) heap[m << 20] = 1;
  }
  if (mutex > 0) {
    start(lock_holder);
    g_parked.wait_blocked(1);
  }
  for (int i = 0; i < condvar; ++i) start(pool_worker);
  for (int i = 0; i < mutex; ++i) start(lock_waiter);
  for (int i = 0; i < sleep; ++i) start(sleeper);
  for (int i = 0; i < read; ++i) start(pipe_reader);
  g_parked.wait_blocked(static_cast<std::size_t>(condvar + mutex + (mutex > 0) + sleep + read));
  for (int i = 0; i < spin; ++i) start(spinner);
  while (g_spinning < spin) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (tick) start(ticker);
  std::this_thread::sleep_for(std::chrono::milliseconds(tick ? 20 : 0));
#ifdef PARK_SHIFTED
  if (argc > 1000) start(unrelated_checksum);
#endif
  g_max_gap_us = 0;
  sample::say("ready " + std::to_string(condvar + mutex + (mutex > 0) + sleep + read + spin + tick + 1));
  wait_for_command();
  std::_Exit(0);
}
