// End-to-end test helpers: run sample programs, take real cores of them with
// gcore, run the real threadleak CLI, parse its JSON. No mocks.
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tl_test {

// Paths baked in by CMake.
std::string threadleak_bin();
std::string sample_bin(const std::string& name);

// A fresh directory under the build tree's test area, removed at exit.
std::string temp_dir();

// How to start a Proc beyond its argv.
struct ProcOptions {
  std::vector<std::string> env;  // "NAME=VALUE", added to (or replacing in) the test's environment
  std::string stderr_path;       // the child's stderr goes to this file; "" leaves it on the test's
};

// A running sample with pipes to its stdin and stdout. Killed (SIGKILL) and
// reaped on destruction.
class Proc {
 public:
  explicit Proc(const std::vector<std::string>& argv, const ProcOptions& options = {});
  ~Proc();
  Proc(const Proc&) = delete;
  Proc& operator=(const Proc&) = delete;
  pid_t pid() const { return pid_; }
  // Reads one line (without '\n'); fails the test after `timeout_s`.
  std::string read_line(int timeout_s = 30);
  // Reads lines until one starts with `prefix`; returns it.
  std::string expect(const std::string& prefix, int timeout_s = 30);
  void send(const std::string& line);
  // Waits until the main thread is back in read(0, ...) (after it printed
  // its answer), so a capture sees it parked, not on its way back.
  void wait_reading_stdin(int timeout_s = 10);
  void kill_now();
  // Waits up to timeout_s for the process to end by itself; returns its
  // status as Result::status does, or -1 (and a test failure) on timeout.
  int wait_exit(int timeout_s = 30);

 private:
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1;
  std::string buf_;
};

struct Result {
  int status = -1;  // exit status, or 128+signal
  std::string out, err;
};

// Runs a command to completion (killed after timeout_s); captures output.
// `env` ("NAME=VALUE") is added to the test's environment.
Result run(const std::vector<std::string>& argv, int timeout_s = 120, const std::vector<std::string>& env = {});

// The bad-input contract: exit 2, nothing on stdout, one line on stderr
// "threadleak: INPUT: ..." that contains `words`.
void expect_one_line_error(const Result& r, const std::string& input, const std::string& words);

// Dumps a live process with gcore into dir; returns the core's path.
std::string gcore(pid_t pid, const std::string& dir);

// Two gcore'd cores of the leak sample (samples/cpp/leak, started with
// `args`, e.g. {"--requests", "3"}): one when it is ready, one after the
// stdin command `then` (e.g. "more 5") is answered.
struct TwoCores {
  std::string before, after;
};
TwoCores leak_cores(const std::vector<std::string>& args, const std::string& then);

// eu-stack -i --core CORE -e EXE: each thread's pcs, innermost first
// (inlined calls repeat their pc, as threadleak's snapshot frames do).
std::map<int, std::vector<std::uint64_t>> eu_stack_pcs(const std::string& core, const std::string& exe);
// `threadleak snapshot CORE`: each thread's frame pcs, innermost first.
std::map<int, std::vector<std::uint64_t>> snapshot_pcs(const std::string& core);

// `threadleak ARGS... --json`, asserting the exit status; returns the parsed JSON.
nlohmann::json threadleak_json(const std::vector<std::string>& args, int expect_status = 0,
                               const std::vector<std::string>& env = {});

// The first frame of the program's own code that is not an inlined call.
std::string own_function(const nlohmann::json& frames);

// A group summary "COUNT STATE OWN_FUNCTION", for exact comparisons.
std::vector<std::string> group_summaries(const nlohmann::json& groups);

// True when no thread of pid is stopped or traced (TracerPid 0, state not t/T).
bool all_threads_running_untraced(pid_t pid, std::string* why = nullptr);

}  // namespace tl_test
