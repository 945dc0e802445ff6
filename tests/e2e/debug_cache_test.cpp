// End to end: the inflated copies of compressed debug files
// (source/debug_cache.hpp) on a gcore'd core of park, whose libc debug info
// (libc6-dbg) is stored zlib-compressed: the first capture writes the copy,
// the next one reads it, and every stack is the same as without the cache.
// A cache that cannot be written, or a damaged copy, changes nothing.
#include <filesystem>
#include <fstream>
#include <regex>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace fs = std::filesystem;
using tl_test::Proc;

namespace {

struct ParkCore {
  std::string core;
  ParkCore() {
    Proc p({tl_test::sample_bin("park"), "--condvar", "2", "--mutex", "1", "--sleep", "2"});
    EXPECT_EQ(p.expect("ready"), "ready 7");   // + the lock holder and main
    core = tl_test::gcore(p.pid(), tl_test::temp_dir());
  }
};

tl_test::Result stacks_with(const std::string& core, const std::string& cache) {
  return tl_test::run({tl_test::threadleak_bin(), "-v", "stacks", core}, 120, {"THREADLEAK_CACHE_DIR=" + cache});
}

std::vector<fs::path> files_in(const std::string& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path());
  return out;
}

}  // namespace

TEST(DebugCache, WrittenOnceThenReadWithTheSameStacks) {
  ParkCore c;
  auto plain = stacks_with(c.core, "off");
  ASSERT_EQ(plain.status, 0) << plain.err;
  EXPECT_EQ(plain.err.find("debug cache"), std::string::npos) << plain.err;
  EXPECT_NE(plain.out.find("pthread_cond_wait"), std::string::npos) << plain.out;   // libc named from its debug info

  std::string dir = tl_test::temp_dir() + "/cache";
  auto first = stacks_with(c.core, dir);
  ASSERT_EQ(first.status, 0) << first.err;
  EXPECT_EQ(first.out, plain.out);
  // One copy: libc's, named by its build-id, larger than the compressed original.
  auto files = files_in(dir);
  ASSERT_EQ(files.size(), 1u);
  std::string name = files[0].filename().string();
  ASSERT_TRUE(std::regex_match(name, std::regex("[0-9a-f]{40}\\.debug"))) << name;
  fs::path original = "/usr/lib/debug/.build-id/" + name.substr(0, 2) + "/" + name.substr(2);
  ASSERT_TRUE(fs::exists(original)) << original;
  EXPECT_GT(fs::file_size(files[0]), fs::file_size(original));
  EXPECT_NE(first.err.find("debug cache: wrote " + files[0].string()), std::string::npos) << first.err;

  auto second = stacks_with(c.core, dir);
  ASSERT_EQ(second.status, 0) << second.err;
  EXPECT_EQ(second.out, plain.out);
  EXPECT_EQ(second.err.find("debug cache: wrote"), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("libc.so.6 ["), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("debug info " + files[0].string()), std::string::npos) << second.err;

  // A damaged copy (not an ELF with that build-id) is not used, and is
  // replaced by the capture after.
  std::ofstream(files[0], std::ios::trunc) << "not an ELF file";
  auto damaged = stacks_with(c.core, dir);
  ASSERT_EQ(damaged.status, 0) << damaged.err;
  EXPECT_EQ(damaged.out, plain.out);
  EXPECT_NE(damaged.err.find("debug info " + original.string()), std::string::npos) << damaged.err;
  auto repaired = stacks_with(c.core, dir);
  EXPECT_EQ(repaired.out, plain.out);
  EXPECT_NE(repaired.err.find("debug info " + files[0].string()), std::string::npos) << repaired.err;
}

TEST(DebugCache, ADirectoryThatCannotBeWrittenChangesNothing) {
  ParkCore c;
  auto plain = stacks_with(c.core, "off");
  std::string not_a_dir = tl_test::temp_dir() + "/a-file";
  std::ofstream(not_a_dir) << "x";
  auto r = stacks_with(c.core, not_a_dir);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, plain.out);
  EXPECT_NE(r.err.find("debug cache: cannot write in " + not_a_dir), std::string::npos) << r.err;
}
