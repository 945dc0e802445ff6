#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "builders.hpp"

using namespace threadleak;

TEST(SnapshotFile, RoundTripKeepsEverythingGroupingNeeds) {
  Snapshot s = tl_unit::snapshot(42, 3, 100);
  s.source = "core";
  s.threads[0].name = "main";
  s.threads[3].frames[1].file = "app.cpp";
  s.threads[3].frames[1].line = 12;
  s.threads[3].frames[1].inlined = true;
  s.threads[4].state = State::syscall;
  s.threads[4].syscall_name = "wait4";
  s.crash = CrashInfo{100, 11, "SIGSEGV", 0x10};
  Snapshot r = from_snapshot_json(to_snapshot_json(s), "x.json");
  EXPECT_EQ(r.source, "snapshot");
  EXPECT_EQ(r.pid, 42);
  ASSERT_EQ(r.threads.size(), s.threads.size());
  EXPECT_EQ(r.threads[0].name, "main");
  EXPECT_EQ(r.threads[3].frames[1].file, "app.cpp");
  EXPECT_EQ(r.threads[3].frames[1].line, 12);
  EXPECT_TRUE(r.threads[3].frames[1].inlined);
  EXPECT_EQ(r.threads[4].syscall_name, "wait4");
  ASSERT_TRUE(r.crash);
  EXPECT_EQ(r.crash->address, 0x10u);
  auto g1 = group(s, {}), g2 = group(r, {});
  ASSERT_EQ(g1.size(), g2.size());
  for (std::size_t i = 0; i < g1.size(); ++i) {
    EXPECT_EQ(g1[i].signature, g2[i].signature);
    EXPECT_EQ(g1[i].members, g2[i].members);
  }
}

TEST(SnapshotFile, SharedStacksAreStoredOnce) {
  Snapshot s = tl_unit::snapshot(42, 1000, 100);
  auto j = nlohmann::json::parse(to_snapshot_json(s));
  EXPECT_EQ(j.at("stacks").size(), 3u);
  EXPECT_EQ(j.at("threads").size(), 1003u);
}

TEST(SnapshotFile, HostileInputsAreErrorsNamingTheFile) {
  const char* bad[] = {
      "", "[]", "{\"format\": \"threadleak-snapshot\"}",
      "{\"format\": \"threadleak-snapshot\", \"version\": 1, \"process\": {\"pid\": 1, \"executable\": \"x\"}, "
      "\"frames\": [{\"pc\": \"zz\", \"rel_pc\": \"0x1\", \"module\": \"m\", \"function\": \"f\", \"offset\": 0}], "
      "\"stacks\": [], \"threads\": []}",
      "{\"format\": \"threadleak-snapshot\", \"version\": 1, \"process\": {\"pid\": 1, \"executable\": \"x\"}, "
      "\"frames\": [], \"stacks\": [], \"threads\": [{\"tid\": 1, \"state\": \"sleep\", \"stack\": 5}]}",
  };
  for (const char* text : bad) {
    try {
      from_snapshot_json(text, "evil.json");
      ADD_FAILURE() << "accepted: " << text;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("evil.json: ", 0), 0u) << e.what();
    }
  }
}
