// Linked with threadleak::testing_main: the listener checks after every
// test, the environment checks the whole binary at exit. Only B leaks; the
// listener must blame B, not C which runs after it with B's thread alive.
#include <cstdio>

#include <gtest/gtest.h>

#include "parked.hpp"

namespace {

__attribute__((noinline)) void tl_leaked_in_b(int fd) {
  tl_testing::block_on(fd);
  asm volatile("" ::: "memory");
}

TEST(Attribution, A_Clean) {
  tl_testing::Parked p(tl_testing::tl_leaked_reader);
}

TEST(Attribution, B_Leaks) {
  static tl_testing::Parked* p = new tl_testing::Parked(tl_leaked_in_b, "tl-leaked-in-b");
  std::printf("parked %d\n", p->tid());
}

TEST(Attribution, C_CleanAfterLeak) {
  std::thread([] {}).join();
}

}  // namespace
