// The goleak story in C++, caught by threadleak::VerifyNone.
//
// execute() asks for two resources with a 1 ms timeout, each fetched by a
// thread of its own. In the leaky version get_resource_b ignores the
// cancellation and sleeps for an hour, so a call that times out leaves a
// thread behind. VerifyNone fails Story.Leaky with that thread's stack; the
// fixed get_resource_b waits on the cancellation, exits within VerifyNone's
// retry window, and Story.Fixed passes.
//
//   $ story_test
//   [ RUN      ] Story.Leaky
//   story_test.cpp:72: Failure
//   threadleak: 1 leaked thread (not at the baseline, still alive after waiting 1.00 s):
//     TID 608 "story_test" sleep
//   live pid 604 (.../story_test): 1 thread in 1 group
//
//   1 thread in state sleep: TIDs 608
//      #0  0x00007f4f6eced545 clock_nanosleep +0x65 at .../clock_nanosleep.c:48 [libc.so.6]
//      ...
//   => #3  0x0000556edde1fa23 (anonymous namespace)::get_resource_b(...) +0x32 at .../story_test.cpp:49 [story_test]
//      ...
//   [  FAILED  ] Story.Leaky (1338 ms)
//   [ RUN      ] Story.Fixed
//   [       OK ] Story.Fixed (1 ms)
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "threadleak/testing.hpp"

namespace {

struct Call {
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  bool cancelled = false;
};

__attribute__((noinline)) void get_resource_a(std::shared_ptr<Call> call) {
  std::lock_guard lock(call->mu);
  ++call->done;
  call->cv.notify_all();
}

// The bug: sleeps for an hour whatever the caller's deadline.
__attribute__((noinline)) void get_resource_b(std::shared_ptr<Call> call, bool fixed) {
  if (fixed) {
    std::unique_lock lock(call->mu);
    call->cv.wait_for(lock, std::chrono::hours(1), [&] { return call->cancelled; });
    return;
  }
  std::this_thread::sleep_for(std::chrono::hours(1));
  std::lock_guard lock(call->mu);
  ++call->done;
  call->cv.notify_all();
}

// Returns false on "context deadline exceeded".
bool execute(std::chrono::milliseconds timeout, bool fixed) {
  auto call = std::make_shared<Call>();
  std::thread(get_resource_a, call).detach();
  std::thread(get_resource_b, call, fixed).detach();
  std::unique_lock lock(call->mu);
  bool ok = call->cv.wait_for(lock, timeout, [&] { return call->done == 2; });
  call->cancelled = true;
  call->cv.notify_all();
  return ok;
}

TEST(Story, Leaky) {
  auto baseline = threadleak::IgnoreCurrent();
  EXPECT_FALSE(execute(std::chrono::milliseconds(1), /*fixed=*/false));
  threadleak::VerifyNone(baseline);  // fails: get_resource_b is still sleeping
}

TEST(Story, Fixed) {
  auto baseline = threadleak::IgnoreCurrent();  // Leaky's thread is not ours
  EXPECT_FALSE(execute(std::chrono::milliseconds(1), /*fixed=*/true));
  threadleak::VerifyNone(baseline);
}

}  // namespace
