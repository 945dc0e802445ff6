// `threadleak watch` on live samples: growth reported after the leak grows,
// a clean stop on SIGINT, and the target left running and untraced.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "harness.hpp"

using tl_test::Proc;

namespace {

// `threadleak watch ...` with stdout on a pipe (read through a Proc-like
// reader) and stderr to a file; the test decides when to stop it.
class Watch {
 public:
  Watch(const std::vector<std::string>& args, const std::string& err_path) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      int e = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(e, 2);
      std::vector<std::string> argv{tl_test::threadleak_bin(), "watch"};
      argv.insert(argv.end(), args.begin(), args.end());
      std::vector<char*> v;
      for (auto& a : argv) v.push_back(a.data());
      v.push_back(nullptr);
      ::execv(v[0], v.data());
      std::_Exit(127);
    }
    ::close(out[1]);
    out_ = out[0];
  }
  ~Watch() {
    if (pid_ > 0) { ::kill(pid_, SIGKILL); ::waitpid(pid_, nullptr, 0); }
    ::close(out_);
  }
  // The next line containing `needle` (others are kept in `seen`).
  std::string until(const std::string& needle, int timeout_s = 60) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
      auto nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        seen.push_back(line);
        if (line.find(needle) != std::string::npos) return line;
        continue;
      }
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      char b[4096];
      ssize_t n = ::read(out_, b, sizeof b);
      if (n <= 0) break;
      buf_.append(b, static_cast<std::size_t>(n));
    }
    ADD_FAILURE() << "no line with '" << needle << "'";
    return {};
  }
  // Sends `sig` and returns the exit status (-1 if it did not exit in time).
  int stop(int sig, int timeout_s = 30) {
    ::kill(pid_, sig);
    for (int i = 0; i < timeout_s * 100; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }
  std::vector<std::string> seen;

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string buf_;
};

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  return {std::istreambuf_iterator<char>(f), {}};
}

}  // namespace

TEST(Watch, ReportsTheLeakAfterGrowthAndStopsCleanlyOnSigint) {
  Proc p({tl_test::sample_bin("leak"), "--requests", "2"});
  EXPECT_EQ(p.expect("ready"), "ready 3");
  std::string dir = tl_test::temp_dir();
  std::string pid = std::to_string(p.pid());
  Watch w({"--pid", pid, "--interval", "200ms", "--window", "3", "-o", dir + "/snaps"}, dir + "/err");
  w.until("snapshot 2: 3 threads in 2 groups");
  for (const auto& l : w.seen) EXPECT_EQ(l.find("GREW"), std::string::npos) << l;  // nothing grew yet
  p.send("more 3");
  EXPECT_EQ(p.expect("ready"), "ready 6");
  // Snapshots taken mid-request may catch short-lived threads; the leak's line is what counts.
  std::string grew = w.until("in state sleep: (anonymous namespace)::get_resource_b(");
  EXPECT_NE(grew.find(" GREW +"), std::string::npos) << grew;
  w.until(": 6 threads in 2 groups");  // still watching, the leak settled
  EXPECT_EQ(w.stop(SIGINT), 1);  // exit 1: growth was reported
  EXPECT_NE(read_file(dir + "/err").find("watch stopped by SIGINT after"), std::string::npos) << read_file(dir + "/err");
  std::string why;
  EXPECT_TRUE(tl_test::all_threads_running_untraced(p.pid(), &why)) << why;
  p.send("more 1");
  EXPECT_EQ(p.expect("ready"), "ready 7");  // the target still serves
  // Saved snapshots diff like any other: the first against the last grew.
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/snaps")) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 3u);
  EXPECT_EQ(files.front(), dir + "/snaps/" + pid + "-0001.json");
  auto j = tl_test::threadleak_json({"diff", files.front(), files.back()}, 1);
  ASSERT_EQ(j.at("grown").size(), 1u);
  EXPECT_EQ(j.at("grown")[0].at("current"), 5);
}

TEST(Watch, SteadyProcessCountStopsWithoutReports) {
  Proc p({tl_test::sample_bin("park"), "--condvar", "2", "--sleep", "2"});
  EXPECT_EQ(p.expect("ready"), "ready 5");
  auto r = tl_test::run({tl_test::threadleak_bin(), "watch", "--pid", std::to_string(p.pid()), "--interval",
                         "50ms", "--count", "3"}, 60);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3) << r.out;
  EXPECT_NE(r.out.find("snapshot 3: 5 threads in 3 groups"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("GREW"), std::string::npos);
  std::string why;
  EXPECT_TRUE(tl_test::all_threads_running_untraced(p.pid(), &why)) << why;
  auto bad = tl_test::run({tl_test::threadleak_bin(), "watch", "--pid", std::to_string(p.pid()), "--interval", "soon"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_EQ(bad.err, "threadleak: --interval soon: expected e.g. 30s, 500ms, 2m\n");
}

// `watch --expect FILE`: a known group that grows within its limit is not
// reported and the exit status is 0; over its limit, the GREW line names the
// limit and the file's line, and the status is 1. The main thread and the
// request's short-lived helper are ignored by the file itself, so a snapshot
// taken mid-request cannot show another group growing.
TEST(Watch, ExpectationsFileKnowsTheGroupUntilItOutgrowsItsLimit) {
  Proc p({tl_test::sample_bin("leak"), "--requests", "1"});
  EXPECT_EQ(p.expect("ready"), "ready 2");
  std::string dir = tl_test::temp_dir();
  const std::string ns = "(anonymous namespace)::";
  const std::string ignore = "[ignore]\nany = [\"" + ns + "wait_for_command\", \"" + ns + "get_resource_a\"]\n\n";
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + "/" + name) << text;
    return dir + "/" + name;
  };
  std::string roomy = write("roomy.toml", ignore + "[[group]]\nfunction = \"" + ns + "get_resource_b\"\nmax_growth = 10\n");
  std::string tight = write("tight.toml", ignore + "[[group]]\nfunction = \"" + ns + "get_resource_b\"\nmax_growth = 1\n");
  int threads = 2;
  // One watch while the sample serves 3 more requests; the exit status after SIGINT.
  auto watch_three_more = [&](const std::string& file, const std::string& err) {
    Watch w({"--pid", std::to_string(p.pid()), "--interval", "150ms", "--window", "5", "--expect", file}, err);
    w.until("snapshot 2: " + std::to_string(threads) + " threads");
    p.send("more 3");
    threads += 3;
    EXPECT_EQ(p.expect("ready"), "ready " + std::to_string(threads));
    std::string settled = w.until(": " + std::to_string(threads) + " threads");
    if (settled.find("snapshot ") == std::string::npos) return std::make_pair(-1, w.seen);
    w.until(" snapshot " + std::to_string(std::stoi(settled.substr(settled.find("snapshot ") + 9)) + 1) + ":");  // one more after it
    int status = w.stop(SIGINT);
    return std::make_pair(status, w.seen);
  };

  auto [roomy_status, roomy_seen] = watch_three_more(roomy, dir + "/roomy.err");
  EXPECT_EQ(roomy_status, 0);
  for (const auto& l : roomy_seen) EXPECT_EQ(l.find("GREW"), std::string::npos) << l;

  auto [tight_status, tight_seen] = watch_three_more(tight, dir + "/tight.err");
  EXPECT_EQ(tight_status, 1);
  auto grew = std::find_if(tight_seen.begin(), tight_seen.end(),
                           [](const std::string& l) { return l.find("GREW") != std::string::npos; });
  ASSERT_NE(grew, tight_seen.end());
  EXPECT_NE(grew->find("in state sleep: (anonymous namespace)::get_resource_b("), std::string::npos) << *grew;
  EXPECT_NE(grew->find("(over max_growth 1, " + tight + ":4)"), std::string::npos) << *grew;
  std::string why;
  EXPECT_TRUE(tl_test::all_threads_running_untraced(p.pid(), &why)) << why;
}
