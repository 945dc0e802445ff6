// systemd-coredump's file names (source/coredump_name.hpp): what they give,
// and the names that must give nothing.
#include <vector>

#include <gtest/gtest.h>

#include "source/coredump_name.hpp"

using threadleak::detail::coredump_from_name;

namespace {
constexpr const char* kBoot = "9becec4faf464952b9613a2d6f572dda";
std::string name(const std::string& comm, const std::string& tail = ".1796283251000000.zst") {
  return "/var/lib/systemd/coredump/core." + comm + ".1000." + kBoot + ".4242" + tail;
}
}  // namespace

TEST(CoredumpName, EveryFieldAndEachSuffix) {
  for (const char* ext : {"", ".zst", ".lz4", ".xz"}) {
    auto c = coredump_from_name(name("park", std::string(".1796283251000000") + ext));
    ASSERT_TRUE(c) << ext;
    EXPECT_EQ(c->comm, "park");
    EXPECT_EQ(c->uid, 1000u);
    EXPECT_EQ(c->pid, 4242);
    EXPECT_EQ(c->boot_id, kBoot);
    EXPECT_EQ(c->time, "2026-12-03T07:34:11Z");
  }
}

TEST(CoredumpName, EscapedAndDottedCommands) {
  EXPECT_EQ(coredump_from_name(name("my\\x2eservice"))->comm, "my.service");
  EXPECT_EQ(coredump_from_name(name("a\\x2fb\\x20c"))->comm, "a/b c");
  EXPECT_EQ(coredump_from_name(name("odd.name"))->comm, "odd.name");   // split from the right
  EXPECT_EQ(coredump_from_name(name("bad\\x2"))->comm, "bad\\x2");     // a cut escape stays as is
}

TEST(CoredumpName, OtherNamesGiveNothing) {
  for (const std::string& n : std::vector<std::string>{
           "core", "core.1234", "core.park.zst", "/tmp/core.31478.zst",
        name(""), name("park", ".notanumber.zst"), name("park", ".-5.zst"),
        "core.park.1000.9becec4f.4242.1796283251000000.zst",                       // short boot id
        "core.park.x.9becec4faf464952b9613a2d6f572dda.4242.1796283251000000",      // uid not decimal
        "core.park.1000.9becec4faf464952b9613a2d6f572dda.0.1796283251000000",      // pid 0
        "dump.park.1000.9becec4faf464952b9613a2d6f572dda.4242.1796283251000000"})
    EXPECT_FALSE(coredump_from_name(n)) << n;
}
