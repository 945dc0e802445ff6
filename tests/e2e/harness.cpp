#include "harness.hpp"

#include <sstream>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <thread>

#include <gtest/gtest.h>

namespace tl_test {
namespace fs = std::filesystem;

std::string threadleak_bin() { return THREADLEAK_BIN; }
std::string sample_bin(const std::string& name) { return std::string(SAMPLES_DIR) + "/" + name; }

std::string temp_dir() {
  static int counter = 0;
  fs::path base = fs::path(TEST_WORK_DIR) / ("t" + std::to_string(::getpid()));
  fs::path p = base / std::to_string(++counter);
  fs::remove_all(p);
  fs::create_directories(p);
  static struct Cleanup {
    fs::path dir;
    ~Cleanup() { std::error_code ec; fs::remove_all(dir, ec); }
  } cleanup{base};
  return p.string();
}

namespace {
std::vector<char*> c_argv(const std::vector<std::string>& argv) {
  std::vector<char*> v;
  for (const auto& a : argv) v.push_back(const_cast<char*>(a.c_str()));
  v.push_back(nullptr);
  return v;
}

// The test's environment with `extra` ("NAME=VALUE") added or replacing.
std::vector<std::string> environment_with(const std::vector<std::string>& extra) {
  std::vector<std::string> env(extra);
  for (char** e = environ; *e; ++e) {
    std::string_view var(*e);
    bool replaced = false;
    for (const auto& x : extra) replaced |= var.substr(0, var.find('=') + 1) == x.substr(0, x.find('=') + 1);
    if (!replaced) env.emplace_back(var);
  }
  return env;
}

}  // namespace

Proc::Proc(const std::vector<std::string>& argv, const ProcOptions& options) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  auto v = c_argv(argv);
  auto env_strings = environment_with(options.env);
  auto env = c_argv(env_strings);
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    if (!options.stderr_path.empty()) {
      int e = ::open(options.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (e >= 0) ::dup2(e, 2);
    }
    ::execve(v[0], v.data(), env.data());
    std::_Exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  in_ = in[1];
  out_ = out[0];
}

Proc::~Proc() {
  kill_now();
  if (in_ >= 0) ::close(in_);
  if (out_ >= 0) ::close(out_);
}

void Proc::kill_now() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

int Proc::wait_exit(int timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) != pid_) {
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "pid " << pid_ << " still running after " << timeout_s << " s";
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string Proc::read_line(int timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  for (;;) {
    auto nl = buf_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ADD_FAILURE() << "timed out waiting for a line from pid " << pid_;
      return {};
    }
    pollfd p{out_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(out_, buf, sizeof buf);
    if (n <= 0) {
      ADD_FAILURE() << "pid " << pid_ << " closed its stdout";
      return {};
    }
    buf_.append(buf, static_cast<std::size_t>(n));
  }
}

std::string Proc::expect(const std::string& prefix, int timeout_s) {
  for (int i = 0; i < 1000; ++i) {
    std::string line = read_line(timeout_s);
    if (line.rfind(prefix, 0) == 0) return line;
    if (line.empty() && ::testing::Test::HasFailure()) return {};
  }
  return {};
}

void Proc::wait_reading_stdin(int timeout_s) {
  // /proc/PID/syscall of the main thread: "0 0x0 ..." is read(0, ...).
  std::string path = "/proc/" + std::to_string(pid_) + "/syscall";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream f(path);
    std::string line;
    std::getline(f, line);
    if (line.rfind("0 0x0 ", 0) == 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ADD_FAILURE() << "pid " << pid_ << ": main thread not back in read(0) after " << timeout_s << " s";
}

void Proc::send(const std::string& line) {
  std::string l = line + "\n";
  if (::write(in_, l.data(), l.size()) != static_cast<ssize_t>(l.size())) ADD_FAILURE() << "write to sample";
}

Result run(const std::vector<std::string>& argv, int timeout_s, const std::vector<std::string>& env) {
  std::string dir = temp_dir();
  std::string out = dir + "/stdout", err = dir + "/stderr";
  auto v = c_argv(argv);
  auto env_strings = environment_with(env);
  auto envp = c_argv(env_strings);
  pid_t pid = ::fork();
  if (pid == 0) {
    int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(o, 1);
    ::dup2(e, 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    ::execvpe(v[0], v.data(), envp.data());
    std::_Exit(127);
  }
  Result r;
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  for (;;) {
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      ADD_FAILURE() << argv[0] << " timed out after " << timeout_s << " s";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream fo(out), fe(err);
  r.out.assign(std::istreambuf_iterator<char>(fo), {});
  r.err.assign(std::istreambuf_iterator<char>(fe), {});
  return r;
}

std::string gcore(pid_t pid, const std::string& dir) {
  std::string prefix = dir + "/core";
  Result r = run({"gcore", "-o", prefix, std::to_string(pid)});
  std::string path = prefix + "." + std::to_string(pid);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::exists(path)) << r.out << r.err;
  return path;
}

TwoCores leak_cores(const std::vector<std::string>& args, const std::string& then) {
  std::vector<std::string> argv{sample_bin("leak")};
  argv.insert(argv.end(), args.begin(), args.end());
  Proc p(argv);
  p.expect("ready");
  TwoCores c;
  c.before = gcore(p.pid(), temp_dir());
  p.send(then);
  p.expect("ready");
  c.after = gcore(p.pid(), temp_dir());
  return c;
}

std::map<int, std::vector<std::uint64_t>> eu_stack_pcs(const std::string& core, const std::string& exe) {
  Result r = run({"eu-stack", "-i", "--core", core, "-e", exe});
  EXPECT_TRUE(r.status == 0 || r.status == 1) << r.err;  // 1: some thread's unwind ended with an error
  std::map<int, std::vector<std::uint64_t>> out;
  std::istringstream in(r.out);
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
      out[tid].push_back(std::stoull(pc, nullptr, 16));
    }
  }
  return out;
}

std::map<int, std::vector<std::uint64_t>> snapshot_pcs(const std::string& core) {
  Result r = run({threadleak_bin(), "snapshot", core, "-o", "-"});
  EXPECT_EQ(r.status, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  std::map<int, std::vector<std::uint64_t>> out;
  if (j.is_discarded()) return out;
  const auto& frames = j.at("frames");
  for (const auto& t : j.at("threads")) {
    auto& pcs = out[t.at("tid").get<int>()];
    for (const auto& i : j.at("stacks").at(t.at("stack").get<std::size_t>()))
      pcs.push_back(std::stoull(frames.at(i.get<std::size_t>()).at("pc").get<std::string>(), nullptr, 16));
  }
  return out;
}

nlohmann::json threadleak_json(const std::vector<std::string>& args, int expect_status,
                               const std::vector<std::string>& env) {
  std::vector<std::string> argv{threadleak_bin()};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--json");
  Result r = run(argv, 120, env);
  EXPECT_EQ(r.status, expect_status) << "stderr: " << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << r.out << r.err;
  return j;
}

std::string own_function(const nlohmann::json& frames) {
  for (const auto& f : frames)
    if (f.value("own_code", false) && !f.value("inlined", false)) return f.value("function", "");
  return "";
}

std::vector<std::string> group_summaries(const nlohmann::json& groups) {
  std::vector<std::string> out;
  for (const auto& g : groups)
    out.push_back(std::to_string(g.at("count").get<int>()) + " " + g.at("state").get<std::string>() +
                  " " + own_function(g.at("frames")));
  return out;
}

bool all_threads_running_untraced(pid_t pid, std::string* why) {
  std::string task = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = ::opendir(task.c_str());
  if (!d) { if (why) *why = "no such process"; return false; }
  bool ok = true;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream st(task + "/" + e->d_name + "/status");
    std::string line;
    while (std::getline(st, line)) {
      bool bad = (line.rfind("TracerPid:", 0) == 0 && std::atoi(line.c_str() + 10) != 0) ||
                 (line.rfind("State:", 0) == 0 && line.size() > 7 && (line[7] == 't' || line[7] == 'T'));
      if (bad) { ok = false; if (why) *why = std::string("thread ") + e->d_name + ": " + line; }
    }
  }
  ::closedir(d);
  return ok;
}

void expect_one_line_error(const Result& r, const std::string& input, const std::string& words) {
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("threadleak: " + input + ": ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(words), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

}  // namespace tl_test
