// Descriptors of I/O waits. Which argument holds what (x86-64 syscall ABI:
// rdi, rsi, rdx, r10; the registers are the ones copied while frozen, and a
// blocked call keeps its arguments there even across restart_syscall):
//   read, write, recv*, send*, accept*, connect, ...: rdi is the fd
//   poll, ppoll: rdi points at nfds (rsi) struct pollfd {int fd; short events, revents;}
//   select, pselect6: rdi is nfds; rsi, rdx, r10 point at the read, write
//     and except fd_sets (bit i of the 64-bit words: fd i)
//   epoll_wait, epoll_pwait, epoll_pwait2: rdi is the epoll fd; what it
//     watches is in /proc/PID/fdinfo/EPFD ("tfd: N events: ...").
// Each distinct fd is resolved once (readlink of /proc/PID/fd/N, then the
// net tables for sockets); the links are read after the thaw, so an fd may
// have been closed or reused since the registers were copied: "closed" says
// the former, the latter cannot be told.
#include "source/descriptors.hpp"

#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>

#include <fmt/format.h>

#include "source/memory.hpp"
#include "source/proc_net.hpp"

namespace threadleak::detail {
namespace {

constexpr std::uint64_t kMaxPollFds = 4096;     // per thread, poll and epoll sets; larger sets are cut
constexpr std::uint64_t kMaxSelectFds = 65536;  // bits per fd_set read
constexpr std::size_t kMaxFdinfoBytes = 1u << 20;

enum class Args { fd, poll, select, epoll };

// The calls whose descriptors are looked up, by the name classify gave.
std::optional<Args> args_of(std::string_view call) {
  static const std::map<std::string_view, Args> kCalls{
      {"read", Args::fd},        {"readv", Args::fd},        {"pread64", Args::fd},
      {"preadv", Args::fd},      {"preadv2", Args::fd},      {"write", Args::fd},
      {"writev", Args::fd},      {"pwrite64", Args::fd},     {"pwritev", Args::fd},
      {"pwritev2", Args::fd},    {"recvfrom", Args::fd},     {"recvmsg", Args::fd},
      {"recvmmsg", Args::fd},    {"sendto", Args::fd},       {"sendmsg", Args::fd},
      {"sendmmsg", Args::fd},    {"accept", Args::fd},       {"accept4", Args::fd},
      {"connect", Args::fd},     {"poll", Args::poll},       {"ppoll", Args::poll},
      {"select", Args::select},  {"pselect6", Args::select}, {"epoll_wait", Args::epoll},
      {"epoll_pwait", Args::epoll}, {"epoll_pwait2", Args::epoll}};
  auto it = kCalls.find(call);
  if (it == kCalls.end()) return std::nullopt;
  return it->second;
}

bool is_fd(std::uint64_t reg) { return static_cast<int>(reg) >= 0 && reg <= INT_MAX; }

// Reads from the copies made while frozen first (a poll set on the stack),
// then from the process itself (one on the heap; the thread is still in
// the call, or the answer is as stale as any after a thaw).
class ArgMemory {
 public:
  ArgMemory(Memory* copied, int pid) : copied_(copied), pid_(pid) {}
  std::size_t read(std::uint64_t addr, void* buf, std::size_t len) {
    if (copied_ && copied_->read(addr, buf, len) == len) return len;
    if (!live_ && !tried_) {
      tried_ = true;
      mem_ = Fd(::open(("/proc/" + std::to_string(pid_) + "/mem").c_str(), O_RDONLY | O_CLOEXEC));
      if (mem_) live_ = PagedMemory::of_process(mem_.get());
    }
    return live_ ? live_->read(addr, buf, len) : 0;
  }

 private:
  Memory* copied_;
  int pid_;
  bool tried_ = false;
  Fd mem_;
  std::unique_ptr<PagedMemory> live_;
};

std::vector<int> poll_fds(const UserRegs& r, ArgMemory& mem) {
  struct PollFd { std::int32_t fd; std::int16_t events, revents; };
  std::uint64_t n = std::min<std::uint64_t>(r.rsi, kMaxPollFds);
  std::vector<PollFd> set(n);
  std::size_t got = n ? mem.read(r.rdi, set.data(), n * sizeof(PollFd)) / sizeof(PollFd) : 0;
  std::vector<int> fds;
  for (std::size_t i = 0; i < got; ++i)
    if (set[i].fd >= 0) fds.push_back(set[i].fd);   // poll skips negative fds
  return fds;
}

std::vector<int> select_fds(const UserRegs& r, ArgMemory& mem) {
  if (!is_fd(r.rdi)) return {};
  std::uint64_t nfds = std::min<std::uint64_t>(r.rdi, kMaxSelectFds);
  std::vector<std::uint64_t> words((nfds + 63) / 64);
  std::set<int> fds;
  for (std::uint64_t set : {r.rsi, r.rdx, r.r10}) {
    if (!set || words.empty()) continue;
    std::size_t got = mem.read(set, words.data(), words.size() * 8) / 8;
    for (std::size_t w = 0; w < got; ++w)
      for (int b = 0; b < 64; ++b)
        if ((words[w] >> b & 1) && w * 64 + b < nfds) fds.insert(static_cast<int>(w * 64 + b));
  }
  return {fds.begin(), fds.end()};
}

// Resolves descriptors of one process, each fd once.
class Resolver {
 public:
  explicit Resolver(int pid) : proc_("/proc/" + std::to_string(pid)), net_(std::make_unique<ProcNet>(pid)) {}

  Descriptor resolve(int fd) {
    auto [it, fresh] = cache_.try_emplace(fd);
    if (fresh) it->second = lookup(fd);
    return it->second;
  }

  // The socket inode of an fd resolve() has seen, 0 if not a socket.
  std::uint64_t inode(int fd) const {
    auto it = inodes_.find(fd);
    return it == inodes_.end() ? 0 : it->second;
  }

  std::unique_ptr<ProcNet> take_net() { return std::move(net_); }

  std::vector<int> watched(int epfd) {
    return epoll_watched_fds(read_small_file(fmt::format("{}/fdinfo/{}", proc_, epfd), kMaxFdinfoBytes));
  }

 private:
  Descriptor lookup(int fd) {
    char buf[PATH_MAX];
    ssize_t n = ::readlink(fmt::format("{}/fd/{}", proc_, fd).c_str(), buf, sizeof buf);
    if (n < 0) return {fd, "closed", "not open when resolved (after the capture)", std::nullopt, {}};
    std::uint64_t ino = 0;
    Descriptor d = describe_link(fd, std::string(buf, static_cast<std::size_t>(n)), &ino);
    if (ino) inodes_[fd] = ino;
    if (ino)
      if (const NetSocket* s = net_->find(ino)) {
        d.kind = s->kind;
        d.description = s->description;
      }
    return d;
  }

  std::string proc_;
  std::unique_ptr<ProcNet> net_;
  std::map<int, Descriptor> cache_;
  std::map<int, std::uint64_t> inodes_;
};

std::vector<Descriptor> thread_descriptors(const UserRegs& r, Args args, Resolver& res, ArgMemory& mem) {
  std::vector<Descriptor> out;
  switch (args) {
    case Args::fd:
      if (is_fd(r.rdi)) out.push_back(res.resolve(static_cast<int>(r.rdi)));
      break;
    case Args::poll:
      for (int fd : poll_fds(r, mem)) out.push_back(res.resolve(fd));
      break;
    case Args::select:
      for (int fd : select_fds(r, mem)) out.push_back(res.resolve(fd));
      break;
    case Args::epoll: {
      if (!is_fd(r.rdi)) break;
      int epfd = static_cast<int>(r.rdi);
      out.push_back(res.resolve(epfd));
      if (out.back().kind != "epoll") break;
      std::vector<int> fds = res.watched(epfd);
      if (fds.size() > kMaxPollFds) fds.resize(kMaxPollFds);
      for (int fd : fds) {
        out.push_back(res.resolve(fd));
        out.back().watched_by = epfd;
      }
      break;
    }
  }
  return out;
}

void note_core(const Snapshot& snap, std::vector<std::string>& notes) {
  std::size_t waiting = 0;
  for (const Thread& th : snap.threads)
    waiting += th.kind == Kind::thread && args_of(th.syscall_name).has_value();
  if (waiting)
    notes.push_back(fmt::format(
        "{} thread{} in I/O calls (read, recv, accept, poll, epoll_wait, ...): what their descriptors are "
        "is not in a core; `threadleak snapshot --pid PID` of the running process resolves them",
        waiting, waiting == 1 ? " is" : "s are"));
}

}  // namespace

std::vector<int> epoll_watched_fds(const std::string& fdinfo) {
  std::vector<int> fds;
  std::istringstream in(fdinfo);
  for (std::string line; std::getline(in, line);) {
    int fd = -1;
    if (std::sscanf(line.c_str(), "tfd: %d", &fd) == 1 && fd >= 0) fds.push_back(fd);
  }
  std::sort(fds.begin(), fds.end());
  fds.erase(std::unique(fds.begin(), fds.end()), fds.end());
  return fds;
}

Descriptor describe_link(int fd, const std::string& link, std::uint64_t* socket_inode) {
  auto inode_of = [&](std::string_view prefix) -> std::uint64_t {
    unsigned long long ino = 0;
    return std::sscanf(link.c_str() + prefix.size(), "%llu", &ino) == 1 ? ino : 0;
  };
  *socket_inode = 0;
  if (link.rfind("socket:[", 0) == 0) {
    *socket_inode = inode_of("socket:[");
    return {fd, "socket", link, std::nullopt, {}};
  }
  if (link.rfind("pipe:[", 0) == 0) return {fd, "pipe", link, std::nullopt, {}};
  if (link.rfind("/", 0) == 0) return {fd, "file", link, std::nullopt, {}};
  constexpr std::string_view kAnon = "anon_inode:";
  if (link.rfind(kAnon, 0) == 0) {
    std::string what = link.substr(kAnon.size());
    if (what.size() > 2 && what.front() == '[' && what.back() == ']') what = what.substr(1, what.size() - 2);
    if (what == "eventpoll") return {fd, "epoll", link, std::nullopt, {}};
    if (what == "eventfd" || what == "timerfd" || what == "signalfd") return {fd, what, link, std::nullopt, {}};
    return {fd, "anon", link, std::nullopt, {}};
  }
  return {fd, "other", link, std::nullopt, {}};
}

SocketWaits find_descriptors(Target& t, Snapshot& snap) {
  SocketWaits out;
  if (t.kind != "live") {
    note_core(snap, snap.notes);
    return out;
  }
  Resolver res(t.pid);
  ArgMemory mem(t.memory.get(), t.pid);
  for (std::size_t i = 0; i < t.threads.size() && i < snap.threads.size(); ++i) {
    const RawThread& raw = t.threads[i];
    Thread& th = snap.threads[i];
    if (!raw.regs || th.kind != Kind::thread || th.tid != raw.tid) continue;
    auto args = args_of(th.syscall_name);
    if (!args) continue;
    th.descriptors = thread_descriptors(*raw.regs, *args, res, mem);
    for (std::size_t k = 0; k < th.descriptors.size(); ++k)
      if (std::uint64_t ino = res.inode(th.descriptors[k].fd); ino && th.descriptors[k].kind != "closed")
        out.sockets.push_back({i, k, ino});
  }
  out.net = res.take_net();
  return out;
}

}  // namespace threadleak::detail
