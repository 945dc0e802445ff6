// Threads blocked in I/O on descriptors of every kind, each in a noinline
// function of its own, for `threadleak stacks --pid` to resolve (issue 16):
//   wait_pipe    read() on the read end of a pipe
//   wait_recv    recv() on a TCP socket connected to the sample's own
//                listener on 127.0.0.1 (--recv N threads on the same socket)
//   wait_conn    with --conns N: N threads, each in recv() on a connection
//                of its own to that listener (distinct endpoints, one stack)
//   wait_unix    recv() on the accepted end of an abstract UNIX socket
//   wait_accept  accept() on a second TCP listener
//   wait_epoll   epoll_wait() on an epoll set of a pipe and a UDP socket
//   wait_poll    poll() on a pipe and the client end of the UNIX socket
//   wait_select  select() on a pipe
//   wait_peer    with --peer-child: read() on a UNIX socketpair whose other
//                end a forked child ("io_wait_peer") holds, alone
//   wait_orphan  with --peer-gone: read() on a UNIX socketpair whose other
//                end a forked child held and, before exiting, sent over
//                another socket that no one reads: its peer is alive, in
//                flight, held by no process
// The main thread reads stdin. Nothing is ever sent, so every thread stays.
//
//   io_wait [--recv N] [--conns N] [--peer-child 1] [--peer-gone 1]
// prints one line, "ready" and then NAME=VALUE pairs: the fds, the ports
// and the pipe inodes a resolution must find (see tests/e2e/io_wait_test.cpp).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "park.hpp"

namespace {

sample::Registry g_blocked;
volatile long g_sink;   // a use of each call's result: no tail call hides the wait_ function

// Retries on EINTR, as a real server does: a ptrace stop (a live snapshot)
// makes epoll_wait fail with EINTR even without a signal handler
// (signal(7), "Interruption of system calls ... by stop signals").
template <typename Call>
long retry(Call call) {
  long r;
  while ((r = call()) < 0 && errno == EINTR) {}
  return r;
}

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

__attribute__((noinline)) void wait_pipe(int fd) {
  g_blocked.add(sample::gettid());
  char c;
  g_sink = retry([&] { return ::read(fd, &c, 1); });
}

// One byte from a socket: the body of the recv waiters, each a function of
// its own name.
[[gnu::always_inline]] inline void recv_one(int fd) {
  g_blocked.add(sample::gettid());
  char c;
  g_sink = retry([&] { return ::recv(fd, &c, 1, 0); });
}

__attribute__((noinline)) void wait_recv(int fd) { recv_one(fd); }

__attribute__((noinline)) void wait_conn(int fd) { recv_one(fd); }

__attribute__((noinline)) void wait_unix(int fd) { recv_one(fd); }

__attribute__((noinline)) void wait_peer(int fd) {
  g_blocked.add(sample::gettid());
  char c;
  g_sink = retry([&] { return ::read(fd, &c, 1); });
}

__attribute__((noinline)) void wait_orphan(int fd) {
  g_blocked.add(sample::gettid());
  char c;
  g_sink = retry([&] { return ::read(fd, &c, 1); });
}

__attribute__((noinline)) void wait_accept(int fd) {
  g_blocked.add(sample::gettid());
  g_sink = retry([&] { return ::accept(fd, nullptr, nullptr); });
}

__attribute__((noinline)) void wait_epoll(int epfd) {
  g_blocked.add(sample::gettid());
  epoll_event ev[4];
  g_sink = retry([&] { return ::epoll_wait(epfd, ev, 4, -1); });
}

__attribute__((noinline)) void wait_poll(int a, int b) {
  g_blocked.add(sample::gettid());
  pollfd fds[3] = {{a, POLLIN, 0}, {-1, POLLIN, 0}, {b, POLLIN, 0}};   // poll skips the -1
  g_sink = retry([&] { return ::poll(fds, 3, -1); });
}

__attribute__((noinline)) void wait_select(int fd) {
  g_blocked.add(sample::gettid());
  fd_set set;
  g_sink = retry([&] {
    FD_ZERO(&set);
    FD_SET(fd, &set);
    return ::select(fd + 1, &set, nullptr, nullptr, nullptr);
  });
}

std::uint64_t inode(int fd) {
  struct stat st{};
  if (::fstat(fd, &st) != 0) die("fstat");
  return st.st_ino;
}

int port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) die("getsockname");
  return ntohs(a.sin_port);
}

int bound_inet(int type) {
  int fd = ::socket(AF_INET, type, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("bind");
  if (type == SOCK_STREAM && ::listen(fd, 4) != 0) die("listen");
  return fd;
}

int connected_tcp(int listener) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port(listener)));
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("connect");
  return fd;
}

// An abstract UNIX listener named "@NAME": the client end and the accepted end.
std::pair<int, int> unix_pair(const std::string& name) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path + 1, name.data(), name.size());
  auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  int listener = ::socket(AF_UNIX, SOCK_STREAM, 0);
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(listener, 1) != 0)
    die("unix listen");
  int client = ::socket(AF_UNIX, SOCK_STREAM, 0);
  if (client < 0 || ::connect(client, reinterpret_cast<sockaddr*>(&a), len) != 0) die("unix connect");
  int server = ::accept(listener, nullptr, nullptr);
  if (server < 0) die("unix accept");
  ::close(listener);
  return {client, server};
}

std::array<int, 2> make_socketpair() {
  std::array<int, 2> p{};
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, p.data()) != 0) die("socketpair");
  return p;
}

// --peer-child: a child process named io_wait_peer holds end [1] and
// nothing else of ours; it dies with us. Returns {our end, child pid, the
// child's fd}.
std::array<int, 3> peer_child() {
  auto sp = make_socketpair();
  pid_t child = ::fork();
  if (child < 0) die("fork");
  if (child == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::prctl(PR_SET_NAME, "io_wait_peer");
    ::close(sp[0]);
    for (;;) ::pause();
  }
  ::close(sp[1]);
  return {sp[0], child, sp[1]};
}

// --peer-gone: a child sends end [1] over a carrier socketpair whose
// receiving end we keep and never read, then exits. Returns {our end, the
// carrier's end, the exited child's pid}.
std::array<int, 3> peer_gone() {
  auto sp = make_socketpair(), carrier = make_socketpair();
  pid_t child = ::fork();
  if (child < 0) die("fork");
  if (child == 0) {
    char byte = 0;
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &sp[1], sizeof(int));
    ::_exit(::sendmsg(carrier[0], &msg, 0) == 1 ? 0 : 1);
  }
  int status = 0;
  if (::waitpid(child, &status, 0) != child || status != 0) die("peer-gone child");
  ::close(sp[1]);
  ::close(carrier[0]);
  return {sp[0], carrier[1], child};
}

std::array<int, 2> make_pipe() {
  std::array<int, 2> p{};
  if (::pipe(p.data()) != 0) die("pipe");
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  int recv_threads = 1, conns = 0;
  bool with_peer = false, with_gone = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--recv") recv_threads = std::atoi(argv[i + 1]);
    if (std::string(argv[i]) == "--conns") conns = std::atoi(argv[i + 1]);
    if (std::string(argv[i]) == "--peer-child") with_peer = std::atoi(argv[i + 1]) != 0;
    if (std::string(argv[i]) == "--peer-gone") with_gone = std::atoi(argv[i + 1]) != 0;
  }
  // The children first, so that they inherit none of the other sockets.
  std::array<int, 3> peer{-1, 0, -1};
  std::array<int, 3> gone{-1, -1, 0};
  if (with_peer) peer = peer_child();
  if (with_gone) gone = peer_gone();
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;   // two descriptors per connection
  ::setrlimit(RLIMIT_NOFILE, &files);
  auto pipe = make_pipe(), epoll_pipe = make_pipe(), poll_pipe = make_pipe(), select_pipe = make_pipe();
  int listener = bound_inet(SOCK_STREAM), client = connected_tcp(listener);
  int served = ::accept(listener, nullptr, nullptr);   // held open, never written to
  int acceptor = bound_inet(SOCK_STREAM), udp = bound_inet(SOCK_DGRAM);
  std::string unix_name = "threadleak-io-wait." + std::to_string(::getpid());
  auto [unix_client, unix_server] = unix_pair(unix_name);
  int epfd = ::epoll_create1(0);
  for (int fd : {epoll_pipe[0], udp}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (served < 0 || epfd < 0 || ::epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll");
  }

  std::vector<std::thread> threads;
  threads.emplace_back(wait_pipe, pipe[0]);
  for (int i = 0; i < recv_threads; ++i) threads.emplace_back(wait_recv, client);
  threads.emplace_back(wait_unix, unix_server);
  threads.emplace_back(wait_accept, acceptor);
  threads.emplace_back(wait_epoll, epfd);
  threads.emplace_back(wait_poll, poll_pipe[0], unix_client);
  threads.emplace_back(wait_select, select_pipe[0]);
  if (with_peer) threads.emplace_back(wait_peer, peer[0]);
  if (with_gone) threads.emplace_back(wait_orphan, gone[0]);
  for (int i = 0; i < conns; ++i) {
    int fd = connected_tcp(listener);
    if (::accept(listener, nullptr, nullptr) < 0) die("accept");
    threads.emplace_back(wait_conn, fd);
  }
  g_blocked.wait_blocked(threads.size());

  std::ostringstream ready;
  ready << "ready pipe=" << pipe[0] << ":" << inode(pipe[0]) << " recv=" << client << ":" << port(client)
        << ":" << port(listener) << " unix=" << unix_server << ":@" << unix_name << " accept=" << acceptor
        << ":" << port(acceptor) << " epoll=" << epfd << ":" << epoll_pipe[0] << ":" << inode(epoll_pipe[0])
        << ":" << udp << ":" << port(udp) << " poll=" << poll_pipe[0] << ":" << inode(poll_pipe[0]) << ":"
        << unix_client << " select=" << select_pipe[0] << ":" << inode(select_pipe[0]) << " served=" << served;
  if (with_peer) ready << " peer=" << peer[0] << ":" << peer[1] << ":" << peer[2];
  if (with_gone) ready << " gone=" << gone[0] << ":" << gone[2];
  sample::say(ready.str());
  for (std::string line; std::getline(std::cin, line);) sample::say(line);
  std::_Exit(0);   // the blocked threads are never joined
}
