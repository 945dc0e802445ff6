// /proc/PID/net tables. tcp/udp lines read
//   sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
// with addresses as hex words in host byte order ("0100007F:1F90" is
// 127.0.0.1:8080); unix lines read
//   Num RefCount Protocol Flags Type St Inode [Path]
#include "source/proc_net.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "util.hpp"

namespace threadleak::detail {
namespace {

constexpr std::size_t kMaxTableBytes = 64u << 20;

// include/net/tcp_states.h, 1-based.
constexpr std::array<const char*, 12> kTcpStates{
    "?",          "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
    "TIME_WAIT",  "CLOSE",       "CLOSE_WAIT", "LAST_ACK", "LISTEN",   "CLOSING"};
constexpr unsigned kListen = 10;

// "0100007F:1F90" -> "127.0.0.1:8080"; "[::1]:8080" for v6. "" if
// malformed. `mapped_as_v4`: "[::ffff:127.0.0.1]:8080" as "127.0.0.1:8080".
std::string inet_endpoint(const std::string& hex, bool v6, bool mapped_as_v4 = false) {
  std::size_t colon = hex.find(':');
  if (colon == std::string::npos || colon != (v6 ? 32u : 8u)) return "";
  unsigned port = 0;
  if (std::sscanf(hex.c_str() + colon + 1, "%x", &port) != 1) return "";
  unsigned char bytes[16];
  for (std::size_t w = 0; w < colon / 8; ++w) {
    std::uint32_t word = 0;
    if (std::sscanf(hex.substr(w * 8, 8).c_str(), "%x", &word) != 1) return "";
    std::memcpy(bytes + 4 * w, &word, 4);   // the kernel printed the word as it lies in memory
  }
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  const unsigned char* addr = bytes;
  if (v6 && mapped_as_v4 && std::memcmp(bytes, kMapped, sizeof kMapped) == 0) {
    v6 = false;
    addr = bytes + 12;
  }
  char text[INET6_ADDRSTRLEN] = {};
  if (!::inet_ntop(v6 ? AF_INET6 : AF_INET, addr, text, sizeof text)) return "";
  return v6 ? fmt::format("[{}]:{}", text, port) : fmt::format("{}:{}", text, port);
}

bool unspecified(const std::string& hex) { return hex.find_first_not_of("0:") == std::string::npos; }

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(std::move(line));
  return lines;
}

std::string inet_description(const std::string& local, const std::string& remote, unsigned st,
                             bool tcp, bool v6) {
  std::string d = inet_endpoint(local, v6);
  if (!unspecified(remote)) d += " -> " + inet_endpoint(remote, v6);
  if (tcp) d += std::string(" ") + (st < kTcpStates.size() ? kTcpStates[st] : "?");
  return d;
}

const char* unix_type(unsigned type) {
  switch (type) {
    case 1: return "stream";
    case 2: return "dgram";
    case 5: return "seqpacket";
    default: return "?";
  }
}

const char* unix_state(unsigned st, bool listening) {
  if (listening) return "LISTEN";
  switch (st) {
    case 1: return "UNCONNECTED";
    case 2: return "CONNECTING";
    case 3: return "CONNECTED";
    case 4: return "DISCONNECTING";
    default: return "?";
  }
}

}  // namespace

void parse_inet_table(const std::string& text, const std::string& kind, bool v6,
                      std::unordered_map<std::uint64_t, NetSocket>& out) {
  const bool tcp = kind.rfind("tcp", 0) == 0;
  for (std::size_t pos = 0, eol; pos < text.size(); pos = eol + 1) {
    eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    // sscanf, not a stream per line: a busy host lists thousands of sockets.
    char local[64], remote[64];
    unsigned st = 0;
    unsigned long long ino = 0;
    if (std::sscanf(text.c_str() + pos, " %*u: %63s %63s %x %*s %*s %*s %*u %*u %llu", local, remote, &st, &ino) != 4)
      continue;   // the header
    if (ino == 0) continue;   // a socket being torn down (TIME_WAIT, ...)
    std::string here = inet_endpoint(local, v6);
    if (here.empty()) continue;
    if (tcp && st == kListen) {
      out[ino] = {kind, here + " LISTEN", "", ""};
      continue;
    }
    NetSocket s{kind, inet_description(local, remote, st, tcp, v6), "", ""};
    if (!unspecified(remote)) {
      s.local = inet_endpoint(local, v6, true);
      s.remote = inet_endpoint(remote, v6, true);
    }
    out[ino] = std::move(s);
  }
}

void parse_unix_table(const std::string& text, std::unordered_map<std::uint64_t, NetSocket>& out) {
  for (const std::string& line : split_lines(text)) {
    std::istringstream in(line);
    std::string num, refs, proto;
    unsigned flags = 0, type = 0, st = 0;
    unsigned long long ino = 0;
    if (!(in >> num >> refs >> proto >> std::hex >> flags >> type >> st >> std::dec >> ino)) continue;
    if (num.empty() || num.back() != ':' || ino == 0) continue;
    std::string path;
    std::getline(in >> std::ws, path);
    constexpr unsigned kAcceptConnections = 0x10000;   // __SO_ACCEPTCON: a listening socket
    out[ino] = {"unix", fmt::format("{} {} {}", unix_type(type), path.empty() ? "unnamed" : path,
                                    unix_state(st, flags & kAcceptConnections)), "", ""};
  }
}

namespace {
constexpr struct { const char* name; bool v6; } kTables[] = {
    {"tcp", false}, {"tcp6", true}, {"udp", false}, {"udp6", true}, {"unix", false}};
constexpr std::size_t kTcp6 = 1, kUdp6 = 3;

std::string ends_key(const NetSocket& s, const std::string& local, const std::string& remote) {
  return fmt::format("{} {} {}", s.kind.substr(0, 3), local, remote);   // tcp6 and tcp alike
}
}  // namespace

void ProcNet::read_through(std::size_t table) {
  while (next_ <= table && next_ < std::size(kTables)) {
    const auto& t = kTables[next_++];
    std::string text = read_small_file("/proc/" + std::to_string(pid_) + "/net/" + t.name, kMaxTableBytes);
    if (next_ == std::size(kTables)) parse_unix_table(text, sockets_);
    else parse_inet_table(text, t.name, t.v6, sockets_);
  }
}

const NetSocket* ProcNet::find(std::uint64_t ino) {
  // Table by table, each read only when the ones read so far do not list
  // the inode: a TCP server's sockets are all in the first.
  for (;;) {
    if (auto it = sockets_.find(ino); it != sockets_.end()) return &it->second;
    if (next_ == std::size(kTables)) return nullptr;
    read_through(next_);
  }
}

std::uint64_t ProcNet::inet_peer(std::uint64_t ino) {
  const NetSocket* s = find(ino);
  if (!s || s->remote.empty()) return 0;
  read_through(s->kind.rfind("tcp", 0) == 0 ? kTcp6 : kUdp6);
  if (indexed_ != next_) {   // (re)index once per table read, not per lookup
    by_ends_.clear();
    for (const auto& [i, n] : sockets_)
      if (!n.remote.empty()) by_ends_.emplace(ends_key(n, n.local, n.remote), i);
    indexed_ = next_;
  }
  auto it = by_ends_.find(ends_key(*s, s->remote, s->local));
  return it == by_ends_.end() || it->second == ino ? 0 : it->second;
}

}  // namespace threadleak::detail
