// Socket peers. The UNIX peer comes from a sock_diag request for one socket
// by inode (SOCK_DIAG_BY_FAMILY, AF_UNIX, udiag_ino, UDIAG_SHOW_PEER, no
// cookie): the reply's UNIX_DIAG_PEER attribute is the peer's inode. The
// request is answered in the namespace of the netlink socket, i.e.
// threadleak's: a target in another network namespace gets no answer, and
// since socket inodes are unique system-wide, never a wrong one. Unprivileged
// users may query any UNIX socket this way.
//
// Holders: one pass over /proc/*/fd, a readlinkat per fd (all of them:
// a socket may be held by several processes). Processes whose fd directory
// cannot be opened (another user's, without CAP_SYS_PTRACE; exited) are
// skipped. The pass costs one readlink per open fd of the host (or of the
// pid namespace /proc shows): measured in docs/descriptors.md.
#include "source/socket_peers.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>

#include <fmt/format.h>

#include "util.hpp"

namespace threadleak::detail {
namespace {

// Calls f on each whole netlink message in buf[0, n) until f returns false:
// netlink.h's NLMSG_OK/NLMSG_NEXT walk, with unsigned sizes (the macros
// compare a signed length with the unsigned nlmsg_len).
template <typename F>
void for_each_message(const char* buf, std::size_t n, F&& f) {
  std::size_t off = 0;
  while (n - off >= sizeof(nlmsghdr)) {
    const auto* h = reinterpret_cast<const nlmsghdr*>(buf + off);
    if (h->nlmsg_len < sizeof(nlmsghdr) || h->nlmsg_len > n - off || !f(h)) return;
    off += NLMSG_ALIGN(h->nlmsg_len);
    if (off > n) return;
  }
}

constexpr std::size_t kMaxPeerLookups = 65536;   // distinct sockets per capture
constexpr std::size_t kDumpAbove = 16;           // UNIX sockets: one request each up to this many, else a dump

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};
using Dir = std::unique_ptr<DIR, DirCloser>;

// One netlink socket for all the queries of a capture.
class UnixDiag {
 public:
  UnixDiag() : fd_(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG)) {
    timeval t{1, 0};   // the kernel answers at once; never hang on it
    if (fd_) ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &t, sizeof t);
  }

  std::uint64_t peer(std::uint64_t inode) {
    if (!fd_ || inode == 0 || inode > UINT32_MAX) return 0;   // udiag_ino is 32 bits, as are sockfs inodes
    if (!send(static_cast<std::uint32_t>(inode), NLM_F_REQUEST)) return 0;
    return read_reply(seq_, inode);
  }

  // The peers of all `inodes` at once, from one dump of every UNIX socket
  // of the namespace: the kernel finds a socket by inode by walking all of
  // them, so many single requests cost more than one dump.
  std::unordered_map<std::uint64_t, std::uint64_t> peers(const std::unordered_set<std::uint64_t>& inodes) {
    std::unordered_map<std::uint64_t, std::uint64_t> out;
    if (!fd_ || !send(0, NLM_F_REQUEST | NLM_F_DUMP)) return out;
    alignas(nlmsghdr) static thread_local char buf[32768];
    for (;;) {
      ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
      if (n <= 0) return out;
      bool done = false;
      for_each_message(buf, static_cast<std::size_t>(n), [&](const nlmsghdr* h) {
        if (h->nlmsg_seq != seq_) return true;
        if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) return !(done = true);
        if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof(unix_diag_msg))) return true;
        std::uint32_t ino = static_cast<const unix_diag_msg*>(NLMSG_DATA(h))->udiag_ino;
        if (inodes.count(ino))
          if (std::uint64_t p = peer_attribute(h, ino)) out[ino] = p;
        return true;
      });
      if (done) return out;
    }
  }

 private:
  bool send(std::uint32_t inode, std::uint16_t flags) {
    struct {
      nlmsghdr head;
      unix_diag_req req;
    } msg{};
    msg.head.nlmsg_len = sizeof msg;
    msg.head.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    msg.head.nlmsg_flags = flags;
    msg.head.nlmsg_seq = ++seq_;
    msg.req.sdiag_family = AF_UNIX;
    msg.req.udiag_states = ~0u;
    msg.req.udiag_ino = inode;
    msg.req.udiag_show = UDIAG_SHOW_PEER;
    msg.req.udiag_cookie[0] = msg.req.udiag_cookie[1] = ~0u;   // INET_DIAG_NOCOOKIE
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    return ::sendto(fd_.get(), &msg, sizeof msg, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) >= 0;
  }

  // The reply to request `seq`: one SOCK_DIAG_BY_FAMILY message, or an
  // NLMSG_ERROR (ENOENT: not in this namespace, or gone).
  std::uint64_t read_reply(std::uint32_t seq, std::uint64_t inode) {
    alignas(nlmsghdr) char buf[8192];
    for (int tries = 0; tries < 4; ++tries) {
      ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
      if (n <= 0) return 0;
      std::optional<std::uint64_t> answer;
      for_each_message(buf, static_cast<std::size_t>(n), [&](const nlmsghdr* h) {
        if (h->nlmsg_seq != seq) return true;   // a late answer to an earlier request
        answer = h->nlmsg_type == SOCK_DIAG_BY_FAMILY ? peer_attribute(h, inode) : 0;
        return false;
      });
      if (answer) return *answer;
    }
    return 0;
  }

  static std::uint64_t peer_attribute(const nlmsghdr* h, std::uint64_t inode) {
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(unix_diag_msg))) return 0;
    const auto* m = static_cast<const unix_diag_msg*>(NLMSG_DATA(h));
    if (m->udiag_ino != inode) return 0;
    int len = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof *m));
    const auto* a = reinterpret_cast<const nlattr*>(reinterpret_cast<const char*>(m) + NLMSG_ALIGN(sizeof *m));
    while (len >= static_cast<int>(sizeof(nlattr)) && a->nla_len >= sizeof(nlattr) && a->nla_len <= len) {
      if (a->nla_type == UNIX_DIAG_PEER && a->nla_len >= NLA_HDRLEN + sizeof(std::uint32_t)) {
        std::uint32_t peer;
        std::memcpy(&peer, reinterpret_cast<const char*>(a) + NLA_HDRLEN, sizeof peer);
        return peer;
      }
      int step = NLA_ALIGN(a->nla_len);
      len -= step;
      a = reinterpret_cast<const nlattr*>(reinterpret_cast<const char*>(a) + step);
    }
    return 0;
  }

  Fd fd_;
  std::uint32_t seq_ = 0;
};

bool all_digits(const char* s) {
  if (!*s) return false;
  for (; *s; ++s)
    if (*s < '0' || *s > '9') return false;
  return true;
}

std::string comm_of(const std::string& pid) {
  std::string c = read_small_file("/proc/" + pid + "/comm", 64);
  while (!c.empty() && c.back() == '\n') c.pop_back();
  return c;
}

// The fds of process `pid` linked to one of `inodes`, added to `out`.
void scan_process(const char* pid, const std::unordered_set<std::uint64_t>& inodes, std::size_t max_each,
                  std::unordered_map<std::uint64_t, std::vector<SocketPeer>>& out) {
  Dir dir(::opendir(fmt::format("/proc/{}/fd", pid).c_str()));
  if (!dir) return;
  std::string comm;
  constexpr std::string_view kSocket = "socket:[";
  while (const dirent* e = ::readdir(dir.get())) {
    if (!all_digits(e->d_name)) continue;
    char link[64];
    ssize_t n = ::readlinkat(::dirfd(dir.get()), e->d_name, link, sizeof link - 1);
    if (n <= static_cast<ssize_t>(kSocket.size()) || std::memcmp(link, kSocket.data(), kSocket.size()) != 0) continue;
    link[n] = 0;
    unsigned long long ino = 0;
    if (std::sscanf(link + kSocket.size(), "%llu", &ino) != 1 || !inodes.count(ino)) continue;
    auto& holders = out[ino];
    if (holders.size() == max_each) continue;
    if (comm.empty()) comm = comm_of(pid);
    holders.push_back({std::atoi(pid), comm, std::atoi(e->d_name)});
  }
}

}  // namespace

std::uint64_t unix_peer_inode(std::uint64_t inode) { return UnixDiag().peer(inode); }

std::unordered_map<std::uint64_t, std::uint64_t> unix_peer_inodes(const std::unordered_set<std::uint64_t>& inodes) {
  UnixDiag diag;
  if (inodes.size() > kDumpAbove) return diag.peers(inodes);
  std::unordered_map<std::uint64_t, std::uint64_t> out;
  for (std::uint64_t ino : inodes)
    if (std::uint64_t p = diag.peer(ino)) out[ino] = p;
  return out;
}

std::unordered_map<std::uint64_t, std::vector<SocketPeer>> socket_holders(
    const std::unordered_set<std::uint64_t>& inodes, std::size_t max_each) {
  std::unordered_map<std::uint64_t, std::vector<SocketPeer>> out;
  if (inodes.empty() || max_each == 0) return out;
  Dir proc(::opendir("/proc"));
  if (!proc) return out;
  while (const dirent* e = ::readdir(proc.get()))
    if (all_digits(e->d_name)) scan_process(e->d_name, inodes, max_each, out);
  for (auto& [ino, holders] : out)
    std::sort(holders.begin(), holders.end(),
              [](const SocketPeer& a, const SocketPeer& b) { return a.pid != b.pid ? a.pid < b.pid : a.fd < b.fd; });
  return out;
}

void find_socket_peers(Snapshot& snap, SocketWaits& waits) {
  if (waits.sockets.empty() || !waits.net) return;
  // The peer inode of each distinct waited socket.
  std::unordered_map<std::uint64_t, std::uint64_t> peer_of;
  std::unordered_set<std::uint64_t> unix;
  for (const SocketWaits::Socket& s : waits.sockets) {
    auto [it, fresh] = peer_of.try_emplace(s.inode, 0);
    if (!fresh || peer_of.size() > kMaxPeerLookups) continue;
    const std::string& kind = snap.threads[s.thread].descriptors[s.descriptor].kind;
    if (kind == "unix") unix.insert(s.inode);
    else if (kind != "socket") it->second = waits.net->inet_peer(s.inode);
  }
  for (const auto& [ino, peer] : unix_peer_inodes(unix)) peer_of[ino] = peer;
  std::unordered_set<std::uint64_t> wanted;
  for (const auto& [ino, peer] : peer_of)
    if (peer) wanted.insert(peer);
  auto holders = socket_holders(wanted);
  for (const SocketWaits::Socket& s : waits.sockets) {
    auto it = holders.find(peer_of[s.inode]);
    if (it != holders.end()) snap.threads[s.thread].descriptors[s.descriptor].peers = it->second;
  }
  if (log_enabled())
    log(fmt::format("socket peers: {} sockets, {} with a peer socket, {} of those held by a visible process",
                    peer_of.size(), wanted.size(), holders.size()));
}

}  // namespace threadleak::detail
