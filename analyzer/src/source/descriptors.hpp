// What a thread blocked in I/O waits on (Thread::descriptors): the
// descriptors named by its system call's arguments, resolved through the
// live process's /proc/PID/fd, fdinfo and net tables. Runs after a live
// capture has thawed the process (never inside the frozen window); on a
// core it only adds a note (descriptors are not in a core). Internal to the
// analyzer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "source/proc_net.hpp"
#include "target.hpp"

namespace threadleak::detail {

// The sockets find_descriptors resolved, for find_socket_peers: where each
// lies in the snapshot and its inode, and the net tables already read.
struct SocketWaits {
  struct Socket {
    std::size_t thread, descriptor;   // snap.threads[thread].descriptors[descriptor]
    std::uint64_t inode;
  };
  std::vector<Socket> sockets;
  std::unique_ptr<ProcNet> net;        // null on a core
};

// Fills snap.threads[i].descriptors from t.threads[i]'s registers (the
// call's arguments: rdi, rsi, rdx, r10) for threads in read/readv/pread,
// write/writev, recv*/send*, accept*/connect, poll/ppoll, select/pselect6
// and epoll_wait/epoll_pwait(2), named by snap.threads[i].syscall_name
// (classify has seen through restart_syscall). Poll and select sets are
// read from the target's memory. Reads only. Returns the sockets among
// them (none on a core).
SocketWaits find_descriptors(Target& t, Snapshot& snap);

// The descriptors an epoll set watches, from the "tfd:" lines of its
// /proc/PID/fdinfo/EPFD text (exposed for tests).
std::vector<int> epoll_watched_fds(const std::string& fdinfo);

// The descriptor a /proc/PID/fd/N link names, without the socket lookup:
// kind "pipe", "file", "epoll", ... (exposed for tests). A "socket:[N]"
// link gives kind "socket" and `socket_inode` N.
Descriptor describe_link(int fd, const std::string& link, std::uint64_t* socket_inode);

}  // namespace threadleak::detail
