// The Go runtime's own view of a program's goroutines, parsed so that it can
// be compared exactly with threadleak's JSON. Two oracles:
//  - a runtime.Stack(buf, true) dump, which our samples write on request
//    (user goroutines only, runtime frames hidden, inlined calls shown);
//  - the crash traceback the runtime prints on SIGABRT with GOTRACEBACK=all,
//    which any Go program prints, whatever its build flags and Go version
//    (every goroutine, runtime.gopark & co. innermost): GoProcess takes a core
//    and then that traceback of the same process.
#pragma once

#include <csignal>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness.hpp"

namespace tl_test {

struct GoroutineSummary {
  long goid = 0;
  std::string state;                    // "sleep", "chan receive", "syscall", ...
  std::vector<std::string> functions;   // innermost first, inlined calls included
  std::string created_by;               // "" for goroutine 1
};

// Parses a runtime.Stack dump or a crash traceback (Go 1.19 to 1.2x headers
// such as "goroutine 7 gp=0x... m=nil [chan receive, 2 minutes]:", "created
// by F in goroutine N"). Goroutine 0 (the signalled thread's g0) and lines
// that are not frames (registers, "...additional frames elided...") are left out.
std::vector<GoroutineSummary> parse_go_dump(const std::string& text);

// "STATE | f1 > f2 > ... | created by F" -> count, leaving out `skip_goid`.
std::map<std::string, int> oracle_groups(const std::vector<GoroutineSummary>& gs, long skip_goid);
// The same from threadleak's JSON groups (user goroutines only: the
// runtime's own are omitted by runtime.Stack too).
std::map<std::string, int> threadleak_groups(const nlohmann::json& groups, long skip_goid);

// Goroutines per state, from either side.
std::map<std::string, int> per_state(const std::map<std::string, int>& groups);

// threadleak's groups equal the runtime.Stack dump's (goroutine `skip_goid`,
// the one that wrote the dump, left out of both), per state and exactly.
void expect_matches_dump(const nlohmann::json& j, const std::vector<GoroutineSummary>& dump, long skip_goid);

// Goroutine by goroutine, threadleak's JSON groups against a crash
// traceback: every goid on both sides, the same state and the same first
// function outside package runtime (the traceback shows runtime.gopark and
// its callers, threadleak hides them). A goroutine whose stack the traceback
// could not show ("running on other thread") is compared by state only.
struct Agreement {
  int agree = 0, total = 0;
  std::vector<std::string> differences;  // one line per goroutine that differs
};
Agreement compare_with_traceback(const nlohmann::json& groups, const std::vector<GoroutineSummary>& traceback);
// Asserts full agreement and prints "LABEL: N/N goroutines agree with the
// runtime's traceback"; returns the agreement.
Agreement expect_agrees_with_traceback(const std::string& label, const nlohmann::json& groups,
                                       const std::vector<GoroutineSummary>& traceback);

// A core file, removed when this goes out of scope (cores of Go programs
// are about 1 GB each).
class CoreFile {
 public:
  explicit CoreFile(std::string path) : path_(std::move(path)) {}
  ~CoreFile();
  CoreFile(CoreFile&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  CoreFile(const CoreFile&) = delete;
  CoreFile& operator=(const CoreFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct CoreAndTraceback {
  CoreFile core;
  std::vector<GoroutineSummary> traceback;
};

// A Go program started with GOTRACEBACK=all and its stderr kept in a file of
// its own directory, so that its runtime's crash traceback can be read.
class GoProcess : public Proc {
 public:
  explicit GoProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env = {});
  const std::string& dir() const { return dir_; }
  // Takes the process's core with gcore, then sends `sig`: the runtime prints
  // its traceback and the process ends. SIGABRT, or SIGQUIT where it is not
  // trapped. For programs at rest, whose goroutines wait where they waited
  // when the core was taken (a moment is left for timers that expired while
  // gcore held the threads).
  CoreAndTraceback core_then_traceback(int sig = SIGABRT);
  // The traceback alone (for a live process already looked at); the process ends.
  std::vector<GoroutineSummary> traceback(int sig = SIGABRT);

 private:
  GoProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env, const std::string& dir);
  std::string dir_;
};

}  // namespace tl_test
