// A process's sockets as its network namespace lists them in
// /proc/PID/net/{tcp,tcp6,udp,udp6,unix}: by inode (the N of a
// "socket:[N]" descriptor link), each with its kind and a one-line
// description of its addresses and state. Internal to the analyzer.
//
//   ProcNet net(4711);
//   if (const NetSocket* s = net.find(123456))   // reads the tables on first use
//     std::printf("%s %s\n", s->kind.c_str(), s->description.c_str());
//   // tcp 127.0.0.1:41234 -> 127.0.0.1:5432 ESTABLISHED
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

namespace threadleak::detail {

struct NetSocket {
  std::string kind;          // "tcp", "tcp6", "udp", "udp6", "unix"
  std::string description;   // "LOCAL -> PEER STATE", "LOCAL LISTEN", "stream /run/x.sock CONNECTED"
  // TCP/UDP sockets with a peer address: both ends as "ADDR:PORT", an
  // IPv4-mapped IPv6 address as IPv4 (the key of inet_peer); else empty.
  std::string local, remote;
};

// Parsers of one table's text (exposed for tests); add each socket to `out`.
void parse_inet_table(const std::string& text, const std::string& kind, bool v6,
                      std::unordered_map<std::uint64_t, NetSocket>& out);
void parse_unix_table(const std::string& text, std::unordered_map<std::uint64_t, NetSocket>& out);

class ProcNet {
 public:
  explicit ProcNet(int pid) : pid_(pid) {}
  // The socket of inode `ino`, or nullptr if no table lists it (another
  // family: netlink, packet, ...). Each table is read once, the first time
  // a lookup misses in the ones read before it.
  const NetSocket* find(std::uint64_t ino);
  // The inode of the socket at the other end of TCP/UDP socket `ino`: the
  // one of the same protocol (v4 or v6 table) whose local and remote
  // addresses are `ino`'s swapped; 0 when none is listed (the peer is on
  // another host or in another network namespace, or `ino` is not
  // connected). Reads both tables of the protocol.
  std::uint64_t inet_peer(std::uint64_t ino);

 private:
  void read_through(std::size_t table);   // reads the tables up to and including `table`

  int pid_;
  std::size_t next_ = 0;   // the next table to read
  std::unordered_map<std::uint64_t, NetSocket> sockets_;
  std::unordered_map<std::string, std::uint64_t> by_ends_;   // "tcp LOCAL REMOTE" -> inode
  std::size_t indexed_ = 0;                                 // tables in by_ends_
};

}  // namespace threadleak::detail
