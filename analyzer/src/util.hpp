// Small RAII types and helpers shared by the stages: file descriptors,
// libelf/libdw handles, logging and formatting of hex addresses.
#pragma once

#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace threadleak::detail {

// A move-only owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) { reset(); fd_ = std::exchange(o.fd_, -1); }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset() { if (fd_ >= 0) ::close(fd_); fd_ = -1; }

 private:
  int fd_ = -1;
};

struct ElfDeleter { void operator()(Elf* e) const { elf_end(e); } };
struct DwflDeleter { void operator()(Dwfl* d) const { dwfl_end(d); } };
using ElfPtr = std::unique_ptr<Elf, ElfDeleter>;
using DwflPtr = std::unique_ptr<Dwfl, DwflDeleter>;

// The library's log channel (see set_log_sink); cheap when nobody listens.
bool log_enabled();
void log(const std::string& msg);

std::string hex(std::uint64_t v);
// Two lowercase hex digits.
std::string fmt_byte(unsigned char b);
// Build-id bytes as lowercase hex.
std::string hex_bytes(const unsigned char* p, int n);
// libdwfl's last error as text.
std::string dwfl_error();
// strerror(errno) of the given errno value.
std::string errno_text(int err);

// The element of `sorted` (ascending by start, not overlapping) whose
// [start, end) holds `addr`, or null. `start` and `end` are member
// pointers or callables taking an element:
//   range_holding(funcs, pc, &FuncRange::low, &FuncRange::high)
template <typename Range, typename Start, typename End>
const Range* range_holding(const std::vector<Range>& sorted, std::uint64_t addr, Start start, End end) {
  auto it = std::upper_bound(sorted.begin(), sorted.end(), addr, [&](std::uint64_t a, const Range& r) {
    return a < static_cast<std::uint64_t>(std::invoke(start, r));
  });
  if (it == sorted.begin()) return nullptr;
  --it;
  return addr < static_cast<std::uint64_t>(std::invoke(end, *it)) ? &*it : nullptr;
}

// Reads a whole small text file (e.g. under /proc); "" on failure.
std::string read_small_file(const std::string& path, std::size_t limit = 1 << 20);

}  // namespace threadleak::detail

namespace threadleak::detail {

// Logs how long each phase took (with -v); costs nothing when nobody listens.
class PhaseTimer {
 public:
  PhaseTimer();
  // Logs "<what>: N ms (cpu M ms)" since the previous mark (or
  // construction): wall time, and the calling thread's CPU time.
  void mark(const char* what);

 private:
  bool on_;
  std::int64_t last_ns_ = 0, last_cpu_ns_ = 0;
};

}  // namespace threadleak::detail
