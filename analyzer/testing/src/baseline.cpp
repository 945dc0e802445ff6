// Baselines: which threads existed at a point in time, told apart by TID and
// kernel start time, read from /proc/self/task.
#include <dirent.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

#include "internal.hpp"

namespace threadleak {
namespace testing_detail {
namespace {

std::string read_line(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  return line;
}

// Parses /proc/self/task/TID/stat; false when the thread is gone.
bool read_stat(int tid, Task& t) {
  std::string base = "/proc/self/task/" + std::to_string(tid);
  std::string stat = read_line(base + "/stat");
  std::size_t close = stat.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream rest(stat.substr(close + 2));  // fields from 3 on
  std::vector<std::string> f{std::istream_iterator<std::string>(rest), {}};
  if (f.size() < 20) return false;
  t.tid = tid;
  t.kernel_state = f[0].empty() ? '?' : f[0][0];
  t.start_time = std::strtoull(f[19].c_str(), nullptr, 10);  // field 22
  t.name = read_line(base + "/comm");
  return true;
}

}  // namespace

std::vector<Task> list_tasks() {
  std::vector<Task> out;
  DIR* d = ::opendir("/proc/self/task");
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    Task t;
    if (read_stat(std::atoi(e->d_name), t)) out.push_back(std::move(t));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const Task& a, const Task& b) { return a.tid < b.tid; });
  return out;
}

int self_tid() { return static_cast<int>(::syscall(SYS_gettid)); }

}  // namespace testing_detail

Baseline Baseline::now() {
  Baseline b;
  for (const auto& t : testing_detail::list_tasks()) b.ids_.emplace_back(t.tid, t.start_time);
  return b;  // list_tasks is sorted by TID, so ids_ is sorted
}

const Baseline& Baseline::at_start() {
  static const Baseline b = now();
  return b;
}

bool Baseline::contains(int tid, unsigned long long start_time) const {
  return std::binary_search(ids_.begin(), ids_.end(), std::make_pair(tid, start_time));
}

namespace {
// Records the start baseline before main, while the program has one thread
// (or the threads its libraries started at load, which are not the tests').
[[gnu::constructor]] void record_start_baseline() { Baseline::at_start(); }
}  // namespace

}  // namespace threadleak
