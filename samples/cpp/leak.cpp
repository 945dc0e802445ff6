// The goleak story in C++, as a service. execute() (request.hpp) asks for
// two resources with a 1 ms timeout, each fetched by a thread of its own.
// get_resource_b ignores cancellation and sleeps for an hour, so every call
// that times out leaves one thread behind: a leak of one thread per request.
// With --fixed, get_resource_b waits on the cancellation instead.
//
//   leak [--fixed] [--requests N]
// Serves N requests (default 5), prints "ready THREADS", then on each stdin
// line "more K" serves K more and prints "ready THREADS" again.
// "pool K" resizes a worker pool (pool_worker, parked on a condition
// variable; none at the start) to K threads, growing or shrinking it, and
// prints "ready THREADS": a pool that breathes, next to the leak.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <sstream>

#include "park.hpp"
#include "request.hpp"

namespace {

bool g_fixed = false;
sample::Registry g_sleepers;

void register_sleeper() { g_sleepers.add(sample::gettid()); }

int live_threads() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  return -1;
}

std::size_t g_served = 0;

// The breathing pool: worker i runs while i < g_pool_size.
std::mutex g_pool_mu;
std::condition_variable g_pool_cv;
int g_pool_size = 0;
std::vector<int> g_pool_tids;  // of the running workers, by index

__attribute__((noinline)) void pool_worker(int index) {
  std::unique_lock lock(g_pool_mu);
  g_pool_tids[static_cast<std::size_t>(index)] = sample::gettid();
  g_pool_cv.notify_all();
  g_pool_cv.wait(lock, [&] { return index >= g_pool_size; });
}

int pool_threads() {
  std::lock_guard lock(g_pool_mu);
  return g_pool_size;
}

bool pool_all_blocked() {
  std::lock_guard lock(g_pool_mu);
  for (int i = 0; i < g_pool_size; ++i) {
    int tid = g_pool_tids[static_cast<std::size_t>(i)];
    if (tid == 0 || (sample::thread_state(tid) != 'S' && sample::thread_state(tid) != 'D')) return false;
  }
  return true;
}

void serve(int n) {
  for (int i = 0; i < n; ++i) execute(std::chrono::milliseconds(1), g_fixed, register_sleeper);
  g_served += static_cast<std::size_t>(n);
  if (!g_fixed) g_sleepers.wait_blocked(g_served);
  else std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let cancelled threads exit
  // Wait until the short-lived threads are gone, so the count is exact.
  int expected = 1 + (g_fixed ? 0 : static_cast<int>(g_served)) + pool_threads();
  for (int i = 0; i < 2000 && live_threads() != expected; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  sample::say("ready " + std::to_string(live_threads()));
}

void resize_pool(int n) {
  {
    std::lock_guard lock(g_pool_mu);
    int old = g_pool_size;
    g_pool_size = n;
    g_pool_tids.resize(static_cast<std::size_t>(std::max(n, old)), 0);
    for (int i = old; i < n; ++i) std::thread(pool_worker, i).detach();
    for (int i = n; i < old; ++i) g_pool_tids[static_cast<std::size_t>(i)] = 0;
    g_pool_cv.notify_all();
  }
  while (!pool_all_blocked()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  serve(0);  // waits for the exact thread count and says "ready"
}

__attribute__((noinline)) void wait_for_command() {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd;
    int n = 0;
    in >> cmd >> n;
    if (cmd == "more") serve(n);
    if (cmd == "pool") resize_pool(n);
    if (cmd == "quit") return;
  }
  for (;;) pause();  // stdin closed: stay parked for inspection
}

}  // namespace

int main(int argc, char** argv) {
  int requests = 5;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--fixed")) g_fixed = true;
    if (!std::strcmp(argv[i], "--requests") && i + 1 < argc) requests = std::atoi(argv[++i]);
  }
  serve(requests);
  wait_for_command();
  std::_Exit(0);
}
