// The goleak story's request, shared by the leak sample (samples/cpp/leak.cpp)
// and the testing library's story (samples/testing/story_test.cpp).
//
// execute() asks for two resources with a timeout, each fetched by a thread
// of its own, and reports "context deadline exceeded" (false) when they are
// not both back in time. get_resource_b has the bug: it sleeps for an hour
// whatever the caller's deadline, so every call that times out leaves one
// thread behind. A `fixed` call waits on the cancellation instead.
//
//   bool ok = execute(std::chrono::milliseconds(1), /*fixed=*/false);
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

namespace {

struct Call {
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  bool cancelled = false;
  bool fixed = false;
  void (*on_fetch_b)() = nullptr;   // run first by get_resource_b's thread
};

__attribute__((noinline)) void get_resource_a(std::shared_ptr<Call> call) {
  std::lock_guard lock(call->mu);
  ++call->done;
  call->cv.notify_all();
}

// The bug: sleeps for an hour whatever the caller's deadline.
__attribute__((noinline)) void get_resource_b(std::shared_ptr<Call> call) {
  if (call->on_fetch_b) call->on_fetch_b();
  if (call->fixed) {
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
__attribute__((noinline)) bool execute(std::chrono::milliseconds timeout, bool fixed,
                                       void (*on_fetch_b)() = nullptr) {
  auto call = std::make_shared<Call>();
  call->fixed = fixed;
  call->on_fetch_b = on_fetch_b;
  std::thread(get_resource_a, call).detach();
  std::thread(get_resource_b, call).detach();
  std::unique_lock lock(call->mu);
  bool ok = call->cv.wait_for(lock, timeout, [&] { return call->done == 2; });
  call->cancelled = true;
  call->cv.notify_all();
  return ok;
}

}  // namespace
