// A project outside threadleak using the installed threadleak::testing.
// Checks that the helper is the installed CLI (under EXPECT_PREFIX) and that
// a leaked thread is found with its stack, then that VerifyNone passes.
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <thread>

#include <gtest/gtest.h>

#include "threadleak/testing.hpp"

namespace {

__attribute__((noinline)) void consumer_parked(int fd) {
  char c;
  while (::read(fd, &c, 1) < 0) {}
  asm volatile("" ::: "memory");
}

std::string real(const std::string& p) {
  char buf[PATH_MAX];
  return ::realpath(p.c_str(), buf) ? buf : p;
}

TEST(Consumer, UsesTheInstalledCli) {
  const char* prefix = std::getenv("EXPECT_PREFIX");
  ASSERT_NE(prefix, nullptr);
  EXPECT_EQ(real(threadleak::helper_path()), real(std::string(prefix) + "/bin/threadleak"));
}

TEST(Consumer, FindsALeakThenVerifiesNone) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::thread t(consumer_parked, fds[0]);
  threadleak::Leaks l = threadleak::Find(threadleak::MaxRetryTime(std::chrono::milliseconds(200)));
  ASSERT_TRUE(l);
  EXPECT_NE(l.report().find("consumer_parked(int)"), std::string::npos) << l.report();
  ::close(fds[1]);
  t.join();
  threadleak::VerifyNone();
}

}  // namespace
