// Internals of the testing library: the threads of this process as /proc
// lists them, and a snapshot of this process taken by a helper process.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "threadleak/testing.hpp"

namespace threadleak::testing_detail {

// Everything the public options set.
struct Options {
  std::vector<std::string> ignore_top;           // IgnoreTopFunction
  std::vector<std::string> ignore_any;           // IgnoreAnyFunction
  std::vector<std::string> ignore_groups;        // IgnoreGroup
  std::vector<std::string> ignore_created_by;    // IgnoreCreatedBy
  std::shared_ptr<const Baseline> baseline;      // IgnoreCurrent; null = at_start()
  std::shared_ptr<const Expectations> expect;    // Expect: more ignore rules, and known groups
  std::chrono::nanoseconds max_retry_time = std::chrono::seconds(1);
  std::chrono::seconds capture_timeout = std::chrono::seconds(30);  // CaptureTimeout
};
Options options_of(const std::vector<Option>& opts);

// Find's work; a class so that it may fill Leaks.
class Finder {
 public:
  static Leaks find(const Options& opts);
};

// One thread of this process as /proc/self/task shows it.
struct Task {
  int tid = 0;
  unsigned long long start_time = 0;  // field 22 of stat: clock ticks since boot
  char kernel_state = '?';            // field 3 of stat: R, S, D, ...
  std::string name;                   // comm
};

// The threads of this process, sorted by TID. Threads that exit while being
// listed are left out.
std::vector<Task> list_tasks();

// The caller's TID.
int self_tid();

// A snapshot of this process taken by the helper (the threadleak CLI).
// Throws threadleak::Error naming the helper and what went wrong.
Snapshot capture_self(std::chrono::seconds timeout);

// The helper's path, or "" when none is found.
std::string find_cli();

// A snapshot of `tasks` from /proc only (no stacks), for when the helper
// cannot run; `why` becomes the first warning.
Snapshot proc_only_snapshot(const std::vector<Task>& tasks, const std::string& why);

}  // namespace threadleak::testing_detail
