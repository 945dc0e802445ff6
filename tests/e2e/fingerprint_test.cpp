// Group fingerprints on real cores: two builds of park whose offsets differ
// (park_shifted has an unrelated function in front of the parked ones) give
// every group the same fingerprint; --group and --ignore-group take them.
#include <cctype>
#include <map>
#include <regex>
#include <set>

#include <gtest/gtest.h>

#include "harness.hpp"

using tl_test::Proc;

namespace {

const std::vector<std::string> kParkArgs = {"--condvar", "3", "--mutex", "2", "--sleep", "4", "--read", "2"};

std::string park_core(const std::string& sample, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv{tl_test::sample_bin(sample)};
  argv.insert(argv.end(), kParkArgs.begin(), kParkArgs.end());
  argv.insert(argv.end(), extra.begin(), extra.end());
  Proc p(argv);
  p.expect("ready");
  p.wait_reading_stdin();
  return tl_test::gcore(p.pid(), tl_test::temp_dir());
}

struct Seen {
  std::string fingerprint;
  std::string own_rel_pc;   // of the first own non-inlined frame
};

// "COUNT STATE OWN_FUNCTION" -> what the group showed.
std::map<std::string, Seen> by_summary(const nlohmann::json& stacks) {
  std::map<std::string, Seen> out;
  auto summaries = tl_test::group_summaries(stacks.at("groups"));
  for (std::size_t i = 0; i < summaries.size(); ++i) {
    const auto& g = stacks.at("groups")[i];
    Seen s{g.at("fingerprint"), ""};
    for (const auto& f : g.at("frames"))
      if (f.value("own_code", false) && !f.value("inlined", false)) {
        s.own_rel_pc = f.at("rel_pc");
        break;
      }
    EXPECT_TRUE(out.emplace(summaries[i], s).second) << "two groups read " << summaries[i];
  }
  return out;
}

std::string fingerprint_of(const nlohmann::json& stacks, const std::string& state) {
  for (const auto& g : stacks.at("groups"))
    if (g.at("state") == state) return g.at("fingerprint");
  ADD_FAILURE() << "no group in state " << state;
  return "";
}

class Fingerprints : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    park_ = new std::string(park_core("park"));
    shifted_ = new std::string(park_core("park_shifted"));
  }
  static void TearDownTestSuite() {
    delete park_;
    delete shifted_;
  }
  static std::string* park_;
  static std::string* shifted_;
};
std::string* Fingerprints::park_ = nullptr;
std::string* Fingerprints::shifted_ = nullptr;

}  // namespace

TEST_F(Fingerprints, SameForEveryGroupOfTwoBuildsWhoseOffsetsDiffer) {
  auto a = by_summary(tl_test::threadleak_json({"stacks", *park_}));
  auto b = by_summary(tl_test::threadleak_json({"stacks", *shifted_}));
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), a.size());
  std::set<std::string> distinct;
  static const std::regex hex12("^[0-9a-f]{12}$");
  for (const auto& [summary, seen] : a) {
    ASSERT_TRUE(b.count(summary)) << summary;
    EXPECT_TRUE(std::regex_match(seen.fingerprint, hex12)) << seen.fingerprint;
    EXPECT_EQ(seen.fingerprint, b.at(summary).fingerprint) << summary;
    EXPECT_NE(seen.own_rel_pc, b.at(summary).own_rel_pc) << summary << ": the builds should differ in offsets";
    distinct.insert(seen.fingerprint);
  }
  EXPECT_EQ(distinct.size(), a.size());
}

TEST_F(Fingerprints, ShownInTextBeforeEachGroup) {
  auto j = tl_test::threadleak_json({"stacks", *park_});
  std::string fp = fingerprint_of(j, "mutex");
  auto r = tl_test::run({tl_test::threadleak_bin(), "stacks", *park_});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("\n[" + fp + "] 2 threads in state mutex: TIDs "), std::string::npos) << r.out;
}

TEST_F(Fingerprints, StacksGroupShowsOnlyTheNamedGroupsByPrefix) {
  auto all = tl_test::threadleak_json({"stacks", *park_});
  std::string mutex = fingerprint_of(all, "mutex"), cond = fingerprint_of(all, "condvar");
  auto one = tl_test::threadleak_json({"stacks", *park_, "--group", mutex.substr(0, 6)});
  ASSERT_EQ(one.at("groups").size(), 1u);
  EXPECT_EQ(one.at("groups")[0].at("fingerprint"), mutex);
  EXPECT_EQ(one.at("process").at("total"), 13);
  auto text = tl_test::run({tl_test::threadleak_bin(), "stacks", *park_, "--group", mutex.substr(0, 6)});
  EXPECT_NE(text.out.find(": 13 threads in 6 groups, 1 shown\n"), std::string::npos) << text.out;
  EXPECT_NE(text.err.find("--group: showing 1 of 6 groups"), std::string::npos) << text.err;
  // Upper case and the shifted build's core name the same group.
  auto two = tl_test::threadleak_json({"stacks", *shifted_, "--group", mutex, "--group", [&] {
    std::string up = cond;
    for (char& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return up;
  }()});
  EXPECT_EQ(tl_test::group_summaries(two.at("groups")),
            (std::vector<std::string>{"3 condvar (anonymous namespace)::pool_worker()",
                                      "2 mutex (anonymous namespace)::lock_waiter()"}));
}

TEST_F(Fingerprints, NotAFingerprintIsAnUsageError) {
  for (std::string bad : {"xyz1", "abc", "0123456789abc"}) {
    auto r = tl_test::run({tl_test::threadleak_bin(), "stacks", *park_, "--group", bad});
    EXPECT_EQ(r.status, 2) << bad;
    EXPECT_TRUE(r.out.empty());
    EXPECT_NE(r.err.find("'" + bad + "' is not a group fingerprint (4 to 12 hex digits)"), std::string::npos) << r.err;
  }
}

TEST_F(Fingerprints, DiffIgnoreGroupDropsTheGrownGroup) {
  std::string more = park_core("park", {"--sleep", "6"});
  auto grew = tl_test::threadleak_json({"diff", *park_, more}, 1);
  ASSERT_EQ(grew.at("grown").size(), 1u);
  std::string fp = grew.at("grown")[0].at("fingerprint");
  auto before = by_summary(tl_test::threadleak_json({"stacks", *park_}));
  EXPECT_EQ(fp, before["4 sleep (anonymous namespace)::sleeper()"].fingerprint);
  auto quiet = tl_test::threadleak_json({"diff", *park_, more, "--ignore-group", fp.substr(0, 8)}, 0);
  EXPECT_EQ(quiet.at("grown").size(), 0u);
  EXPECT_EQ(quiet.at("ignored"), 4 + 6);
}
