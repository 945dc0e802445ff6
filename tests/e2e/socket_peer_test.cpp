// Who is at the other end of a socket a thread waits on (Descriptor::peers,
// docs/descriptors.md): real processes on both ends, the peer named by its
// exact pid, comm and fd in JSON, text and snapshot files.
//   - io_wait --peer-child: a UNIX socketpair, the other end in a forked child;
//   - a python3 client in recv on memcached's UNIX socket, and memcached's
//     worker in epoll_wait on that connection, each naming the other;
//   - a python3 client in recv on TCP to a python3 server (IPv4, IPv6, and
//     an IPv4 client of a dual-stack IPv6 server);
//   - io_wait --peer-gone: the process that held the peer exited (its
//     socket lives on, in flight): no peer named, no error.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "schema_check.hpp"

using nlohmann::json;
using tl_test::Proc;

namespace {

namespace fs = std::filesystem;
constexpr const char* kMemcached = "/usr/bin/memcached";
constexpr const char* kPython = "/usr/bin/python3";

std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// "ready a=1:2 b=3" -> value of `key` split at ':'.
std::vector<std::string> ready_value(const std::string& line, const std::string& key) {
  for (const std::string& w : words(line))
    if (w.rfind(key + "=", 0) == 0) {
      std::vector<std::string> parts;
      std::istringstream vs(w.substr(key.size() + 1));
      for (std::string p; std::getline(vs, p, ':');) parts.push_back(p);
      return parts;
    }
  ADD_FAILURE() << key << " not in " << line;
  return {};
}

// Waits until the process's main thread is in system call `nr`.
void wait_in_syscall(pid_t pid, long nr) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/syscall");
    long n = -1;
    if (in >> n && n == nr) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ADD_FAILURE() << "pid " << pid << " never entered system call " << nr;
}

constexpr long kRecvfrom = 45;

json peer(pid_t pid, const std::string& comm, int fd) {
  json one = {{"pid", pid}, {"comm", comm}, {"fd", fd}};
  json all = json::array();
  all.push_back(one);
  return all;
}

// Every descriptor of every group's waits_on.
std::vector<json> all_descriptors(const json& stacks) {
  std::vector<json> out;
  for (const auto& g : stacks.at("groups"))
    for (const auto& w : g.value("waits_on", json::array()))
      for (const auto& d : w.at("descriptors")) out.push_back(d);
  return out;
}

// The descriptor of `fd` (a copy), null when none is listed.
json descriptor_with_fd(const std::vector<json>& ds, int fd) {
  for (const json& d : ds)
    if (d.at("fd") == fd) return d;
  return nullptr;
}

std::set<int> socket_fds(pid_t pid) {
  std::set<int> fds;
  for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    std::error_code ec;
    auto link = fs::read_symlink(e.path(), ec);
    if (!ec && link.string().rfind("socket:[", 0) == 0) fds.insert(std::stoi(e.path().filename()));
  }
  return fds;
}

// A python3 client blocked in recv() on `connect_expr` (a socket made by
// Python code); it prints "ready FD LOCAL_PORT".
std::unique_ptr<Proc> python_client(const std::string& make_socket) {
  std::string code = "import socket, sys\n" + make_socket +
                     "\nprint('ready', s.fileno(), s.getsockname()[1] if s.family != socket.AF_UNIX else 0, "
                     "flush=True)\ns.recv(1)\n";
  return std::make_unique<Proc>(std::vector<std::string>{kPython, "-c", code});
}

}  // namespace

TEST(SocketPeers, UnixSocketpairNamesTheChildProcess) {
  Proc p({tl_test::sample_bin("io_wait"), "--peer-child", "1"});
  std::string ready = p.expect("ready");
  p.wait_reading_stdin();
  auto v = ready_value(ready, "peer");
  ASSERT_EQ(v.size(), 3u);
  int fd = std::stoi(v[0]), child = std::stoi(v[1]), child_fd = std::stoi(v[2]);
  std::string dir = tl_test::temp_dir();
  std::string path = tl_test::save_json(dir, "stacks.json", {"stacks", "--pid", std::to_string(p.pid())}, 0);
  tl_test::expect_valid({path});
  json j = tl_test::read_json(path);
  json d = descriptor_with_fd(all_descriptors(j), fd);
  ASSERT_FALSE(d.is_null()) << j.dump(1);
  EXPECT_EQ(d.at("kind"), "unix");
  EXPECT_EQ(d.at("description"), "stream unnamed CONNECTED");
  EXPECT_EQ(d.at("peers"), peer(child, "io_wait_peer", child_fd));

  auto r = tl_test::run({tl_test::threadleak_bin(), "stacks", "--pid", std::to_string(p.pid())});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string line = "    1 thread in read on unix stream unnamed CONNECTED (fd " + v[0] + ") to pid " + v[1] +
                     " (io_wait_peer) fd " + v[2] + "\n";
  EXPECT_NE(r.out.find(line), std::string::npos) << r.out;

  // A snapshot file keeps the peer; stacks of the file shows it.
  std::string snap = tl_test::save_snapshot(dir, "snap.json", {"--pid", std::to_string(p.pid())});
  tl_test::expect_valid({snap});
  json again = tl_test::threadleak_json({"stacks", snap});
  json kept = descriptor_with_fd(all_descriptors(again), fd);
  ASSERT_FALSE(kept.is_null());
  EXPECT_EQ(kept.at("peers"), peer(child, "io_wait_peer", child_fd));
  auto text = tl_test::run({tl_test::threadleak_bin(), "stacks", snap});
  EXPECT_NE(text.out.find(line), std::string::npos) << text.out;
  std::string why;
  EXPECT_TRUE(tl_test::all_threads_running_untraced(p.pid(), &why)) << why;
}

TEST(SocketPeers, PeerProcessGoneNamesNoOne) {
  Proc p({tl_test::sample_bin("io_wait"), "--peer-gone", "1"});
  std::string ready = p.expect("ready");
  p.wait_reading_stdin();
  auto v = ready_value(ready, "gone");
  ASSERT_EQ(v.size(), 2u);
  int fd = std::stoi(v[0]);
  EXPECT_FALSE(fs::exists("/proc/" + v[1]));   // the holder exited and was reaped
  auto r = tl_test::run({tl_test::threadleak_bin(), "stacks", "--pid", std::to_string(p.pid()), "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  json j = json::parse(r.out);
  json d = descriptor_with_fd(all_descriptors(j), fd);
  ASSERT_FALSE(d.is_null());
  EXPECT_EQ(d, json({{"fd", fd}, {"kind", "unix"}, {"description", "stream unnamed CONNECTED"}}));
  auto text = tl_test::run({tl_test::threadleak_bin(), "stacks", "--pid", std::to_string(p.pid())});
  EXPECT_NE(text.out.find("    1 thread in read on unix stream unnamed CONNECTED (fd " + v[0] + ")\n"),
            std::string::npos)
      << text.out;
}

// memcached serving a python3 client: each side's waiting thread names the other.
TEST(SocketPeers, MemcachedAndItsPythonClientNameEachOther) {
  if (access(kMemcached, X_OK) != 0 || access(kPython, X_OK) != 0)
    GTEST_SKIP() << "memcached or python3 is missing: run scripts/install-deps.sh";
  std::string dir = tl_test::temp_dir(), sock = dir + "/mc.sock";
  Proc mc({kMemcached, "-u", "root", "-p", "0", "-U", "0", "-s", sock, "-t", "4"});
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!fs::exists(sock) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::set<int> before = socket_fds(mc.pid());
  auto client = python_client("s = socket.socket(socket.AF_UNIX)\ns.connect('" + sock + "')");
  auto w = words(client->expect("ready"));
  int client_fd = std::stoi(w.at(1));
  wait_in_syscall(client->pid(), kRecvfrom);
  // memcached's accepted end: the one socket fd it has more than before.
  std::set<int> added;
  while (std::chrono::steady_clock::now() < deadline) {
    added.clear();
    for (int fd : socket_fds(mc.pid()))
      if (!before.count(fd)) added.insert(fd);
    if (added.size() == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(added.size(), 1u);
  int mc_fd = *added.begin();

  json j = tl_test::threadleak_json({"stacks", "--pid", std::to_string(client->pid())});
  json d = descriptor_with_fd(all_descriptors(j), client_fd);
  ASSERT_FALSE(d.is_null()) << j.dump(1);
  EXPECT_EQ(d.at("peers"), peer(mc.pid(), "memcached", mc_fd));
  auto r = tl_test::run({tl_test::threadleak_bin(), "stacks", "--pid", std::to_string(client->pid())});
  std::string line = "    1 thread in recvfrom on unix stream unnamed CONNECTED (fd " + std::to_string(client_fd) +
                     ") to pid " + std::to_string(mc.pid()) + " (memcached) fd " + std::to_string(mc_fd) + "\n";
  EXPECT_NE(r.out.find(line), std::string::npos) << r.out;

  // The worker that serves it waits in epoll_wait on a set watching that
  // connection (accepted ends carry the listener's path).
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  json served, m;
  while (served.is_null() && std::chrono::steady_clock::now() < deadline) {   // until the worker has added it
    m = tl_test::threadleak_json({"stacks", "--pid", std::to_string(mc.pid())});
    served = descriptor_with_fd(all_descriptors(m), mc_fd);
  }
  ASSERT_FALSE(served.is_null()) << m.dump(1);
  EXPECT_EQ(served.at("description"), "stream " + sock + " CONNECTED");
  EXPECT_TRUE(served.contains("watched_by"));
  EXPECT_EQ(served.at("peers"), peer(client->pid(), "python3", client_fd));
  std::string why;
  EXPECT_TRUE(tl_test::all_threads_running_untraced(mc.pid(), &why)) << why;
}

// A python3 client in recv() on TCP to a python3 server: the server's
// pid and accepted fd.
void tcp_case(const std::string& server_host, const std::string& client_host, const std::string& family) {
  std::string server_code =
      "import socket, sys\n"
      "l = socket.socket(socket." + family + ")\n"
      "l.bind(('" + server_host + "', 0)); l.listen(1)\n"
      "print('port', l.getsockname()[1], flush=True)\n"
      "c, _ = l.accept()\n"
      "print('accepted', c.fileno(), flush=True)\n"
      "sys.stdin.read()\n";
  Proc server({kPython, "-c", server_code});
  std::string port = words(server.expect("port")).at(1);
  auto client = python_client("s = socket.create_connection(('" + client_host + "', " + port + "))");
  auto w = words(client->expect("ready"));
  int server_fd = std::stoi(words(server.expect("accepted")).at(1));
  int client_fd = std::stoi(w.at(1));
  wait_in_syscall(client->pid(), kRecvfrom);
  std::string dir = tl_test::temp_dir();
  std::string path = tl_test::save_json(dir, "stacks.json", {"stacks", "--pid", std::to_string(client->pid())}, 0);
  tl_test::expect_valid({path});
  json j = tl_test::read_json(path);
  json d = descriptor_with_fd(all_descriptors(j), client_fd);
  ASSERT_FALSE(d.is_null()) << j.dump(1);
  EXPECT_EQ(d.at("peers"), peer(server.pid(), "python3", server_fd)) << d.dump();
  bool v6 = client_host.find(':') != std::string::npos;
  std::string ep = v6 ? "[" + client_host + "]:" : client_host + ":";
  std::string line = "    1 thread in recvfrom on tcp" + std::string(v6 ? "6 " : " ") + ep + w.at(2) + " -> " + ep +
                     port + " ESTABLISHED (fd " + w.at(1) + ") to pid " + std::to_string(server.pid()) +
                     " (python3) fd " + std::to_string(server_fd) + "\n";
  auto r = tl_test::run({tl_test::threadleak_bin(), "stacks", "--pid", std::to_string(client->pid())});
  EXPECT_NE(r.out.find(line), std::string::npos) << r.out;
}

TEST(SocketPeers, TcpLoopbackNamesTheServerProcess) {
  if (access(kPython, X_OK) != 0) GTEST_SKIP() << "python3 is missing";
  tcp_case("127.0.0.1", "127.0.0.1", "AF_INET");
}

TEST(SocketPeers, Tcp6LoopbackNamesTheServerProcess) {
  if (access(kPython, X_OK) != 0) GTEST_SKIP() << "python3 is missing";
  tcp_case("::1", "::1", "AF_INET6");
}

// The server's accepted socket is in /proc/net/tcp6 as ::ffff:127.0.0.1,
// the client's in /proc/net/tcp.
TEST(SocketPeers, Ipv4ClientOfDualStackServer) {
  if (access(kPython, X_OK) != 0) GTEST_SKIP() << "python3 is missing";
  tcp_case("::", "127.0.0.1", "AF_INET6");
}
