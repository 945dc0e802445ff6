// End to end: `diff --expect FILE` on real cores of the leak sample (gcore).
// Exit 0 within the expectations, 1 a leak (naming the limit), 2 a malformed
// file (one line: FILE:LINE: problem).
#include <elf.h>

#include <array>
#include <filesystem>
#include <fstream>


#include <gtest/gtest.h>

#include "harness.hpp"

using tl_test::Proc;

namespace {

const std::string kLeaker = "(anonymous namespace)::get_resource_b";
const std::string kTop = kLeaker + "(std::shared_ptr<(anonymous namespace)::Call>)";

std::string write(const std::string& dir, const std::string& name, const std::string& text) {
  std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// Two cores of `leak`: one stuck request at the first, three at the second.
struct Cores {
  std::string dir = tl_test::temp_dir(), core1, core2;
  pid_t pid = 0;
  Cores() {
    Proc p({tl_test::sample_bin("leak"), "--requests", "1"});
    pid = p.pid();
    EXPECT_EQ(p.expect("ready"), "ready 2");
    core1 = tl_test::gcore(p.pid(), tl_test::temp_dir());
    p.send("more 2");
    EXPECT_EQ(p.expect("ready"), "ready 4");
    core2 = tl_test::gcore(p.pid(), tl_test::temp_dir());
  }
};

tl_test::Result diff(const Cores& c, const std::string& expect, std::vector<std::string> more = {}) {
  std::vector<std::string> argv{tl_test::threadleak_bin(), "diff", c.core1, c.core2};
  argv.insert(argv.end(), more.begin(), more.end());
  argv.insert(argv.end(), {"--expect", expect});
  return tl_test::run(argv);
}

// A copy of `core` whose main thread's stack is overwritten with 0xff: the
// highest writable segment below the kernel's half is the [stack] mapping.
std::string with_damaged_stack(const std::string& core, const std::string& out) {
  namespace fs = std::filesystem;
  fs::copy_file(core, out);
  std::fstream f(out, std::ios::in | std::ios::out | std::ios::binary);
  Elf64_Ehdr eh{};
  f.read(reinterpret_cast<char*>(&eh), sizeof eh);
  Elf64_Phdr stack{};
  for (int i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph{};
    f.seekg(static_cast<std::streamoff>(eh.e_phoff + static_cast<std::uint64_t>(i) * eh.e_phentsize));
    f.read(reinterpret_cast<char*>(&ph), sizeof ph);
    if (ph.p_type == PT_LOAD && (ph.p_flags & PF_W) && ph.p_filesz > 0 && ph.p_vaddr < 0x800000000000ull &&
        ph.p_vaddr > stack.p_vaddr)
      stack = ph;
  }
  EXPECT_GT(stack.p_filesz, 0u);
  f.seekp(static_cast<std::streamoff>(stack.p_offset));
  std::string garbage(stack.p_filesz, '\xff');
  f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  return out;
}

}  // namespace

TEST(Expect, KnownGroupWithinAndOverItsLimits) {
  Cores c;
  auto plain = tl_test::threadleak_json({"diff", c.core1, c.core2}, 1);
  ASSERT_EQ(plain.at("grown").size(), 1u);
  std::string fp = plain.at("grown")[0].at("fingerprint");

  // Nothing known: the growth is a leak.
  auto r = diff(c, write(c.dir, "empty.toml", "# nothing expected\n"));
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("LEAK: [" + fp + "] 1 -> 3: " + kTop + ": not in the expectations"), std::string::npos) << r.err;

  // By function, growth allowed: exit 0, and the report is still written.
  std::string by_fn = write(c.dir, "fn.toml",
                            "[[group]]\nfunction = \"" + kLeaker + "\"\nmax_growth = 2\ncomment = \"a cache warms up\"\n");
  r = diff(c, by_fn, {"--json"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).at("grown").size(), 1u);
  EXPECT_NE(r.err.find("expected: [" + fp + "] 1 -> 3: " + kTop + ": within its limits (" + by_fn + ":1)"), std::string::npos) << r.err;

  // max_growth below the growth: a leak that names the limit and where it is.
  std::string tight = write(c.dir, "tight.toml", "[[group]]\nfunction = \"" + kLeaker + "\"\nmax_growth = 1\n");
  r = diff(c, tight);
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("LEAK: [" + fp + "] 1 -> 3: " + kTop + ": over max_growth 1 (" + tight + ":1)"),
            std::string::npos)
      << r.err;

  // By fingerprint prefix and max_count.
  r = diff(c, write(c.dir, "fp3.toml", "[[group]]\nfingerprint = \"" + fp.substr(0, 6) + "\"\nmax_count = 3\n"));
  EXPECT_EQ(r.status, 0) << r.err;
  r = diff(c, write(c.dir, "fp2.toml", "[[group]]\nfingerprint = \"" + fp.substr(0, 6) + "\"\nmax_count = 2\n"));
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("over max_count 2"), std::string::npos) << r.err;

  // A series (three snapshots): the same limits on first -> last.
  r = tl_test::run({tl_test::threadleak_bin(), "diff", c.core1, c.core1, c.core2, "--expect", by_fn});
  EXPECT_EQ(r.status, 0) << r.err;
  r = tl_test::run({tl_test::threadleak_bin(), "diff", c.core1, c.core1, c.core2, "--expect", tight});
  EXPECT_EQ(r.status, 1) << r.err;
}

TEST(Expect, IgnoreRules) {
  Cores c;
  // [ignore] module: every thread has a frame in the sample's executable.
  auto r = diff(c, write(c.dir, "module.toml", "[ignore]\nmodule = [\"leak\"]\n"), {"--json"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).at("ignored"), 6);  // 2 threads at the baseline, 4 now
  // A module no frame is in ignores nothing.
  r = diff(c, write(c.dir, "other.toml", "[ignore]\nmodule = [\"libnothing.so.1\"]\n"));
  EXPECT_EQ(r.status, 1) << r.err;
  r = diff(c, write(c.dir, "any.toml", "[ignore]\nany = [\"" + kLeaker + "\"]\ntop = []\n"));
  EXPECT_EQ(r.status, 0) << r.err;
}

// Exit 3: the growth is expected, but the main thread's stack is damaged in
// both cores (its return addresses lead out of every module), so the
// analysis cannot vouch for it. A leak still wins over an incomplete analysis.
TEST(Expect, ThreadsNotUnwoundMakeTheAnalysisIncomplete) {
  Cores c;
  std::string bad1 = with_damaged_stack(c.core1, c.dir + "/bad1"),
              bad2 = with_damaged_stack(c.core2, c.dir + "/bad2");
  auto main_thread = tl_test::threadleak_json({"stacks", bad2, "--json"}, 0);
  bool found = false;
  for (const auto& g : main_thread.at("groups"))
    if (g.at("members") == nlohmann::json::array({c.pid})) {
      found = true;
      EXPECT_EQ(g.at("frames").back().at("pc"), "0xffffffffffffffff") << g.dump();
    }
  EXPECT_TRUE(found) << main_thread.dump();

  std::string by_fn = write(c.dir, "fn.toml", "[[group]]\nfunction = \"" + kLeaker + "\"\nmax_growth = 2\n");
  auto r = tl_test::run({tl_test::threadleak_bin(), "diff", bad1, bad2, "--expect", by_fn});
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_NE(r.err.find("not unwound: thread " + std::to_string(c.pid) +
                       ": the unwind left every module at 0xffffffffffffffff"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("analysis incomplete"), std::string::npos) << r.err;
  // The undamaged cores under the same file: 0. Ignoring the main thread (in read): 0.
  EXPECT_EQ(diff(c, by_fn).status, 0);
  std::string skip_main = write(c.dir, "skip.toml", "[ignore]\nany = [\"read\"]\n\n[[group]]\nfunction = \"" +
                                                        kLeaker + "\"\nmax_growth = 2\n");
  r = tl_test::run({tl_test::threadleak_bin(), "diff", bad1, bad2, "--expect", skip_main});
  EXPECT_EQ(r.status, 0) << r.err;
  // A leak wins: max_growth 1 on the damaged cores is 1, not 3.
  std::string tight = write(c.dir, "tight.toml", "[[group]]\nfunction = \"" + kLeaker + "\"\nmax_growth = 1\n");
  r = tl_test::run({tl_test::threadleak_bin(), "diff", bad1, bad2, "--expect", tight});
  EXPECT_EQ(r.status, 1) << r.err;
}

TEST(Expect, MalformedFileIsOneLineAndExit2) {
  std::string dir = tl_test::temp_dir();
  std::string core = dir + "/never-read";  // the file is checked before any capture
  auto run = [&](const std::string& file) {
    return tl_test::run({tl_test::threadleak_bin(), "diff", core, core, "--expect", file});
  };
  // Each file, and the one line it gets: FILE:LINE: problem.
  const std::vector<std::array<std::string, 3>> cases{
      {"neg.toml", "[[group]]\nfunction = \"f\"\nmax_growth = -1\n",
       ":3: [[group]] max_growth: expected a whole number, 0 or more"},
      {"key.toml", "[ignore]\ntop = [\"a\"]\nfunction = [\"b\"]\n",
       ":3: unknown key 'function' in [ignore] (top, any, created_by, module, groups)"},
      {"gkey.toml", "[[group]]\nfunction = \"f\"\nmax = 3\n",
       ":3: unknown key 'max' in [[group]] (fingerprint, function, max_count, max_growth, comment)"},
      {"badfp.toml", "[ignore]\ngroups = [\"2ed2\", \"xyz\"]\n",
       ":2: [ignore] groups: 'xyz' is not a group fingerprint (4 to 12 hex digits)"},
      {"nolimit.toml", "# known\n[[group]]\nfunction = \"f\"\n",
       ":2: [[group]]: give max_count or max_growth (or both)"},
  };
  for (const auto& [name, text, problem] : cases) {
    std::string file = write(dir, name, text);
    auto r = run(file);
    EXPECT_EQ(r.status, 2) << name;
    EXPECT_EQ(r.out, "") << name;
    EXPECT_EQ(r.err, "threadleak: " + file + problem + "\n");
  }

  std::string syntax = write(dir, "syntax.toml", "[ignore]\ntop = [\"a\"\n");
  auto r = run(syntax);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err.rfind("threadleak: " + syntax + ":", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;

  r = run(dir + "/missing.toml");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}
