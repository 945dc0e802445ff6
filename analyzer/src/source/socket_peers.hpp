// Who is at the other end of the connected sockets that threads of a live
// process wait on (Descriptor::peers). The peer socket: for a UNIX socket,
// the kernel's answer to a sock_diag query (UNIX_DIAG_PEER); for TCP/UDP,
// the socket of the target's network namespace whose addresses are the
// waited socket's swapped (ProcNet::inet_peer). Its holders: the processes
// whose /proc/PID/fd links name "socket:[PEER]". Read-only, after the thaw,
// once per capture and only for the sockets found by find_descriptors.
// Internal to the analyzer.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "source/descriptors.hpp"
#include "target.hpp"

namespace threadleak::detail {

// Fills snap.threads[..].descriptors[..].peers for `waits.sockets`. A peer
// not visible (another network namespace, a process whose fds cannot be
// read, one that exited) is left out; nothing here fails.
void find_socket_peers(Snapshot& snap, SocketWaits& waits);

// The inode of the socket connected to UNIX socket `inode`, by a
// NETLINK_SOCK_DIAG query in threadleak's own network namespace; 0 when it
// has none (a listener, unconnected) or is not found (exposed for tests).
std::uint64_t unix_peer_inode(std::uint64_t inode);
// The same for many sockets: the ones with a peer, mapped to it. Up to 16
// by single requests, more by one dump of all UNIX sockets (the kernel
// walks every socket to find one by inode).
std::unordered_map<std::uint64_t, std::uint64_t> unix_peer_inodes(const std::unordered_set<std::uint64_t>& inodes);

// The processes holding each of `inodes` (by pid, then fd; at most
// `max_each` per inode), from one pass over /proc/*/fd (exposed for tests).
std::unordered_map<std::uint64_t, std::vector<SocketPeer>> socket_holders(
    const std::unordered_set<std::uint64_t>& inodes, std::size_t max_each = 8);

}  // namespace threadleak::detail
