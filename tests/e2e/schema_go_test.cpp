// Every JSON document kind validates against docs/schema/ on real output of
// Go programs (samples/go): goroutine groups, the hang report's Go part,
// snapshot files with goroutines, a diff and a series of a leaking service.
// Go cores are about 1 GB: each is removed once its snapshot file is saved.
#include <gtest/gtest.h>

#include "go_oracle.hpp"
#include "schema_check.hpp"

using namespace tl_test;

namespace {

std::string go_bin(const std::string& name) { return std::string(GO_SAMPLES_DIR) + "/" + name; }

bool has_goroutine_group(const nlohmann::json& groups) {
  for (const auto& g : groups)
    if (g.value("kind", "") == "goroutine") return true;
  return false;
}

}  // namespace

TEST(SchemaGo, CoreAndLiveDocumentsValidate) {
  GoProcess p({go_bin("park")});
  EXPECT_EQ(p.expect("ready"), "ready 19");
  std::string d = temp_dir(), pid = std::to_string(p.pid());
  std::vector<std::string> docs;
  {
    CoreFile core(gcore(p.pid(), temp_dir()));
    docs.push_back(save_json(d, "stacks.json", {"stacks", core.path()}, 0));
    docs.push_back(save_json(d, "hang.json", {"hang", core.path()}, 0));
    docs.push_back(save_snapshot(d, "snap.json", {core.path()}));
  }
  docs.push_back(save_json(d, "live_stacks.json", {"stacks", "--pid", pid}, 0));
  docs.push_back(save_snapshot(d, "live_snap.json", {"--pid", pid}));
  EXPECT_TRUE(has_goroutine_group(read_json(docs[0]).at("groups")));
  EXPECT_TRUE(read_json(docs[1]).at("go").is_object());
  EXPECT_TRUE(has_goroutine_group(read_json(docs[3]).at("groups")));
  expect_valid(docs);
}

// The goleak story in Go: one goroutine leaked per request.
TEST(SchemaGo, DiffAndSeriesOfALeakingServiceValidate) {
  GoProcess p({go_bin("leaksvc"), "-requests", "5"});
  EXPECT_EQ(p.expect("ready"), "ready 6");
  std::string d = temp_dir();
  std::vector<std::string> snaps, docs;
  for (int i = 0; i < 3; ++i) {
    if (i) { p.send("more 3"); p.expect("ready"); }
    CoreFile core(gcore(p.pid(), temp_dir()));
    snaps.push_back(save_snapshot(d, "snap" + std::to_string(i + 1) + ".json", {core.path()}));
  }
  docs.push_back(save_json(d, "diff.json", {"diff", snaps[0], snaps[1]}, 1));
  docs.push_back(save_json(d, "series.json", {"diff", snaps[0], snaps[1], snaps[2]}, 1));
  auto diff = read_json(docs[0]);
  ASSERT_FALSE(diff.at("grown").empty()) << diff.dump();
  const auto& top = diff.at("grown")[0];
  EXPECT_EQ(top.at("kind"), "goroutine");
  EXPECT_EQ(top.at("new_members").size(), 3u) << top.dump();
  EXPECT_EQ(kind_of(docs[1]), "series");
  docs.insert(docs.end(), snaps.begin(), snaps.end());
  expect_valid(docs);
}
