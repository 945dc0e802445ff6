#include "source/thread_cpu.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include <fmt/format.h>

namespace threadleak::detail {
namespace {

std::optional<std::uint64_t> leading_number(std::string_view s) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end == s.data()) return std::nullopt;
  return v;
}

// Reads a small /proc file relative to `dir` into buf; the text, or
// nullopt with errno set.
std::optional<std::string_view> read_at(int dir, const char* path, char* buf, std::size_t size) {
  Fd fd(::openat(dir, path, O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  ssize_t n = ::read(fd.get(), buf, size);
  if (n < 0) return std::nullopt;
  return std::string_view(buf, static_cast<std::size_t>(n));
}

}  // namespace

std::optional<std::uint64_t> schedstat_ns(std::string_view text) { return leading_number(text); }

std::optional<std::uint64_t> stat_ticks(std::string_view text) {
  std::size_t close = text.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view rest = text.substr(close + 1);
  // Fields after the name: 3 state, 4 ppid, ... 14 utime, 15 stime.
  std::optional<std::uint64_t> utime, stime;
  for (int field = 3; field <= 15; ++field) {
    std::size_t start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(start);
    std::size_t end = std::min(rest.find(' '), rest.size());
    if (field == 14) utime = leading_number(rest.substr(0, end));
    if (field == 15) stime = leading_number(rest.substr(0, end));
    rest.remove_prefix(end);
  }
  if (!utime || !stime) return std::nullopt;
  return *utime + *stime;
}

void read_thread_cpu(Target& t, const std::string& proc) {
  Fd dir(::open((proc + "/task").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return;
  bool schedstat = true;
  const long tick_ns = 1'000'000'000L / std::max(1L, ::sysconf(_SC_CLK_TCK));
  char path[48], buf[512];
  for (RawThread& th : t.threads) {
    if (schedstat) {
      fmt::format_to_n(path, sizeof path - 1, "{}/schedstat", th.tid).out[0] = '\0';
      if (auto text = read_at(dir.get(), path, buf, sizeof buf)) {
        th.cpu_ns = schedstat_ns(*text);
        continue;
      }
      if (errno != ENOENT || ::faccessat(dir.get(), fmt::format("{}", th.tid).c_str(), F_OK, 0) != 0) continue;
      schedstat = false;   // the thread is there, its schedstat is not: a kernel without CONFIG_SCHED_INFO
    }
    fmt::format_to_n(path, sizeof path - 1, "{}/stat", th.tid).out[0] = '\0';
    if (auto text = read_at(dir.get(), path, buf, sizeof buf))
      if (auto ticks = stat_ticks(*text)) th.cpu_ns = *ticks * static_cast<std::uint64_t>(tick_ns);
  }
  t.cpu_from = schedstat ? "schedstat" : "proc-stat";
}

}  // namespace threadleak::detail
