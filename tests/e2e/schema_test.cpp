// Every JSON document kind validates against its schema in docs/schema/
// (stacks, diff, series, hang, snapshot), on real output: real gcore'd cores
// of the C++ samples, a live process, snapshot files of cores, a series of
// three of them. tests/schema/validate.py (python3-jsonschema, Draft
// 2020-12) picks each file's schema by its "kind" ("format" for snapshot
// files). The Go side is schema_go_test.cpp.
#include <gtest/gtest.h>

#include <fstream>

#include "harness.hpp"
#include "hang_zoo.hpp"
#include "schema_check.hpp"

using namespace tl_test;

namespace {

// Three cores of samples/cpp/leak, 2, 4 and 6 requests in (a thread leaked
// per request), and their snapshot files.
struct LeakCores {
  std::string dir = temp_dir();
  std::vector<std::string> cores, snapshots;
};

LeakCores leak_cores() {
  LeakCores c;
  Proc p({sample_bin("leak"), "--requests", "2"});
  p.expect("ready");
  for (int i = 0; i < 3; ++i) {
    if (i) { p.send("more 2"); p.expect("ready"); }
    c.cores.push_back(gcore(p.pid(), temp_dir()));
    c.snapshots.push_back(save_snapshot(c.dir, "snap" + std::to_string(i + 1) + ".json", {c.cores.back()}));
  }
  return c;
}

}  // namespace

TEST(Schema, CppCoreStacksDiffSeriesAndSnapshotsValidate) {
  LeakCores c = leak_cores();
  const std::string& d = c.dir;
  std::vector<std::string> docs = {
      save_json(d, "stacks.json", {"stacks", c.cores[0]}, 0),
      save_json(d, "diff.json", {"diff", c.cores[0], c.cores[1]}, 1),
      save_json(d, "diff_snapshots.json", {"diff", c.snapshots[0], c.snapshots[2]}, 1),
      save_json(d, "series.json", {"diff", c.snapshots[0], c.snapshots[1], c.snapshots[2]}, 1),
      save_json(d, "stacks_of_snapshot.json", {"stacks", c.snapshots[1]}, 0),
      c.snapshots[0], c.snapshots[1], c.snapshots[2]};
  EXPECT_EQ(kind_of(docs[0]), "stacks");
  EXPECT_EQ(kind_of(docs[1]), "diff");
  EXPECT_EQ(kind_of(docs[3]), "series");
  EXPECT_EQ(kind_of(docs[5]), "snapshot");
  // Same process: the diff names the new TIDs.
  auto diff = read_json(docs[1]);
  ASSERT_FALSE(diff.at("grown").empty());
  EXPECT_EQ(diff.at("grown")[0].at("new_members").size(), 2u) << diff.dump();
  EXPECT_EQ(diff.at("warnings"), nlohmann::json::array());
  expect_valid(docs);
}

// The diff carries both inputs' warnings, each prefixed by its side.
TEST(Schema, DiffWarningsNameTheirInput) {
  LeakCores c = leak_cores();
  std::string wrong_exe = sample_bin("park");  // not the cores' executable: a warning on each side
  std::string path = c.dir + "/diff.json";
  Result r = run({threadleak_bin(), "diff", c.cores[0], c.cores[1], "--exe", wrong_exe, "--json", "-o", path});
  ASSERT_TRUE(r.status == 0 || r.status == 1) << r.err;
  auto j = read_json(path);
  const auto& w = j.at("warnings");
  auto has = [&](const std::string& prefix) {
    for (const auto& s : w)
      if (s.get<std::string>().rfind(prefix + "--exe ", 0) == 0) return true;
    return false;
  };
  EXPECT_TRUE(has("baseline: ")) << w.dump();
  EXPECT_TRUE(has("current: ")) << w.dump();
  expect_valid({path});
}

TEST(Schema, HangReportsValidate) {
  std::string d = temp_dir();
  std::vector<std::string> docs;
  for (const char* scenario : {"abba", "orphan", "self", "convoy"}) {
    Zoo z = start_zoo(scenario);
    std::string core = gcore(z.pid(), temp_dir());
    z.proc->kill_now();
    bool deadlock = std::string(scenario) == "abba" || std::string(scenario) == "self";
    docs.push_back(save_json(d, std::string(scenario) + "_hang.json", {"hang", core}, deadlock ? 1 : 0));
    docs.push_back(save_json(d, std::string(scenario) + "_stacks.json", {"stacks", core}, 0));
    docs.push_back(save_snapshot(d, std::string(scenario) + "_snap.json", {core}));
  }
  EXPECT_EQ(kind_of(docs[0]), "hang");
  auto abba = read_json(docs[0]);
  EXPECT_FALSE(abba.at("deadlocks").empty());
  auto orphan = read_json(docs[3]);
  EXPECT_FALSE(orphan.at("orphaned").empty());
  auto self = read_json(docs[6]);
  EXPECT_FALSE(self.at("self_deadlocks").empty());
  EXPECT_TRUE(read_json(docs[1]).contains("hang"));  // stacks embeds the report
  expect_valid(docs);
}

TEST(SchemaLive, LiveProcessDocumentsValidate) {
  Zoo z = start_zoo("abba");
  std::string d = temp_dir(), pid = std::to_string(z.pid());
  std::vector<std::string> docs = {
      save_json(d, "stacks.json", {"stacks", "--pid", pid}, 0),
      save_json(d, "hang.json", {"hang", "--pid", pid}, 1),
      save_snapshot(d, "snap.json", {"--pid", pid}),
  };
  EXPECT_EQ(read_json(docs[0]).at("process").at("source"), "live");
  expect_valid(docs);
}

// A validator that passes everything proves nothing: real documents, each
// with one drift a consumer would trip on, must fail.
TEST(Schema, ValidatorRejectsMutatedDocuments) {
  Zoo z = start_zoo("abba");
  std::string core = gcore(z.pid(), temp_dir());
  z.proc->kill_now();
  std::string d = temp_dir();
  auto stacks = read_json(save_json(d, "stacks.json", {"stacks", core}, 0));
  auto hang = read_json(save_json(d, "hang.json", {"hang", core}, 1));
  auto snap = read_json(save_snapshot(d, "snap.json", {core}));
  auto diff = read_json(save_json(d, "diff.json", {"diff", core, core}, 0));
  std::vector<std::string> docs = {d + "/stacks.json", d + "/hang.json", d + "/snap.json", d + "/diff.json"};
  expect_valid(docs);  // the originals pass

  std::vector<std::pair<std::string, nlohmann::json>> mutants;
  auto m = stacks; m["groups"][0]["frames"][0]["colour"] = "red";          mutants.emplace_back("frame_extra", m);
  m = stacks; m["groups"][0].erase("count");                               mutants.emplace_back("group_no_count", m);
  m = stacks; m["groups"][0]["state"] = "blocked";                         mutants.emplace_back("state_unknown", m);
  m = stacks; m["groups"][0]["threads"] = m["groups"][0]["members"];       mutants.emplace_back("group_old_threads_field", m);
  m = stacks; m["hang"]["deadlocks"][0]["extra"] = 1;                      mutants.emplace_back("stacks_hang_extra", m);
  m = hang; m["deadlocks"][0]["locks"][0] = 12345;                         mutants.emplace_back("hang_lock_not_hex", m);
  m = hang; m.erase("go");                                                 mutants.emplace_back("hang_no_go", m);
  m = snap; m["threads"][0]["stack"] = "0";                                mutants.emplace_back("snapshot_stack_string", m);
  m = snap; m["process"]["modules"][0]["size"] = 1;                        mutants.emplace_back("snapshot_module_extra", m);
  m = diff; m.erase("warnings");                                           mutants.emplace_back("diff_no_warnings", m);
  m = diff; m["kind"] = "series";                                          mutants.emplace_back("diff_as_series", m);
  for (const auto& [name, doc] : mutants) {
    std::string path = d + "/" + name + ".json";
    std::ofstream(path) << doc.dump();
    Result r = validate({path});
    EXPECT_EQ(r.status, 1) << name << " passed validation:\n" << r.out << r.err;
    EXPECT_NE(r.out.find(path), std::string::npos) << name << ": " << r.out << r.err;
  }
}
