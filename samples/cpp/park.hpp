// Shared by the C++ samples: each sample parks threads in noinline functions
// of known names, waits until the kernel reports every one of them blocked,
// prints "ready ..." on stdout, and then takes commands from stdin.
#pragma once

#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sample {

inline int gettid() { return static_cast<int>(::syscall(SYS_gettid)); }

// The kernel's view of a thread: 'S' sleeping (blocked), 'R' running, ...
inline char thread_state(int tid) {
  std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string line;
  std::getline(f, line);
  auto close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() ? '?' : line[close + 2];
}

// Records TIDs of threads that will block, so the sample can wait for them.
class Registry {
 public:
  void add(int tid) {
    std::lock_guard lock(mu_);
    tids_.push_back(tid);
  }
  // Waits until `n` threads registered and all of them are blocked in the kernel.
  void wait_blocked(std::size_t n) {
    for (;;) {
      {
        std::lock_guard lock(mu_);
        if (tids_.size() >= n) {
          bool all = true;
          for (int t : tids_) all = all && (thread_state(t) == 'S' || thread_state(t) == 'D');
          if (all) return;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

 private:
  std::mutex mu_;
  std::vector<int> tids_;
};

inline void say(const std::string& line) {
  std::cout << line << std::endl;
}

}  // namespace sample
