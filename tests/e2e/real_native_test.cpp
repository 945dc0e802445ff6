// Native programs no one here wrote, as Debian ships them (stripped: their
// own symbols come only from .dynsym; glibc's from libc6-dbg):
// - memcached 1.6.18 (C, libevent, worker and background threads): a core's
//   frames, thread by thread, equal eu-stack's on the same core; its groups
//   and their fingerprints; live, the listening socket is named and the
//   server still answers afterwards.
// - Debian's python3 running a service that leaks a thread per request (each
//   waits on a queue nobody fills): `diff` of two cores grows by exactly the
//   requests made, in the group parked in PyThread_acquire_lock_timed.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kMemcached = "/usr/bin/memcached";
constexpr const char* kPython = "/usr/bin/python3";

std::vector<std::string> functions(const json& group) {
  std::vector<std::string> out;
  for (const auto& f : group.at("frames")) out.push_back(f.value("function", ""));
  return out;
}

bool has_function(const json& group, const std::string& fn) {
  auto fns = functions(group);
  return std::find(fns.begin(), fns.end(), fn) != fns.end();
}

// Waits until `pid` has `n` threads and every one but the main thread sits
// in system call `nr` (202 futex, 232 epoll_wait ...) or in one of `also`.
void wait_settled(pid_t pid, std::size_t n, std::set<int> nrs) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::string why;
  while (std::chrono::steady_clock::now() < deadline) {
    std::size_t count = 0, settled = 0;
    for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
      ++count;
      std::ifstream f(e.path() / "syscall");
      int nr = -1;
      f >> nr;
      if (nrs.count(nr)) ++settled;
    }
    if (count == n && settled == n) return;
    why = std::to_string(count) + " threads, " + std::to_string(settled) + " settled";
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ADD_FAILURE() << "pid " << pid << " did not settle: " << why;
}

// memcached answers "version" on its UNIX socket.
std::string ask_version(const std::string& sock) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", sock.c_str());
  std::string answer;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && write(fd, "version\r\n", 9) == 9) {
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) answer.assign(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  return answer;
}

// memcached with 4 workers on a UNIX socket in `dir` (no TCP, no UDP),
// settled: 10 threads, each in epoll_wait (232), futex (202) or a sleep (230
// clock_nanosleep, 35 nanosleep).
std::unique_ptr<tl_test::Proc> start_memcached(const std::string& sock) {
  auto p = std::make_unique<tl_test::Proc>(
      std::vector<std::string>{kMemcached, "-u", "root", "-p", "0", "-U", "0", "-s", sock, "-t", "4"});
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!fs::exists(sock) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  wait_settled(p->pid(), 10, {232, 202, 230, 35});
  return p;
}

#define REQUIRE_PROGRAM(path)                                                                 \
  if (access(path, X_OK) != 0) GTEST_SKIP() << path << " is missing: run scripts/install-deps.sh"

}  // namespace

TEST(RealNative, MemcachedCoreFramesEqualEuStacksThreadByThread) {
  REQUIRE_PROGRAM(kMemcached);
  std::string dir = tl_test::temp_dir();
  auto mc = start_memcached(dir + "/mc.sock");
  std::string core = tl_test::gcore(mc->pid(), dir);
  auto ours = tl_test::snapshot_pcs(core), theirs = tl_test::eu_stack_pcs(core, kMemcached);
  ASSERT_EQ(ours.size(), 10u);
  ASSERT_EQ(theirs.size(), ours.size());
  std::size_t frames = 0;
  for (const auto& [tid, pcs] : ours) {
    ASSERT_TRUE(theirs.count(tid)) << "eu-stack has no thread " << tid;
    EXPECT_EQ(pcs, theirs[tid]) << "thread " << tid;
    frames += pcs.size();
  }
  EXPECT_GE(frames, 50u);  // every thread unwound past its own code to start_thread or main

  // The groups: 4 libevent workers in one, the other threads each their own
  // stack; no two different stacks share a fingerprint, though most of
  // memcached's own frames have no name.
  json j = tl_test::threadleak_json({"stacks", core});
  const auto& groups = j.at("groups");
  ASSERT_EQ(groups.size(), 7u) << groups.dump(1);
  std::set<std::string> fps;
  std::map<std::string, int> per_state;
  for (const auto& g : groups) {
    fps.insert(g.at("fingerprint").get<std::string>());
    per_state[g.at("state").get<std::string>()] += g.at("count").get<int>();
  }
  EXPECT_EQ(fps.size(), groups.size());
  EXPECT_EQ(per_state, (std::map<std::string, int>{{"poll", 5}, {"condvar", 4}, {"sleep", 1}}));
  const json& workers = groups[0];
  EXPECT_EQ(workers.at("count"), 4);
  EXPECT_EQ(workers.at("state"), "poll");
  auto fns = functions(workers);
  ASSERT_GE(fns.size(), 5u);
  EXPECT_EQ(fns.front(), "epoll_wait");
  EXPECT_TRUE(has_function(workers, "event_base_loop"));  // libevent's exported loop
  EXPECT_EQ(fns[fns.size() - 2], "start_thread");
  for (const auto& g : groups) {
    if (g.at("state") != "condvar") continue;
    EXPECT_TRUE(has_function(g, "pthread_cond_wait")) << g.dump(1);
  }
}

TEST(RealNative, MemcachedLiveNamesItsSocketAndKeepsServing) {
  REQUIRE_PROGRAM(kMemcached);
  std::string dir = tl_test::temp_dir(), sock = dir + "/mc.sock";
  auto mc = start_memcached(sock);
  ASSERT_EQ(ask_version(sock).rfind("VERSION 1.", 0), 0u);
  json j = tl_test::threadleak_json({"stacks", "--pid", std::to_string(mc->pid())});
  EXPECT_EQ(j.at("process").at("total"), 10);
  // The main thread waits in epoll_wait on the listening socket.
  int listening = 0;
  for (const auto& g : j.at("groups"))
    for (const auto& w : g.value("waits_on", json::array()))
      for (const auto& d : w.at("descriptors"))
        if (d.at("kind") == "unix" && d.at("description") == "stream " + sock + " LISTEN") {
          EXPECT_EQ(g.at("start_kind"), "main");
          EXPECT_EQ(g.at("state"), "poll");
          ++listening;
        }
  EXPECT_EQ(listening, 1) << j.dump(1);
  std::string why;
  EXPECT_TRUE(tl_test::all_threads_running_untraced(mc->pid(), &why)) << why;
  EXPECT_EQ(ask_version(sock).rfind("VERSION 1.", 0), 0u);
}

// A Python service that starts a thread per request; each waits for a reply
// on its own queue that nobody fills: the classic leak, in Debian's stripped
// interpreter.
TEST(RealNative, PythonThreadLeakGrowsByTheRequestsMade) {
  REQUIRE_PROGRAM(kPython);
  std::string dir = tl_test::temp_dir(), script = dir + "/leaky.py";
  std::ofstream(script) << "import sys, threading, queue\n"
                           "def handle(q):\n"
                           "    q.get()\n"
                           "def serve(n):\n"
                           "    for _ in range(n):\n"
                           "        threading.Thread(target=handle, args=(queue.Queue(),), daemon=True).start()\n"
                           "serve(3)\n"
                           "print('ready', flush=True)\n"
                           "for line in sys.stdin:\n"
                           "    serve(int(line))\n"
                           "    print('served', flush=True)\n";
  tl_test::Proc py({kPython, script});
  py.expect("ready");
  py.wait_reading_stdin();
  wait_settled(py.pid(), 4, {0, 202});
  std::string before = tl_test::gcore(py.pid(), tl_test::temp_dir());
  py.send("5");
  py.expect("served");
  py.wait_reading_stdin();
  wait_settled(py.pid(), 9, {0, 202});
  std::string after = tl_test::gcore(py.pid(), tl_test::temp_dir());

  json d = tl_test::threadleak_json({"diff", before, after}, 1);
  EXPECT_EQ(d.at("baseline_total"), 4);
  EXPECT_EQ(d.at("current_total"), 9);
  ASSERT_EQ(d.at("grown").size(), 1u) << d.dump(1);
  const json& g = d.at("grown")[0];
  EXPECT_EQ(g.at("baseline"), 3);
  EXPECT_EQ(g.at("current"), 8);
  EXPECT_EQ(g.at("new_members").size(), 5u);
  auto fns = functions(g);
  ASSERT_GE(fns.size(), 4u);
  EXPECT_EQ(fns.front(), "__futex_abstimed_wait_common64");
  EXPECT_TRUE(has_function(g, "PyThread_acquire_lock_timed"));  // from python3.11's .dynsym
  EXPECT_EQ(fns[fns.size() - 2], "start_thread");

  // The frames of the second core equal eu-stack's, thread by thread.
  auto ours = tl_test::snapshot_pcs(after), theirs = tl_test::eu_stack_pcs(after, fs::canonical(kPython));
  ASSERT_EQ(ours.size(), 9u);
  for (const auto& [tid, pcs] : ours) EXPECT_EQ(pcs, theirs[tid]) << "thread " << tid;
}
