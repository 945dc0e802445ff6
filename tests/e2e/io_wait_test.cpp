// What I/O threads wait on (issue 16 item 3): the io_wait sample blocks
// threads on a pipe, a TCP socket to its own listener, an abstract UNIX
// socket, an accepting listener, an epoll set (a pipe and a UDP socket),
// a poll set and a select set. Live: every descriptor's resolved endpoint,
// exactly, in `stacks --pid` (JSON and text) and in a `snapshot --pid`
// file. Core: descriptors are not in a core, said once.
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "schema_check.hpp"

using nlohmann::json;
using tl_test::Proc;

namespace {

// "ready pipe=5:1234 recv=..." -> {"pipe": ["5", "1234"], ...}
std::map<std::string, std::vector<std::string>> parse_ready(const std::string& line) {
  std::map<std::string, std::vector<std::string>> out;
  std::istringstream in(line);
  std::string word;
  in >> word;
  while (in >> word) {
    auto eq = word.find('=');
    std::vector<std::string> parts;
    std::istringstream vs(word.substr(eq + 1));
    for (std::string p; std::getline(vs, p, ':');) parts.push_back(p);
    out[word.substr(0, eq)] = parts;
  }
  return out;
}

json fd(const std::string& n, const std::string& kind, const std::string& description) {
  return {{"fd", std::stoi(n)}, {"kind", kind}, {"description", description}};
}

// The other end of a socket, held by fd `peer_fd` of the sample itself.
json to_self(json d, int pid, const std::string& peer_fd) {
  json one = {{"pid", pid}, {"comm", "io_wait"}, {"fd", std::stoi(peer_fd)}};
  d["peers"] = json::array();
  d["peers"].push_back(one);
  return d;
}

json watched(json d, const std::string& epfd) {
  d["watched_by"] = std::stoi(epfd);
  return d;
}

// The descriptor set each sample function's threads wait on, from its ready line.
std::map<std::string, json> expected_sets(const std::string& ready, int pid) {
  auto r = parse_ready(ready);
  auto pipe = [](const std::string& ino) { return "pipe:[" + ino + "]"; };
  const auto &p = r.at("pipe"), &rv = r.at("recv"), &u = r.at("unix"), &a = r.at("accept"), &e = r.at("epoll"),
             &po = r.at("poll"), &s = r.at("select");
  const std::string& served = r.at("served").at(0);
  EXPECT_EQ(u.at(1), "@threadleak-io-wait." + std::to_string(pid));
  return {
      {"wait_pipe", json::array({fd(p[0], "pipe", pipe(p[1]))})},
      {"wait_recv", json::array({to_self(fd(rv[0], "tcp", "127.0.0.1:" + rv[1] + " -> 127.0.0.1:" + rv[2] + " ESTABLISHED"),
                                         pid, served)})},
      {"wait_unix", json::array({to_self(fd(u[0], "unix", "stream " + u[1] + " CONNECTED"), pid, po[2])})},
      {"wait_accept", json::array({fd(a[0], "tcp", "127.0.0.1:" + a[1] + " LISTEN")})},
      {"wait_epoll", json::array({fd(e[0], "epoll", "anon_inode:[eventpoll]"),
                                  watched(fd(e[1], "pipe", pipe(e[2])), e[0]),
                                  watched(fd(e[3], "udp", "127.0.0.1:" + e[4]), e[0])})},
      {"wait_poll", json::array({fd(po[0], "pipe", pipe(po[1])),
                                 to_self(fd(po[2], "unix", "stream unnamed CONNECTED"), pid, u[0])})},
      {"wait_select", json::array({fd(s[0], "pipe", pipe(s[1]))})},
  };
}

// The main thread reads its stdin: the harness's pipe.
void expect_stdin(const json& descriptors) {
  ASSERT_EQ(descriptors.size(), 1u) << descriptors.dump();
  EXPECT_EQ(descriptors[0].at("fd"), 0);
  EXPECT_EQ(descriptors[0].at("kind"), "pipe");
  EXPECT_EQ(descriptors[0].at("description").get<std::string>().rfind("pipe:[", 0), 0u);
}

// "(anonymous namespace)::wait_recv(int)" -> "wait_recv".
std::string short_name(std::string fn) {
  fn = fn.substr(0, fn.find('('));
  auto colons = fn.rfind("::");
  return colons == std::string::npos ? fn : fn.substr(colons + 2);
}

// The sample function a stack parks in: its first own frame named wait_*
// (or main). A Debug build keeps retry() and its lambda as frames of their
// own above it.
std::string own_name(const json& frames) {
  auto name = [](std::string fn) {
    return short_name(fn.rfind("(anonymous namespace)::", 0) == 0 ? fn.substr(23) : fn);
  };
  for (const auto& f : frames) {
    if (!f.value("own_code", false)) continue;
    std::string s = name(f.value("function", ""));
    if (s.rfind("wait_", 0) == 0 || s == "main") return s;
  }
  return name(tl_test::own_function(frames));
}

constexpr int kRecvThreads = 3;

std::map<std::string, int> expected_counts() {
  return {{"wait_pipe", 1}, {"wait_recv", kRecvThreads}, {"wait_unix", 1}, {"wait_accept", 1},
          {"wait_epoll", 1}, {"wait_poll", 1}, {"wait_select", 1}, {"main", 1}};
}

struct Sample {
  Proc proc{{tl_test::sample_bin("io_wait"), "--recv", std::to_string(kRecvThreads)}};
  std::string ready = proc.expect("ready");
  std::map<std::string, json> sets = expected_sets(ready, proc.pid());
  std::string pid = std::to_string(proc.pid());
};

}  // namespace

TEST(LiveDescriptors, StacksJsonResolvesEveryEndpoint) {
  Sample s;
  s.proc.wait_reading_stdin();
  std::string dir = tl_test::temp_dir();
  std::string path = tl_test::save_json(dir, "stacks.json", {"stacks", "--pid", s.pid}, 0);
  json j = tl_test::read_json(path);
  std::map<std::string, int> counts;
  for (const auto& g : j.at("groups")) {
    std::string fn = own_name(g.at("frames"));
    counts[fn] = g.at("count");
    ASSERT_TRUE(g.contains("waits_on")) << fn;
    ASSERT_EQ(g.at("waits_on").size(), 1u) << fn << ": " << g.at("waits_on").dump();
    const json& w = g.at("waits_on")[0];
    EXPECT_EQ(w.at("members"), g.at("members")) << fn;
    if (fn == "main") expect_stdin(w.at("descriptors"));
    else EXPECT_EQ(w.at("descriptors"), s.sets.at(fn)) << fn;
  }
  EXPECT_EQ(counts, expected_counts());
  EXPECT_FALSE(j.contains("notes"));
  tl_test::expect_valid({path});
  std::string why;
  EXPECT_TRUE(tl_test::all_threads_running_untraced(s.proc.pid(), &why)) << why;
}

TEST(LiveDescriptors, TextShowsOneLinePerGroup) {
  Sample s;
  s.proc.wait_reading_stdin();
  auto r = tl_test::run({tl_test::threadleak_bin(), "stacks", "--pid", s.pid});
  ASSERT_EQ(r.status, 0) << r.err;
  auto rv = parse_ready(s.ready).at("recv");
  auto e = parse_ready(s.ready).at("epoll");
  std::string recv_line = "    3 threads in recvfrom on tcp 127.0.0.1:" + rv[1] + " -> 127.0.0.1:" + rv[2] +
                          " ESTABLISHED (fd " + rv[0] + ") to pid " + s.pid + " (io_wait) fd " +
                          parse_ready(s.ready).at("served").at(0) + "\n";
  EXPECT_NE(r.out.find(recv_line), std::string::npos) << r.out;
  std::string epoll_line = "    1 thread in epoll_wait on epoll fd " + e[0] + " watching 2 fds: pipe:[" + e[2] +
                           "] (fd " + e[1] + "), udp 127.0.0.1:" + e[4] + " (fd " + e[3] + ")\n";
  EXPECT_NE(r.out.find(epoll_line), std::string::npos) << r.out;
}

TEST(LiveDescriptors, SnapshotFileKeepsThem) {
  Sample s;
  s.proc.wait_reading_stdin();
  // A capture before: the poll thread, interrupted by it, has been waiting
  // in restart_syscall since (its arguments still in its registers).
  ASSERT_EQ(tl_test::run({tl_test::threadleak_bin(), "stacks", "--pid", s.pid}).status, 0);
  std::string dir = tl_test::temp_dir();
  std::string snap = tl_test::save_snapshot(dir, "snap.json", {"--pid", s.pid});
  tl_test::expect_valid({snap});
  json file = tl_test::read_json(snap);
  // Per thread: the stack's own function -> the thread's descriptors.
  std::map<std::string, int> seen;
  json stacks = file.at("stacks"), frames = file.at("frames");
  for (const auto& t : file.at("threads")) {
    json fs = json::array();
    for (const auto& i : stacks.at(t.at("stack").get<std::size_t>())) fs.push_back(frames.at(i.get<std::size_t>()));
    std::string fn = own_name(fs);
    ++seen[fn];
    ASSERT_TRUE(t.contains("descriptors")) << fn;
    if (fn == "main") expect_stdin(t.at("descriptors"));
    else EXPECT_EQ(t.at("descriptors"), s.sets.at(fn)) << fn;
  }
  EXPECT_EQ(seen, expected_counts());
  // Read back: the groups of the file carry them too.
  json again = tl_test::threadleak_json({"stacks", snap});
  for (const auto& g : again.at("groups")) {
    std::string fn = own_name(g.at("frames"));
    if (fn == "main") continue;
    EXPECT_EQ(g.at("waits_on")[0].at("descriptors"), s.sets.at(fn)) << fn;
  }
}

TEST(CoreDescriptors, ACoreSaysOnceThatItHasNone) {
  Sample s;
  s.proc.wait_reading_stdin();
  std::string core = tl_test::gcore(s.proc.pid(), tl_test::temp_dir());
  s.proc.kill_now();
  json j = tl_test::threadleak_json({"stacks", core});
  EXPECT_EQ(j.at("notes"), json::array({"10 threads are in I/O calls (read, recv, accept, poll, epoll_wait, ...): "
                                        "what their descriptors are is not in a core; `threadleak snapshot --pid "
                                        "PID` of the running process resolves them"}));
  for (const auto& g : j.at("groups")) EXPECT_FALSE(g.contains("waits_on"));
  auto r = tl_test::run({tl_test::threadleak_bin(), "stacks", core});
  EXPECT_NE(r.out.find("\nnote: 10 threads are in I/O calls"), std::string::npos) << r.out;
}

// Members of one group on different descriptors: one line per distinct
// set, the first four shown.
TEST(LiveDescriptors, DistinctEndpointsAreSummarized) {
  Proc p({tl_test::sample_bin("io_wait"), "--conns", "5"});
  std::string ready = p.expect("ready");
  p.wait_reading_stdin();
  json j = tl_test::threadleak_json({"stacks", "--pid", std::to_string(p.pid())});
  std::string listen_port = parse_ready(ready).at("recv").at(2);
  bool seen = false;
  for (const auto& g : j.at("groups")) {
    if (own_name(g.at("frames")) != "wait_conn") continue;
    seen = true;
    ASSERT_EQ(g.at("count"), 5);
    ASSERT_EQ(g.at("waits_on").size(), 5u);
    for (const auto& w : g.at("waits_on")) {
      ASSERT_EQ(w.at("members").size(), 1u);
      ASSERT_EQ(w.at("descriptors").size(), 1u);
      std::string d = w.at("descriptors")[0].at("description");
      EXPECT_EQ(w.at("descriptors")[0].at("kind"), "tcp");
      EXPECT_EQ(d.substr(d.find(" -> ")), " -> 127.0.0.1:" + listen_port + " ESTABLISHED") << d;
    }
  }
  EXPECT_TRUE(seen);
  auto r = tl_test::run({tl_test::threadleak_bin(), "stacks", "--pid", std::to_string(p.pid())});
  auto at = r.out.find("    5 threads in recvfrom on 5 distinct descriptor sets:\n");
  ASSERT_NE(at, std::string::npos) << r.out;
  std::istringstream lines(r.out.substr(at));
  std::string line;
  std::getline(lines, line);
  for (int i = 0; i < 4; ++i) {
    std::getline(lines, line);
    EXPECT_EQ(line.rfind("      1 on tcp 127.0.0.1:", 0), 0u) << line;
  }
  std::getline(lines, line);
  EXPECT_EQ(line, "      ... 1 more sets (--json lists them)");
}
