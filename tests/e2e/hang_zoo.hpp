// Runs one scenario of samples/cpp/hang_zoo and records what it printed:
// the TIDs of its named threads and the addresses of its named locks.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace tl_test {

struct Zoo {
  std::unique_ptr<Proc> proc;
  std::map<std::string, int> tid;           // "A" -> 1234
  std::map<std::string, std::string> lock;  // "a" -> "0x55..."
  int threads = 0;
  pid_t pid() const { return proc->pid(); }
};

inline Zoo start_zoo(const std::string& scenario, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv{sample_bin("hang_zoo"), scenario};
  argv.insert(argv.end(), extra.begin(), extra.end());
  Zoo z;
  z.proc = std::make_unique<Proc>(argv);
  for (;;) {
    std::istringstream line(z.proc->read_line());
    std::string what, name, value;
    line >> what >> name >> value;
    if (what == "ready") { z.threads = std::stoi(name); return z; }
    if (what == "tid") z.tid[name] = std::stoi(value);
    if (what == "lock") z.lock[name] = value;
  }
}

// A gcore'd core of a running scenario (the process is killed after).
inline std::string zoo_gcore(const std::string& scenario) {
  Zoo z = start_zoo(scenario);
  std::string core = gcore(z.pid(), temp_dir());
  z.proc->kill_now();
  return core;
}

// A cycle as the analyzer reports it: thread i waits for lock i, rotated so
// the lowest TID comes first.
inline nlohmann::json cycle(std::vector<std::pair<int, std::string>> edges) {
  auto low = std::min_element(edges.begin(), edges.end()) - edges.begin();
  std::rotate(edges.begin(), edges.begin() + low, edges.end());
  nlohmann::json threads = nlohmann::json::array(), locks = nlohmann::json::array();
  for (const auto& [t, l] : edges) { threads.push_back(t); locks.push_back(l); }
  return {{"threads", threads}, {"locks", locks}};
}

inline nlohmann::json cycles_of(const nlohmann::json& hang) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& d : hang.at("deadlocks")) out.push_back({{"threads", d.at("threads")}, {"locks", d.at("locks")}});
  return out;
}

// "TID waiters transitive [locks]" per blocker, in the reported order.
inline std::vector<std::string> blocker_summaries(const nlohmann::json& hang) {
  std::vector<std::string> out;
  for (const auto& b : hang.at("blockers"))
    out.push_back(std::to_string(b.at("tid").get<int>()) + " " + std::to_string(b.at("waiters").get<int>()) + " " +
                  std::to_string(b.at("transitive_waiters").get<int>()) + " " + b.at("locks").dump());
  return out;
}

inline std::string blocker(int tid, int waiters, int transitive, const std::string& lock) {
  return std::to_string(tid) + " " + std::to_string(waiters) + " " + std::to_string(transitive) + " [\"" + lock + "\"]";
}

// Waits until the process has died and the kernel finished its core (a
// zombie has finished dumping). Returns false after timeout_s.
inline bool wait_dead(pid_t pid, int timeout_s = 60) {
  for (int i = 0; i < timeout_s * 50; ++i) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string s;
    std::getline(f, s);
    auto close = s.rfind(')');
    if (s.empty() || (close != std::string::npos && close + 2 < s.size() && s[close + 2] == 'Z')) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// The "crash" scenario dumped by the kernel (core_pattern must be "core"):
// its path, with the scenario's TIDs and locks in `z`.
inline std::string zoo_kernel_core(Zoo& z) {
  std::string dir = temp_dir();
  z = start_zoo("crash", {"--dir", dir});
  z.proc->send("crash");
  EXPECT_TRUE(wait_dead(z.pid()));
  std::string core = dir + "/core";
  EXPECT_TRUE(std::filesystem::exists(core)) << "no kernel core in " << dir << " (core_pattern must be 'core')";
  return core;
}

}  // namespace tl_test
