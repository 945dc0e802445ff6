// Reads systemd-coredump's metadata from a core's file name (coredump_name.hpp).
#include "source/coredump_name.hpp"

#include <charconv>
#include <ctime>
#include <string_view>
#include <vector>

#include "source/proc_facts.hpp"

namespace threadleak::detail {
namespace {

template <typename T>
std::optional<T> decimal(std::string_view s) {
  T v{};
  if (s.empty() || s.size() > 20) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

bool is_boot_id(std::string_view s) {
  if (s.size() != 32) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// systemd's xescape: \xNN for the bytes it will not put in a file name.
std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x' && hex_digit(s[i + 2]) >= 0 &&
        hex_digit(s[i + 3]) >= 0) {
      out += static_cast<char>(hex_digit(s[i + 2]) * 16 + hex_digit(s[i + 3]));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The last n dot-separated fields of s, and what precedes them.
bool split_tail(std::string_view s, std::size_t n, std::string_view& head, std::vector<std::string_view>& tail) {
  tail.assign(n, {});
  for (std::size_t i = n; i-- > 0;) {
    std::size_t dot = s.rfind('.');
    if (dot == std::string_view::npos) return false;
    tail[i] = s.substr(dot + 1);
    s = s.substr(0, dot);
  }
  head = s;
  return true;
}

}  // namespace

std::optional<Coredump> coredump_from_name(const std::string& path) {
  std::string_view name(path);
  if (auto slash = name.rfind('/'); slash != std::string_view::npos) name = name.substr(slash + 1);
  for (std::string_view ext : {".zst", ".lz4", ".xz"})
    if (name.ends_with(ext)) { name.remove_suffix(ext.size()); break; }
  if (!name.starts_with("core.")) return std::nullopt;
  name.remove_prefix(5);
  std::string_view comm;
  std::vector<std::string_view> f;   // uid, boot id, pid, timestamp
  if (!split_tail(name, 4, comm, f) || comm.empty() || !is_boot_id(f[1])) return std::nullopt;
  auto uid = decimal<unsigned>(f[0]);
  auto pid = decimal<int>(f[2]);
  auto usec = decimal<std::uint64_t>(f[3]);
  if (!uid || !pid || *pid <= 0 || !usec) return std::nullopt;
  Coredump c;
  c.comm = unescape(comm);
  c.uid = *uid;
  c.pid = *pid;
  c.boot_id = std::string(f[1]);
  c.time = iso_utc(static_cast<std::time_t>(*usec / 1000000));
  return c;
}

}  // namespace threadleak::detail
