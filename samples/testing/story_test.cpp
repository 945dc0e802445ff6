// The goleak story in C++, caught by threadleak::VerifyNone.
//
// execute() (samples/cpp/request.hpp, shared with the leak sample) asks for
// two resources with a 1 ms timeout, each fetched by a thread of its own.
// In the leaky version get_resource_b ignores the cancellation and sleeps
// for an hour, so a call that times out leaves a thread behind. VerifyNone fails Story.Leaky with that thread's stack; the
// fixed get_resource_b waits on the cancellation, exits within VerifyNone's
// retry window, and Story.Fixed passes.
//
//   $ story_test
//   [ RUN      ] Story.Leaky
//   story_test.cpp:38: Failure
//   threadleak: 1 leaked thread (not at the baseline, still alive after waiting 1.00 s):
//     TID 23163 "story_test" sleep
//   live pid 23160 (.../story_test): 1 thread in 1 group
//
//   1 thread in state sleep: TIDs 23163
//      #0  0x00007f443e40d545 clock_nanosleep +0x65 at .../clock_nanosleep.c:48 [libc.so.6]
//      ...
//   => #3  0x000055ced82e0aa9 (anonymous namespace)::get_resource_b(...) +0x48 at .../request.hpp:44 [story_test]
//      ...
//   [  FAILED  ] Story.Leaky (1236 ms)
//   [ RUN      ] Story.Fixed
//   [       OK ] Story.Fixed (1 ms)
#include <chrono>

#include <gtest/gtest.h>

#include "threadleak/testing.hpp"

#include "../cpp/request.hpp"   // execute(), get_resource_b

namespace {

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
