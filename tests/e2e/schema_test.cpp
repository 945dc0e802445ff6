// The JSON output of stacks and diff validates against docs/threadleak.schema.json.
#include <fstream>

#include <gtest/gtest.h>

#include "harness.hpp"

TEST(Schema, StacksAndDiffOutputValidate) {
  tl_test::Proc p({tl_test::sample_bin("leak"), "--requests", "2"});
  p.expect("ready");
  std::string dir = tl_test::temp_dir();
  std::string core1 = tl_test::gcore(p.pid(), tl_test::temp_dir());
  p.send("more 2");
  p.expect("ready");
  std::string core2 = tl_test::gcore(p.pid(), tl_test::temp_dir());
  auto stacks = tl_test::run({tl_test::threadleak_bin(), "stacks", core1, "--json", "-o", dir + "/stacks.json"});
  ASSERT_EQ(stacks.status, 0) << stacks.err;
  auto diff = tl_test::run({tl_test::threadleak_bin(), "diff", core1, core2, "--json", "-o", dir + "/diff.json"});
  ASSERT_EQ(diff.status, 1) << diff.err;
  auto v = tl_test::run({"/usr/bin/python3", std::string(SOURCE_DIR) + "/tests/schema/validate.py",
                         std::string(SOURCE_DIR) + "/docs/threadleak.schema.json", dir + "/stacks.json",
                         dir + "/diff.json"});
  EXPECT_EQ(v.status, 0) << v.out << v.err;
}
