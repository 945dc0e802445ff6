#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <thread>
#include <vector>

#include "builders.hpp"
#include "threadleak/interned.hpp"

using namespace threadleak;
using tl_unit::snapshot;

TEST(Interned, EqualStringsShareOneEntry) {
  Interned a = "pthread_cond_wait";
  Interned b = std::string("pthread_") + "cond_wait";
  Interned c = std::string_view("pthread_cond_wait_x").substr(0, 17);
  EXPECT_EQ(a.id(), b.id());
  EXPECT_EQ(a.id(), c.id());
  EXPECT_TRUE(a == b);
  EXPECT_NE(a.id(), Interned("pthread_cond_timedwait").id());
  EXPECT_FALSE(a == Interned("pthread_cond_timedwait"));
}

TEST(Interned, EmptyIsTheDefault) {
  Interned d;
  EXPECT_TRUE(d.empty());
  EXPECT_EQ(d.id(), Interned("").id());
  EXPECT_EQ(d.id(), Interned(static_cast<const char*>(nullptr)).id());
  EXPECT_EQ(d.str(), "");
}

TEST(Interned, ReadsAsAString) {
  Interned s = "libc.so.6";
  EXPECT_EQ(s, "libc.so.6");
  EXPECT_EQ(s, std::string("libc.so.6"));
  EXPECT_FALSE(s == "libc.so");
  EXPECT_TRUE(s.starts_with("libc"));
  EXPECT_EQ(s.find('.'), 4u);
  EXPECT_EQ(s.size(), 9u);
  EXPECT_EQ(fmt::format("[{:>11}]", s), "[  libc.so.6]");
  EXPECT_EQ("in " + s, "in libc.so.6");
  const std::string& ref = s;
  EXPECT_EQ(&ref, &s.str());
}

TEST(Interned, OrdersByTextNotByEntry) {
  // Interned in the opposite order of the text: the order must still be the text's.
  Interned z = "zz-interned-first", a = "aa-interned-second";
  EXPECT_LT(a, z);
  std::map<Interned, int> m{{z, 1}, {a, 2}};
  EXPECT_EQ(m.begin()->first, "aa-interned-second");
}

TEST(Interned, TwoThreadsGetTheSameEntries) {
  std::vector<const void*> one(500), two(500);
  auto fill = [](std::vector<const void*>& ids) {
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = Interned("race-" + std::to_string(i)).id();
  };
  std::thread t([&] { fill(two); });
  fill(one);
  t.join();
  EXPECT_EQ(one, two);
}

// Grouping keys threads by interned ids; the groups and their signatures
// must be what the signature text alone gives.
TEST(Group, KeysAgreeWithSignatures) {
  Snapshot s = snapshot(42, 3, 100);   // main, two pool threads, sleepers 100-102
  // Same rel_pc as the other sleepers, but an inlined frame: another stack.
  s.threads[4].frames[1].inlined = true;
  // The third sleeper's frames with strings made afresh: the same stack.
  for (Frame& f : s.threads[5].frames) {
    f.function = std::string(f.function.str());
    f.module = std::string(f.module.str());
  }
  auto with = [](const std::vector<Group>& gs, std::vector<std::int64_t> tids) {
    auto it = std::find_if(gs.begin(), gs.end(), [&](const Group& g) { return g.members == tids; });
    return it == gs.end() ? std::string("(no such group)") : it->signature;
  };
  auto groups = group(s, {});
  ASSERT_EQ(groups.size(), 4u);
  EXPECT_EQ(with(groups, {100, 102}), "sleep;libc.so.6+100;app+20;libc.so.6+300");
  EXPECT_EQ(with(groups, {101}), "sleep;libc.so.6+100;app+20i;libc.so.6+300");
  EXPECT_EQ(with(groups, {43, 44}), "condvar;libc.so.6+200;app+40;libc.so.6+300");
  auto by_fn = group(s, {GroupBy::function});
  ASSERT_EQ(by_fn.size(), 3u);   // inlined or not, the same functions
  EXPECT_EQ(with(by_fn, {100, 101, 102}),
            "sleep;libc.so.6!clock_nanosleep;app!worker_sleep;libc.so.6!start_thread");
}
