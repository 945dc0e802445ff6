// threadleak::testing_main: gtest_main with the leak checks installed.
#include "threadleak/testing.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  threadleak::InstallGoogleTest();
  return RUN_ALL_TESTS();
}
