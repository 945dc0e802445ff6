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

namespace testing_detail {
struct Options;   // what the options below set (internal)
class Finder;
}  // namespace testing_detail

// One option of Find, VerifyNone and InstallGoogleTest, made by the
// functions below; options apply left to right.
class Option {
 public:
  explicit Option(std::function<void(testing_detail::Options&)> apply) : apply_(std::move(apply)) {}
  void apply_to(testing_detail::Options& o) const { apply_(o); }

 private:
  std::function<void(testing_detail::Options&)> apply_;
};

// Ignores threads whose top function is `function` ("ns::worker" matches
// "ns::worker(int)"). The top is the innermost frame, or the first function
// of the program's own code when the innermost frames are in libc/libstdc++
// (a thread parked in `worker` shows `clock_nanosleep` innermost).
Option IgnoreTopFunction(std::string function);
// Ignores threads with `function` anywhere in their stack.
Option IgnoreAnyFunction(std::string function);
// Ignores threads whose group has this fingerprint (or a prefix of it, 4 to
// 12 hex digits): the [3f2a9c01d4e7] a report shows before each group, the
// same across rebuilds that keep the functions on the stack. A string that
// is not 4 to 12 hex digits matches nothing.
Option IgnoreGroup(std::string fingerprint);
// Ignores threads started by `function`: the routine given to
// pthread_create, or the function a std::thread runs (as
// `threadleak diff --ignore-created-by`; docs/threads.md).
Option IgnoreCreatedBy(std::string function);
// Reads an expectations file (docs/expect.md; throws threadleak::Error
// "FILE:LINE: problem" when it is malformed): its [ignore] rules apply as the
// options above, and the new threads of a [[group]] it names are not
// reported while their number stays within max_count and max_growth (both
// count the group's new threads); over a limit, all of them are reported.
Option Expect(const std::string& file);
// Records the threads alive now; later checks with this option ignore them.
Option IgnoreCurrent();
// How long to wait, in all, for new threads to exit before reporting them
// (default 1 s). Between retries the wait doubles from 1 µs up to 100 ms.
Option MaxRetryTime(std::chrono::nanoseconds d);
// How long the helper may take for one snapshot before it is killed and
// threads are reported without stacks (default 30 s).
Option CaptureTimeout(std::chrono::seconds d);

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
  friend class testing_detail::Finder;
  Snapshot snapshot_;            // only the leaked threads
  std::vector<Group> groups_;
  double waited_s_ = 0;
};

namespace testing_detail {
Leaks find(const std::vector<Option>& opts);
bool verify_none(const std::vector<Option>& opts, const std::source_location& where);
void install_google_test(const std::vector<Option>& opts);
}  // namespace testing_detail

// The threads not in the baseline (and not ignored) that are still alive
// after retrying for up to MaxRetryTime. Never throws for capture problems:
// they become warnings().
template <typename... Opts>
Leaks Find(const Opts&... opts) {
  return testing_detail::find({Option(opts)...});
}

// An option that also remembers where VerifyNone was called from: the first
// argument converts to it, so the failure points at the test, not here.
struct LocatedOption {
  LocatedOption(Option o, std::source_location w = std::source_location::current())
      : option(std::move(o)), where(w) {}
  Option option;
  std::source_location where;
};

// Fails the current GoogleTest test (ADD_FAILURE at the caller's file and
// line, non-fatal) with the report. Returns true when there were no leaks.
inline bool VerifyNone(std::source_location where = std::source_location::current()) {
  return testing_detail::verify_none({}, where);
}

template <typename... Opts>
bool VerifyNone(LocatedOption first, const Opts&... rest) {
  return testing_detail::verify_none({first.option, Option(rest)...}, first.where);
}

// Checks after every test, against the threads alive when that test
// started, and fails the test that leaked; and after all tests, against the
// threads alive when the binary started (a failure there makes
// RUN_ALL_TESTS() return 1). Call after InitGoogleTest, before RUN_ALL_TESTS.
template <typename... Opts>
void InstallGoogleTest(const Opts&... opts) {
  testing_detail::install_google_test({Option(opts)...});
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
