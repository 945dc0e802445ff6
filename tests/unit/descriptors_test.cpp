// The parsers behind Thread::descriptors, on text in the kernel's formats
// (the live resolution itself: tests/e2e/io_wait_test.cpp), and the socket
// peer look-ups on real sockets of this process.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <unordered_map>
#include <unordered_set>

#include <gtest/gtest.h>

#include "source/descriptors.hpp"
#include "source/proc_net.hpp"
#include "source/socket_peers.hpp"

namespace td = threadleak::detail;

TEST(ProcNet, TcpLinesGiveEndpointsAndState) {
  std::unordered_map<std::uint64_t, td::NetSocket> out;
  td::parse_inet_table(
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
      "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4711 1 0 100 0 0 10 0\n"
      "   1: 0100007F:A2C0 0100007F:1538 01 00000000:00000000 00:00000000 00000000  1000        0 4712 1 0 20 4 30 10 -1\n"
      "   2: 0100007F:A2C2 0100007F:1538 06 00000000:00000000 03:00000000 00000000     0        0 0 3 0\n",
      "tcp", false, out);
  ASSERT_EQ(out.size(), 2u);   // a TIME_WAIT entry has no inode
  EXPECT_EQ(out.at(4711).kind, "tcp");
  EXPECT_EQ(out.at(4711).description, "127.0.0.1:8080 LISTEN");
  EXPECT_EQ(out.at(4712).description, "127.0.0.1:41664 -> 127.0.0.1:5432 ESTABLISHED");
}

TEST(ProcNet, Tcp6AndUdp) {
  std::unordered_map<std::uint64_t, td::NetSocket> out;
  td::parse_inet_table(
      "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
      "   0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 90 1 0 100 0 0 10 0\n",
      "tcp6", true, out);
  td::parse_inet_table(
      "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
      "  100: 0100007F:1388 00000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 91 2 0 0\n"
      "  101: 0100007F:1389 0200007F:0035 01 00000000:00000000 00:00000000 00000000  1000        0 92 2 0 0\n",
      "udp", false, out);
  EXPECT_EQ(out.at(90).description, "[::1]:22 LISTEN");
  EXPECT_EQ(out.at(91).description, "127.0.0.1:5000");
  EXPECT_EQ(out.at(92).description, "127.0.0.1:5001 -> 127.0.0.2:53");
}

TEST(ProcNet, UnixLines) {
  std::unordered_map<std::uint64_t, td::NetSocket> out;
  td::parse_unix_table(
      "Num       RefCount Protocol Flags    Type St Inode Path\n"
      "0000000000000000: 00000002 00000000 00010000 0001 01 3001 /run/app.sock\n"
      "0000000000000000: 00000003 00000000 00000000 0001 03 3002 @abstract.1\n"
      "0000000000000000: 00000003 00000000 00000000 0001 03 3003\n"
      "0000000000000000: 00000002 00000000 00000000 0002 01 3004 /dev/log\n",
      out);
  EXPECT_EQ(out.at(3001).description, "stream /run/app.sock LISTEN");
  EXPECT_EQ(out.at(3002).description, "stream @abstract.1 CONNECTED");
  EXPECT_EQ(out.at(3003).description, "stream unnamed CONNECTED");
  EXPECT_EQ(out.at(3004).description, "dgram /dev/log UNCONNECTED");
}

TEST(Descriptors, EpollFdinfoWatchedFds) {
  EXPECT_EQ(td::epoll_watched_fds("pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t3053\n"
                                  "tfd:        9 events:       19 data:                9  pos:0 ino:1a2b sdev:d\n"
                                  "tfd:        5 events:       19 data:                5  pos:0 ino:1a2c sdev:8\n"),
            (std::vector<int>{5, 9}));
  EXPECT_TRUE(td::epoll_watched_fds("").empty());
}

TEST(Descriptors, LinkKinds) {
  std::uint64_t ino = 0;
  EXPECT_EQ(td::describe_link(3, "pipe:[77]", &ino).kind, "pipe");
  EXPECT_EQ(td::describe_link(3, "/var/log/x (deleted)", &ino).kind, "file");
  EXPECT_EQ(td::describe_link(3, "anon_inode:[eventpoll]", &ino).kind, "epoll");
  EXPECT_EQ(td::describe_link(3, "anon_inode:[eventfd]", &ino).kind, "eventfd");
  EXPECT_EQ(td::describe_link(3, "anon_inode:inotify", &ino).kind, "anon");
  EXPECT_EQ(ino, 0u);
  threadleak::Descriptor d = td::describe_link(4, "socket:[123456]", &ino);
  EXPECT_EQ(d.kind, "socket");
  EXPECT_EQ(d.description, "socket:[123456]");
  EXPECT_EQ(ino, 123456u);
}

// The ends inet_peer matches on: a connected socket's, an IPv4-mapped
// address written as IPv4; none for a listener.
TEST(ProcNet, ConnectedEndsForPeerMatching) {
  std::unordered_map<std::uint64_t, td::NetSocket> out;
  td::parse_inet_table(
      "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4711 1 0 100 0 0 10 0\n"
      "   1: 0100007F:A2C0 0100007F:1538 01 00000000:00000000 00:00000000 00000000  1000        0 4712 1 0 20 4 30 10 -1\n",
      "tcp", false, out);
  td::parse_inet_table(
      "   0: 0000000000000000FFFF00000100007F:1538 0000000000000000FFFF00000100007F:A2C0 01 00000000:00000000 "
      "00:00000000 00000000     0        0 4713 1 0 100 0 0 10 0\n",
      "tcp6", true, out);
  EXPECT_EQ(out.at(4711).local, "");
  EXPECT_EQ(out.at(4712).local, "127.0.0.1:41664");
  EXPECT_EQ(out.at(4712).remote, "127.0.0.1:5432");
  EXPECT_EQ(out.at(4713).local, "127.0.0.1:5432");
  EXPECT_EQ(out.at(4713).remote, "127.0.0.1:41664");
  EXPECT_EQ(out.at(4713).description, "[::ffff:127.0.0.1]:5432 -> [::ffff:127.0.0.1]:41664 ESTABLISHED");
}

// The kernel's sock_diag and /proc/self/fd on a real socketpair of this
// process; a listener has no peer.
TEST(SocketPeers, SocketpairPeerAndHolder) {
  int sp[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
  struct stat a{}, b{};
  ASSERT_EQ(::fstat(sp[0], &a), 0);
  ASSERT_EQ(::fstat(sp[1], &b), 0);
  EXPECT_EQ(td::unix_peer_inode(a.st_ino), b.st_ino);
  EXPECT_EQ(td::unix_peer_inode(b.st_ino), a.st_ino);
  auto holders = td::socket_holders({b.st_ino});
  std::ifstream comm("/proc/self/comm");
  std::string name;
  std::getline(comm, name);
  EXPECT_EQ(holders.at(b.st_ino), (std::vector<threadleak::SocketPeer>{{::getpid(), name, sp[1]}}));
  int listener = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(sa_family_t)), 0);   // autobind
  ASSERT_EQ(::listen(listener, 1), 0);
  struct stat l{};
  ASSERT_EQ(::fstat(listener, &l), 0);
  EXPECT_EQ(td::unix_peer_inode(l.st_ino), 0u);
  ::close(sp[1]);
  EXPECT_EQ(td::socket_holders({b.st_ino}).count(b.st_ino), 0u);   // closed: no holder, no error
  ::close(sp[0]);
  ::close(listener);
}

// Many sockets at once: the dump path (more than 16) and the single
// requests agree with fstat on both ends.
TEST(SocketPeers, ManySocketpairsByDump) {
  for (int n : {3, 40}) {
    std::vector<std::array<int, 2>> pairs(static_cast<std::size_t>(n));
    std::unordered_set<std::uint64_t> inodes;
    std::unordered_map<std::uint64_t, std::uint64_t> expected;
    for (auto& p : pairs) {
      ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, p.data()), 0);
      struct stat a{}, b{};
      ::fstat(p[0], &a);
      ::fstat(p[1], &b);
      inodes.insert(a.st_ino);
      expected[a.st_ino] = b.st_ino;
    }
    EXPECT_EQ(td::unix_peer_inodes(inodes), expected) << n;
    for (auto& p : pairs) {
      ::close(p[0]);
      ::close(p[1]);
    }
  }
}
