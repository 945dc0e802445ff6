// Differential test against a reference tool: per thread, the frames
// threadleak finds (pcs, inlined calls expanded) equal eu-stack -i's on the
// same core.
#include <gtest/gtest.h>

#include "harness.hpp"

TEST(Differential, FramesPerThreadEqualEuStack) {
  tl_test::Proc p({tl_test::sample_bin("park"), "--condvar", "5", "--mutex", "5", "--sleep", "5", "--read", "5"});
  p.expect("ready");
  std::string core = tl_test::gcore(p.pid(), tl_test::temp_dir());
  auto theirs = tl_test::eu_stack_pcs(core, tl_test::sample_bin("park"));
  auto ours = tl_test::snapshot_pcs(core);
  ASSERT_EQ(ours.size(), 22u);
  ASSERT_EQ(theirs.size(), ours.size());
  for (const auto& [tid, pcs] : ours) {
    ASSERT_TRUE(theirs.count(tid)) << "eu-stack has no thread " << tid;
    EXPECT_EQ(pcs, theirs[tid]) << "thread " << tid;
  }
}
