// Bad input: each gets one clear line on stderr naming the input and the
// problem, and exit status 2 (or a warning and a true partial answer).
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace fs = std::filesystem;
using tl_test::Proc;

namespace {

tl_test::Result stacks(const std::vector<std::string>& args) {
  std::vector<std::string> argv{tl_test::threadleak_bin(), "stacks"};
  argv.insert(argv.end(), args.begin(), args.end());
  return tl_test::run(argv, 60);
}

std::string write_file(const std::string& name, const std::string& text) {
  std::string path = tl_test::temp_dir() + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// One core shared by the truncation tests.
const std::string& park_core() {
  static std::string core = [] {
    Proc p({tl_test::sample_bin("park"), "--sleep", "3", "--condvar", "2"});
    p.expect("ready");
    return tl_test::gcore(p.pid(), tl_test::temp_dir());
  }();
  return core;
}

std::string truncated_copy(std::uintmax_t bytes) {
  std::string path = tl_test::temp_dir() + "/core.cut" + std::to_string(bytes);
  fs::copy_file(park_core(), path);
  fs::resize_file(path, bytes);
  return path;
}

}  // namespace

TEST(BadInput, MissingPath) { tl_test::expect_one_line_error(stacks({"/no/such/core"}), "/no/such/core", "No such file"); }

TEST(BadInput, Directory) {
  std::string d = tl_test::temp_dir();
  tl_test::expect_one_line_error(stacks({d}), d, "is a directory");
}

TEST(BadInput, EmptyFile) {
  std::string f = write_file("empty", "");
  tl_test::expect_one_line_error(stacks({f}), f, "empty file");
}

TEST(BadInput, NotElfNotJson) {
  std::string f = write_file("notes.txt", "hello, this is not a core\n");
  tl_test::expect_one_line_error(stacks({f}), f, "not a core file");
}

TEST(BadInput, ElfThatIsNoCore) {
  tl_test::expect_one_line_error(stacks({"/bin/ls"}), "/bin/ls", "not a core dump");
}

TEST(BadInput, TruncatedCores) {
  auto full = fs::file_size(park_core());
  // Cut inside the ELF header, inside the program headers, inside the notes,
  // and inside the memory segments.
  for (std::uintmax_t cut : {std::uintmax_t{10}, std::uintmax_t{100}, std::uintmax_t{2000},
                             std::uintmax_t{20000}, full / 3, full - 4096}) {
    std::string core = truncated_copy(cut);
    auto r = stacks({core, "--json"});
    if (r.status == 0) {
      // A partial answer must say it is partial.
      EXPECT_NE(r.err.find("truncated"), std::string::npos) << "cut at " << cut << ": " << r.err;
      auto j = nlohmann::json::parse(r.out, nullptr, false);
      EXPECT_FALSE(j.is_discarded());
    } else {
      tl_test::expect_one_line_error(r, core, "");
    }
  }
}

TEST(BadInput, WrongExeIsAWarningAndStillGroups) {
  auto r = stacks({park_core(), "--exe", "/bin/ls", "--json"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("warning"), std::string::npos) << r.err;
  auto j = nlohmann::json::parse(r.out);
  std::size_t threads = 0;
  for (const auto& g : j.at("groups")) threads += g.at("count").get<std::size_t>();
  EXPECT_EQ(threads, 6u);
}

TEST(BadInput, ExeThatIsNotElf) {
  std::string f = write_file("exe.txt", "nope");
  tl_test::expect_one_line_error(stacks({park_core(), "--exe", f}), f, "not an ELF executable");
}

TEST(BadInput, MalformedSnapshots) {
  struct Case { const char* name; const char* text; const char* words; };
  const Case cases[] = {
      {"truncated.json", "{\"format\": \"threadleak-snapshot\", \"vers", "malformed snapshot"},
      {"other.json", "{\"hello\": 1}", "not a threadleak snapshot"},
      {"future.json", "{\"format\": \"threadleak-snapshot\", \"version\": 99}", "version 99 is newer"},
      {"types.json", "{\"format\": \"threadleak-snapshot\", \"version\": 1, \"process\": {\"pid\": \"x\"}}",
       "malformed snapshot"},
      {"index.json",
       "{\"format\": \"threadleak-snapshot\", \"version\": 1, \"process\": {\"pid\": 1, \"executable\": \"x\"},"
       " \"frames\": [], \"stacks\": [[7]], \"threads\": []}",
       "frame that does not exist"},
      {"state.json",
       "{\"format\": \"threadleak-snapshot\", \"version\": 1, \"process\": {\"pid\": 1, \"executable\": \"x\"},"
       " \"frames\": [], \"stacks\": [[]], \"threads\": [{\"tid\": 1, \"state\": \"dancing\", \"stack\": 0}]}",
       "unknown state"},
  };
  for (const Case& c : cases) {
    std::string f = write_file(c.name, c.text);
    tl_test::expect_one_line_error(stacks({f}), f, c.words);
  }
}

TEST(BadInput, DiffWithABadSideNamesThatSide) {
  std::string f = write_file("bad.json", "{");
  auto r = tl_test::run({tl_test::threadleak_bin(), "diff", park_core(), f});
  tl_test::expect_one_line_error(r, f, "malformed snapshot");
}

TEST(BadInput, UsageErrorsExit2) {
  auto r = tl_test::run({tl_test::threadleak_bin(), "stacks"});
  EXPECT_EQ(r.status, 2);
  r = tl_test::run({tl_test::threadleak_bin(), "frobnicate"});
  EXPECT_EQ(r.status, 2);
  r = tl_test::run({tl_test::threadleak_bin(), "stacks", "x", "--pid", "1"});
  EXPECT_EQ(r.status, 2);
}
