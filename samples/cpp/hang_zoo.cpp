// A zoo of hangs, one scenario per run (argv[1]), each thread parked in a
// noinline function of its own name:
//   abba    two threads take mutexes a, b in opposite orders: a 2-cycle
//   cycle3  three threads, a->b, b->c, c->a: a 3-cycle
//   convoy  holder takes m and sleeps; 50 threads wait for m. One of them
//           (middle) holds m2, for which 5 more wait: holder blocks 55
//   orphan  owner takes m and exits without unlocking; 2 threads wait for m
//   self    a thread locks a normal pthread mutex it already holds
//   crash   holder takes m and reads a pipe; 3 threads wait for m; the line
//           "crash" on stdin makes holder dereference a null pointer (SIGSEGV,
//           a kernel core named "core" in --dir DIR, core limit raised here)
// Prints "tid NAME TID" and "lock NAME 0xADDRESS" lines, then "ready THREADS"
// once every parked thread is blocked; then obeys stdin: "crash", "quit".
#include <malloc.h>
#include <pthread.h>
#include <sys/resource.h>

#include <barrier>
#include <cstring>
#include <functional>
#include <map>
#include <memory>

#include "park.hpp"

namespace {

sample::Registry g_parked;
std::mutex g_say_mu;
std::mutex g_a, g_b, g_c, g_m, g_m2;
pthread_mutex_t g_self = PTHREAD_MUTEX_INITIALIZER;
int g_pipe[2];

void tell(const std::string& what, const std::string& name, const std::string& value) {
  std::lock_guard lock(g_say_mu);
  sample::say(what + " " + name + " " + value);
}

void park(const std::string& name) {
  tell("tid", name, std::to_string(sample::gettid()));
  g_parked.add(sample::gettid());
}

std::string hex(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%#lx", reinterpret_cast<unsigned long>(p));
  return buf;
}

__attribute__((noinline)) void lock_in_order(const std::string& name, std::mutex& first, std::mutex& second,
                                             std::barrier<>& all_hold) {
  std::lock_guard one(first);
  park(name);
  all_hold.arrive_and_wait();
  std::lock_guard two(second);
}

__attribute__((noinline)) void holder(std::mutex& m) {
  std::lock_guard lock(m);
  park("holder");
  for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
}

__attribute__((noinline)) void waiter(std::mutex& m) {
  g_parked.add(sample::gettid());
  std::lock_guard lock(m);
}

__attribute__((noinline)) void middle(std::mutex& held, std::mutex& wanted) {
  std::lock_guard lock(held);
  park("middle");
  std::lock_guard lock2(wanted);
}

__attribute__((noinline)) void exits_holding(std::mutex& m) {
  m.lock();
  tell("tid", "owner", std::to_string(sample::gettid()));
}  // returns without unlocking: the thread exits holding m

__attribute__((noinline)) void relocks_itself() {
  pthread_mutex_lock(&g_self);
  park("self");
  pthread_mutex_lock(&g_self);
}

__attribute__((noinline)) void crash_holder(std::mutex& m) {
  std::lock_guard lock(m);
  park("holder");
  char c = 0;
  if (::read(g_pipe[0], &c, 1) == 1) {
    volatile int* null = nullptr;
    *null = 1;  // SIGSEGV while holding m
  }
}

// Threads get small stacks (like park's) so cores of the 57-thread convoy stay small.
pthread_t spawn(std::function<void()> fn) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  auto* heap_fn = new std::function<void()>(std::move(fn));
  auto tramp = [](void* f) -> void* {
    std::unique_ptr<std::function<void()>> fn(static_cast<std::function<void()>*>(f));
    (*fn)();
    return nullptr;
  };
  pthread_t t;
  if (pthread_create(&t, &attr, tramp, heap_fn) != 0) {
    std::perror("pthread_create");
    std::_Exit(1);
  }
  pthread_attr_destroy(&attr);
  return t;
}

int abba() {
  static std::barrier<> both(2);
  spawn([] { lock_in_order("A", g_a, g_b, both); });
  spawn([] { lock_in_order("B", g_b, g_a, both); });
  return 2;
}

int cycle3() {
  static std::barrier<> all(3);
  spawn([] { lock_in_order("T1", g_a, g_b, all); });
  spawn([] { lock_in_order("T2", g_b, g_c, all); });
  spawn([] { lock_in_order("T3", g_c, g_a, all); });
  return 3;
}

int convoy() {
  spawn([] { holder(g_m); });
  g_parked.wait_blocked(1);
  spawn([] { middle(g_m2, g_m); });
  g_parked.wait_blocked(2);
  for (int i = 0; i < 49; ++i) spawn([] { waiter(g_m); });
  for (int i = 0; i < 5; ++i) spawn([] { waiter(g_m2); });
  return 2 + 49 + 5;
}

int orphan() {
  pthread_join(spawn([] { exits_holding(g_m); }), nullptr);
  for (int i = 0; i < 2; ++i) spawn([] { waiter(g_m); });
  return 2;
}

int self() {
  spawn([] { relocks_itself(); });
  return 1;
}

int crash() {
  spawn([] { crash_holder(g_m); });
  g_parked.wait_blocked(1);
  for (int i = 0; i < 3; ++i) spawn([] { waiter(g_m); });
  return 4;
}

__attribute__((noinline)) void wait_for_command() {
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line == "crash") (void)!::write(g_pipe[1], "x", 1);
    if (line == "quit") return;
  }
  for (;;) pause();
}

}  // namespace

int main(int argc, char** argv) {
  const std::map<std::string, int (*)()> scenarios = {
      {"abba", abba}, {"convoy", convoy}, {"crash", crash}, {"cycle3", cycle3}, {"orphan", orphan}, {"self", self}};
  auto it = argc > 1 ? scenarios.find(argv[1]) : scenarios.end();
  if (it == scenarios.end()) {
    std::fprintf(stderr, "usage: hang_zoo abba|convoy|crash|cycle3|orphan|self [--dir DIR]\n");
    return 2;
  }
  mallopt(M_ARENA_MAX, 1);  // no per-thread arenas: 64 MiB each in gcore's cores
  if (argc > 3 && !std::strcmp(argv[2], "--dir") && ::chdir(argv[3]) != 0) return 2;
  rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
  ::setrlimit(RLIMIT_CORE, &unlimited);
  if (::pipe(g_pipe) != 0) return 1;
  for (auto [name, m] : std::initializer_list<std::pair<const char*, const void*>>{
           {"a", &g_a}, {"b", &g_b}, {"c", &g_c}, {"m", &g_m}, {"m2", &g_m2}, {"self", &g_self}})
    tell("lock", name, hex(m));
  int parked = it->second();
  g_parked.wait_blocked(static_cast<std::size_t>(parked));
  sample::say("ready " + std::to_string(parked + 1));
  wait_for_command();
  std::_Exit(0);
}
