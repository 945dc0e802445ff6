// threadleak/testing.hpp — fail the C++ test that leaks a thread (goleak for threads).
//
// At the end of a test, VerifyNone() looks for threads of this process that
// were not there at the baseline, waits (with backoff, up to MaxRetryTime)
// for them to exit, and fails the test with each remaining thread's TID,
// name, state and symbolized stack, grouped by identical stack like the CLI.
//
//   TEST(Server, ShutsDownCleanly) {
//     auto baseline = threadleak::IgnoreCurrent();   // threads alive now are fine
//     Server s; s.start(); s.stop();
//     threadleak::VerifyNone(baseline);              // ADD_FAILURE with the report
//   }
//
//   // Or every test of a binary, and the whole binary at exit:
//   int main(int argc, char** argv) {
//     ::testing::InitGoogleTest(&argc, argv);
//     threadleak::InstallGoogleTest();               // or link threadleak::testing_main
//     return RUN_ALL_TESTS();
//   }
//
// Baselines: by default, the threads alive when the test binary started
// (recorded before main; goleak's VerifyTestMain). IgnoreCurrent() records
// the threads alive when it is called. The thread calling Find/VerifyNone is
// never reported. Threads are told apart by TID and kernel start time, so a
// recycled TID is still a new thread.
//
// How stacks are taken: a helper process (the threadleak CLI, `threadleak
// snapshot --pid OURS -o -`) freezes this process with ptrace for a few
// milliseconds, copies registers and stacks, and unwinds offline. ptrace
// stops threads whatever their signal mask and interrupts long system
// calls, so no thread can hang the check. When no helper can run (CLI not
// found, ptrace refused), threads are still reported from /proc with their
// TID, name and kernel state, and the report says why stacks are missing.
// See docs/testing.md.
//
// Finding the CLI: $THREADLEAK_CLI, else the path the build (CMake target or
// pkg-config) compiled in as THREADLEAK_CLI_PATH, else `threadleak` on $PATH.
//
// Thread safety: call Find/VerifyNone from one thread at a time.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <source_location>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "threadleak/threadleak.hpp"

namespace threadleak {

// A set of threads (TID + kernel start time) that are not leaks.
class Baseline {
 public:
  // The threads of this process right now.
  static Baseline now();
  // The threads alive when the program started (recorded before main).
  static const Baseline& at_start();

  bool contains(int tid, unsigned long long start_time) const;
  std::size_t size() const { return ids_.size(); }

 private:
  std::vector<std::pair<int, unsigned long long>> ids_;  // sorted
};

// Everything Find and VerifyNone can be told. Build it with the options below.
struct Options {
  std::vector<std::string> ignore_top;           // IgnoreTopFunction
  std::vector<std::string> ignore_any;           // IgnoreAnyFunction
  std::shared_ptr<const Baseline> baseline;      // IgnoreCurrent; null = at_start()
  std::chrono::nanoseconds max_retry_time = std::chrono::seconds(1);
  std::chrono::seconds capture_timeout = std::chrono::seconds(30);  // helper's limit
};

// An option is a change to Options; options apply left to right.
using Option = std::function<void(Options&)>;

// Ignores threads whose top function is `function` ("ns::worker" matches
// "ns::worker(int)"). The top is the innermost frame, or the first function
// of the program's own code when the innermost frames are in libc/libstdc++
// (a thread parked in `worker` shows `clock_nanosleep` innermost).
Option IgnoreTopFunction(std::string function);
// Ignores threads with `function` anywhere in their stack.
Option IgnoreAnyFunction(std::string function);
// Records the threads alive now; later checks with this option ignore them.
Option IgnoreCurrent();
// How long to wait, in all, for new threads to exit before reporting them
// (default 1 s). Between retries the wait doubles from 1 µs up to 100 ms.
Option MaxRetryTime(std::chrono::nanoseconds d);

// The threads Find reported. Converts to true when there were leaks.
class Leaks {
 public:
  explicit operator bool() const { return !snapshot_.threads.empty(); }
  // The leaked threads (sorted by TID), with frames, name and state.
  const std::vector<Thread>& threads() const { return snapshot_.threads; }
  // Leaked threads grouped by identical stack, largest group first.
  const std::vector<Group>& groups() const { return groups_; }
  // Why stacks are missing or partial, and the capture's own warnings
  // (empty when the helper ran fine).
  const std::vector<std::string>& warnings() const { return snapshot_.warnings; }
  // The report VerifyNone prints: a summary, one line per thread (TID, name,
  // state), then each group's stack as `threadleak stacks` prints it.
  std::string report() const;

 private:
  friend Leaks find_leaks(const Options& opts);
  Snapshot snapshot_;            // only the leaked threads
  std::vector<Group> groups_;
  double waited_s_ = 0;
};

// The threads not in the baseline (and not ignored) that are still alive
// after retrying for up to MaxRetryTime. Never throws for capture problems:
// they become warnings().
Leaks find_leaks(const Options& opts);

template <typename... Opts>
Options make_options(const Opts&... opts) {
  Options o;
  (Option(opts)(o), ...);
  return o;
}

template <typename... Opts>
Leaks Find(const Opts&... opts) {
  return find_leaks(make_options(opts...));
}

// Fails the current GoogleTest test (ADD_FAILURE at the caller's file and
// line, non-fatal) with the report. Returns true when there were no leaks.
bool verify_none(const Options& opts, const std::source_location& where);

// An option that also remembers where VerifyNone was called from: the first
// argument converts to it, so the failure points at the test, not here.
struct LocatedOption {
  LocatedOption(Option o, std::source_location w = std::source_location::current())
      : option(std::move(o)), where(w) {}
  Option option;
  std::source_location where;
};

inline bool VerifyNone(std::source_location where = std::source_location::current()) {
  return verify_none(Options{}, where);
}

template <typename... Opts>
bool VerifyNone(LocatedOption first, const Opts&... rest) {
  return verify_none(make_options(first.option, rest...), first.where);
}

// Checks after every test, against the threads alive when that test
// started, and fails the test that leaked. Append it to the listeners
// after InitGoogleTest (InstallGoogleTest does).
class LeakListener : public ::testing::EmptyTestEventListener {
 public:
  explicit LeakListener(Options opts) : opts_(std::move(opts)) {}
  void OnTestStart(const ::testing::TestInfo& info) override;
  void OnTestEnd(const ::testing::TestInfo& info) override;

 private:
  Options opts_;
  std::shared_ptr<const Baseline> at_test_start_;
};

// The whole-binary check: after all tests, against the given baseline
// (default: the threads alive when the binary started). A failure here makes
// RUN_ALL_TESTS() return 1.
class LeakEnvironment : public ::testing::Environment {
 public:
  explicit LeakEnvironment(Options opts) : opts_(std::move(opts)) {}
  void TearDown() override;

 private:
  Options opts_;
};

// Appends a LeakListener and adds a LeakEnvironment, both with `opts`.
// Call after InitGoogleTest, before RUN_ALL_TESTS.
void install_google_test(const Options& opts);

template <typename... Opts>
void InstallGoogleTest(const Opts&... opts) {
  install_google_test(make_options(opts...));
}

// The helper Find will run, as found now ("" when none was found).
std::string helper_path();

namespace detail {
// Called by the inline variable below with the path the build compiled in.
bool set_default_cli(const char* path);
}  // namespace detail

// pkg-config cannot pass a quoted string, so threadleak-testing.pc passes
// the directory as bare tokens, made a string here.
#if defined(THREADLEAK_CLI_DIR) && !defined(THREADLEAK_CLI_PATH)
#define THREADLEAK_STRINGIFY_(x) #x
#define THREADLEAK_STRINGIFY(x) THREADLEAK_STRINGIFY_(x)
#define THREADLEAK_CLI_PATH THREADLEAK_STRINGIFY(THREADLEAK_CLI_DIR) "/threadleak"
#endif

#ifdef THREADLEAK_CLI_PATH
inline const bool threadleak_cli_path_registered = detail::set_default_cli(THREADLEAK_CLI_PATH);
#endif

}  // namespace threadleak
