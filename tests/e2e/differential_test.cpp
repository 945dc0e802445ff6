// Differential test against a reference tool: per thread, the frames
// threadleak finds (pcs, inlined calls expanded) equal eu-stack -i's on the
// same core.
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace {

using Stacks = std::map<int, std::vector<std::string>>;  // tid -> pcs, innermost first

Stacks parse_eu_stack(const std::string& text) {
  Stacks out;
  std::istringstream in(text);
  std::string line;
  int tid = 0;
  while (std::getline(in, line)) {
    if (line.rfind("TID ", 0) == 0) {
      tid = std::stoi(line.substr(4));
      out[tid];
    } else if (tid && line.rfind("#", 0) == 0) {
      std::istringstream l(line);
      std::string idx, pc;
      l >> idx >> pc;
      out[tid].push_back(std::to_string(std::stoull(pc, nullptr, 16)));
    }
  }
  return out;
}

Stacks parse_snapshot(const nlohmann::json& j) {
  Stacks out;
  const auto& frames = j.at("frames");
  const auto& stacks = j.at("stacks");
  for (const auto& t : j.at("threads")) {
    auto& pcs = out[t.at("tid").get<int>()];
    for (const auto& i : stacks.at(t.at("stack").get<std::size_t>()))
      pcs.push_back(std::to_string(
          std::stoull(frames.at(i.get<std::size_t>()).at("pc").get<std::string>(), nullptr, 16)));
  }
  return out;
}

}  // namespace

TEST(Differential, FramesPerThreadEqualEuStack) {
  tl_test::Proc p({tl_test::sample_bin("park"), "--condvar", "5", "--mutex", "5", "--sleep", "5", "--read", "5"});
  p.expect("ready");
  std::string core = tl_test::gcore(p.pid(), tl_test::temp_dir());
  auto eu = tl_test::run({"eu-stack", "-i", "--core", core, "-e", tl_test::sample_bin("park")});
  ASSERT_TRUE(eu.status == 0 || eu.status == 1) << eu.err;  // 1: some thread's unwind ended with an error
  auto snap = tl_test::run({tl_test::threadleak_bin(), "snapshot", core, "-o", "-"});
  ASSERT_EQ(snap.status, 0) << snap.err;
  Stacks theirs = parse_eu_stack(eu.out);
  Stacks ours = parse_snapshot(nlohmann::json::parse(snap.out));
  ASSERT_EQ(ours.size(), 22u);
  ASSERT_EQ(theirs.size(), ours.size());
  for (const auto& [tid, pcs] : ours) {
    ASSERT_TRUE(theirs.count(tid)) << "eu-stack has no thread " << tid;
    EXPECT_EQ(pcs, theirs[tid]) << "thread " << tid;
  }
}
