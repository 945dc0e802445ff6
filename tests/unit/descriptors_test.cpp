// The parsers behind Thread::descriptors, on text in the kernel's formats
// (the live resolution itself: tests/e2e/io_wait_test.cpp).
#include <gtest/gtest.h>

#include "source/descriptors.hpp"
#include "source/proc_net.hpp"

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
