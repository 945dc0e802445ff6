#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>

#include <fmt/format.h>

#include "threadleak/threadleak.hpp"
#include "util.hpp"

namespace threadleak {
namespace {
std::mutex g_log_mutex;
LogSink g_log_sink;
}  // namespace

void set_log_sink(LogSink sink) {
  std::lock_guard lock(g_log_mutex);
  g_log_sink = std::move(sink);
}

namespace detail {

bool log_enabled() {
  std::lock_guard lock(g_log_mutex);
  return static_cast<bool>(g_log_sink);
}

void log(const std::string& msg) {
  std::lock_guard lock(g_log_mutex);
  if (g_log_sink) g_log_sink(msg);
}

std::string hex(std::uint64_t v) { return fmt::format("{:#x}", v); }
std::string fmt_byte(unsigned char b) { return fmt::format("{:02x}", b); }
std::string hex_bytes(const unsigned char* p, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += fmt_byte(p[i]);
  return s;
}

std::string dwfl_error() {
  const char* m = dwfl_errmsg(-1);
  return m ? m : "unknown libdwfl error";
}

std::string errno_text(int err) { return std::strerror(err); }

std::string read_small_file(const std::string& path, std::size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::string out;
  char buf[4096];
  while (out.size() < limit) {
    in.read(buf, sizeof buf);
    if (in.gcount() <= 0) break;
    out.append(buf, static_cast<std::size_t>(in.gcount()));
  }
  if (out.size() > limit) out.resize(limit);
  return out;
}

namespace {
std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

PhaseTimer::PhaseTimer() : on_(log_enabled()) {
  if (on_) last_ns_ = now_ns();
}

void PhaseTimer::mark(const char* what) {
  if (!on_) return;
  std::int64_t t = now_ns();
  log(fmt::format("{}: {:.1f} ms", what, static_cast<double>(t - last_ns_) / 1e6));
  last_ns_ = t;
}

}  // namespace detail
}  // namespace threadleak
