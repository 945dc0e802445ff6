// The examples at the top of the public headers, compiled and run.
//
// Each example below is the header's own code, line for line; the test
// HeaderExamples.AreTheCodeCompiledHere reads every public header and fails
// when an example line is not found here, so a header comment cannot drift
// from code that compiles. The examples open "core.1": here it is a small
// snapshot file written into a temporary working directory (every command
// that takes a core also takes a snapshot file). The main() at the end is
// testing.hpp's example: this binary runs with the leak checks installed.
// interned.hpp's example asserts: keep assert() on in release builds.
#undef NDEBUG
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "threadleak/hang.hpp"
#include "threadleak/interned.hpp"
#include "threadleak/testing.hpp"
#include "threadleak/threadleak.hpp"

namespace examples {

// snapshot.hpp
void snapshot_example() {
  threadleak::Snapshot snap = threadleak::capture(threadleak::Source::path("core.1"));
  for (const threadleak::Thread& t : snap.threads)
    std::printf("%d %s\n", t.tid, threadleak::to_string(t.state).c_str());
}

// analysis.hpp (top), then its Series example.
int analysis_example(const threadleak::Snapshot& snap, const threadleak::Snapshot& old_snap,
                     const threadleak::Snapshot& new_snap) {
  auto groups = threadleak::group(snap, {.by = threadleak::GroupBy::pc});
  threadleak::Diff d = threadleak::diff(old_snap, new_snap, {});
  return d.grew() ? 1 : 0;
}

int series_example(const threadleak::Snapshot& snap1, const threadleak::Snapshot& snap2,
                   const threadleak::Snapshot& snap3) {
  threadleak::Series s = threadleak::series({snap1, snap2, snap3}, {});
  return s.grew() ? 1 : 0;
}

// hang.hpp
int hang_example() {
  threadleak::Snapshot snap = threadleak::capture(threadleak::Source::path("core.1"));
  threadleak::HangReport h = threadleak::analyze_hang(snap);
  std::cout << threadleak::render_hang_text(snap, h, {});
  return h.deadlocked() ? 1 : 0;
}

// interned.hpp
std::string interned_example() {
  threadleak::Interned f = "pthread_cond_wait";     // interned once
  threadleak::Interned g = std::string("pthread_cond_wait");
  assert(f == g && f.id() == g.id());   // same pool entry
  std::string s = f;                    // reads as a const std::string&
  return s;
}

// threadleak.hpp
void facade_example() {
  threadleak::Source src = threadleak::Source::path("core.1");
  threadleak::Snapshot snap = threadleak::capture(src);   // throws threadleak::Error
  std::cout << threadleak::render_text(snap, threadleak::group(snap, {}), {});
}

}  // namespace examples

namespace {

// testing.hpp's Server: starts a worker thread, joins it on stop.
class Server {
 public:
  void start() { worker_ = std::thread([] {}); }
  void stop() { worker_.join(); }

 private:
  std::thread worker_;
};

threadleak::Frame frame(const char* function, std::uint64_t pc) {
  threadleak::Frame f;
  f.pc = f.rel_pc = pc;
  f.module = "app";
  f.function = function;
  return f;
}

// A process of `workers` threads parked in a condvar wait, and main.
threadleak::Snapshot process(int workers) {
  threadleak::Snapshot s;
  s.source = "core";
  s.origin = "core.1";
  s.pid = 42;
  s.executable = "/usr/bin/app";
  threadleak::Thread main_thread;
  main_thread.tid = 42;
  main_thread.name = "app";
  main_thread.state = threadleak::State::sleep;
  main_thread.frames = {frame("clock_nanosleep", 0x10), frame("main", 0x20)};
  s.threads.push_back(main_thread);
  for (int i = 0; i < workers; ++i) {
    threadleak::Thread t;
    t.tid = 100 + i;
    t.name = "worker";
    t.state = threadleak::State::condvar;
    t.frames = {frame("pthread_cond_wait", 0x30), frame("worker", 0x40)};
    s.threads.push_back(t);
  }
  return s;
}

// Runs the test in a fresh directory holding "core.1" (a snapshot file).
class InCoreDir : public ::testing::Test {
 protected:
  void SetUp() override {
    old_ = std::filesystem::current_path();
    dir_ = std::filesystem::temp_directory_path() / ("header_examples." + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    std::filesystem::current_path(dir_);
    std::ofstream("core.1") << threadleak::to_snapshot_json(process(3));
  }
  void TearDown() override {
    std::filesystem::current_path(old_);
    std::filesystem::remove_all(dir_);
  }

 private:
  std::filesystem::path old_, dir_;
};

// The lines of a header's leading comment that are example code: indented
// by at least three spaces after "//", trimmed; "..." lines are prose.
std::vector<std::string> example_lines(const std::string& header) {
  std::ifstream in(header);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line) && line.rfind("//", 0) == 0;) {
    if (line.rfind("//   ", 0) != 0) continue;
    std::string code = line.substr(2);
    code.erase(0, code.find_first_not_of(' '));
    code.erase(code.find_last_not_of(' ') + 1);
    if (!code.empty() && code.find("...") == std::string::npos) out.push_back(code);
  }
  return out;
}

std::vector<std::string> trimmed_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    line.erase(0, line.find_first_not_of(' '));
    line.erase(line.find_last_not_of(' ') + 1);
    out.push_back(line);
  }
  return out;
}

}  // namespace

TEST(HeaderExamples, AreTheCodeCompiledHere) {
  const std::string include = std::string(SOURCE_DIR) + "/analyzer/";
  const std::vector<std::string> headers = {
      include + "include/threadleak/snapshot.hpp", include + "include/threadleak/analysis.hpp",
      include + "include/threadleak/hang.hpp",     include + "include/threadleak/interned.hpp",
      include + "include/threadleak/threadleak.hpp", include + "testing/include/threadleak/testing.hpp"};
  auto here = trimmed_lines(std::string(SOURCE_DIR) + "/tests/unit/header_examples_test.cpp");
  for (const auto& h : headers) {
    auto lines = example_lines(h);
    EXPECT_FALSE(lines.empty()) << h << " has no example at its top";
    for (const auto& l : lines)
      EXPECT_NE(std::find(here.begin(), here.end(), l), here.end())
          << h << ": example line not compiled in header_examples_test.cpp:\n  " << l;
  }
}

TEST_F(InCoreDir, SnapshotAndFacadeExamplesRun) {
  ::testing::internal::CaptureStdout();
  examples::snapshot_example();
  examples::facade_example();
  std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("100 condvar\n"), std::string::npos) << out;
  EXPECT_NE(out.find("pthread_cond_wait"), std::string::npos) << out;
}

TEST_F(InCoreDir, AnalysisAndSeriesExamplesRun) {
  auto snap = threadleak::capture(threadleak::Source::path("core.1"));
  EXPECT_EQ(examples::analysis_example(snap, process(1), process(3)), 1);
  EXPECT_EQ(examples::analysis_example(snap, process(3), process(3)), 0);
  EXPECT_EQ(examples::series_example(process(1), process(2), process(3)), 1);
}

TEST_F(InCoreDir, HangExampleRuns) {
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(examples::hang_example(), 0);
  ::testing::internal::GetCapturedStdout();
}

TEST(HeaderExamples, InternedExampleRuns) { EXPECT_EQ(examples::interned_example(), "pthread_cond_wait"); }

// testing.hpp: a test that starts and stops a thread leaks nothing.
TEST(Server, ShutsDownCleanly) {
  auto baseline = threadleak::IgnoreCurrent();   // threads alive now are fine
  Server s; s.start(); s.stop();
  threadleak::VerifyNone(baseline);              // ADD_FAILURE with the report
}

// Or every test of a binary, and the whole binary at exit:
int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  threadleak::InstallGoogleTest();               // or link threadleak::testing_main
  return RUN_ALL_TESTS();
}
