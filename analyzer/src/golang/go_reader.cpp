#include "golang/go_reader.hpp"

#include <algorithm>
#include <cstring>
#include <map>

#include <fmt/format.h>

namespace threadleak::detail::golang {
namespace {

constexpr std::uint32_t kScanBit = 0x1000;
constexpr std::uint32_t kIdle = 0, kRunning = 2, kSyscall = 3, kWaiting = 4, kDead = 6;
constexpr std::size_t kMaxGoroutines = 1u << 24;   // sanity cap against a corrupt allglen
constexpr std::size_t kMaxMs = 1u << 16;

std::optional<std::uint64_t> read_uint(Memory& mem, std::uint64_t addr, std::size_t size) {
  if (size == 0 || size > 8) return std::nullopt;
  std::uint64_t v = 0;
  if (mem.read(addr, &v, size) != size) return std::nullopt;
  return v;  // little-endian target
}

std::uint64_t field(const std::vector<unsigned char>& obj, const Field& f) {
  std::uint64_t v = 0;
  if (f.size <= 8 && f.offset + f.size <= obj.size()) std::memcpy(&v, obj.data() + f.offset, f.size);
  return v;
}

std::size_t object_size(const GoLayout& l) {
  std::uint64_t end = 0;
  for (const Field& f : {l.g_stack_lo, l.g_stack_hi, l.g_m, l.g_sched_sp, l.g_sched_pc, l.g_sched_bp,
                         l.g_syscallsp, l.g_syscallpc, l.g_status, l.g_goid, l.g_waitsince,
                         l.g_waitreason, l.g_gopc, l.g_startpc})
    end = std::max(end, f.offset + f.size);
  return end;
}

// m address -> (TID, curg)
struct MInfo { int tid; std::uint64_t curg; };

std::map<std::uint64_t, MInfo> read_ms(GoCapture& c, const GoLayout& l, Memory& mem) {
  std::map<std::uint64_t, MInfo> ms;
  auto m = read_uint(mem, l.allm + c.bias, 8);
  for (std::size_t n = 0; m && *m && n < kMaxMs; ++n) {
    auto procid = read_uint(mem, *m + l.m_procid.offset, l.m_procid.size);
    auto curg = read_uint(mem, *m + l.m_curg.offset, 8);
    if (!procid || !curg) {
      c.warnings.push_back(fmt::format("Go runtime: cannot read runtime.m at {:#x}", *m));
      break;
    }
    if (!ms.emplace(*m, MInfo{static_cast<int>(*procid), *curg}).second) break;  // a cycle
    if (*procid) c.m_tids.insert(static_cast<int>(*procid));
    m = read_uint(mem, *m + l.m_alllink.offset, 8);
  }
  return ms;
}

// The string bytes live in read-only data, which cores often leave out:
// read them from the executable when the target's memory has no copy.
std::string wait_string(const GoCapture& c, const GoLayout& l, Memory& mem, unsigned idx) {
  if (idx >= l.wait_count) return {};
  auto ptr = read_uint(mem, l.wait_strings + c.bias + idx * 16, 8);
  auto len = read_uint(mem, l.wait_strings + c.bias + idx * 16 + 8, 8);
  if (!ptr || !len || *len > 256) return {};
  std::string s(*len, '\0');
  if (mem.read(*ptr, s.data(), s.size()) == s.size()) return s;
  if (c.dwarf->read_static(*ptr - c.bias, s.data(), s.size()) == s.size()) return s;
  return {};
}

// Frame-pointer walk: the return address sits at [bp+8], the caller's bp
// at [bp]; stop when bp leaves the stack or stops growing.
void walk_frames(RawGoroutine& g, Memory& mem, std::uint64_t pc, std::uint64_t bp, std::uint64_t lo,
                 std::uint64_t hi, unsigned max_frames) {
  g.pcs.push_back(pc);
  while (bp >= lo && bp + 16 <= hi) {
    if (g.pcs.size() >= max_frames) { g.truncated = true; return; }
    std::uint64_t words[2];
    if (mem.read(bp, words, sizeof words) != sizeof words) {
      g.error = fmt::format("cannot read the goroutine's stack at {:#x}", bp);
      return;
    }
    if (words[1] == 0) return;
    g.pcs.push_back(words[1]);
    if (words[0] <= bp) return;
    bp = words[0];
  }
}

void unwind(RawGoroutine& g, const std::vector<unsigned char>& obj, const GoLayout& l, Memory& mem,
            unsigned max_frames) {
  std::uint64_t lo = field(obj, l.g_stack_lo), hi = field(obj, l.g_stack_hi);
  std::uint64_t syscallsp = field(obj, l.g_syscallsp);
  if (g.status == kSyscall && syscallsp) {
    // sched.bp is stale in a syscall: entersyscall's caller saved its bp
    // just below the return address at syscallsp.
    auto bp = read_uint(mem, syscallsp - 16, 8);
    walk_frames(g, mem, field(obj, l.g_syscallpc), bp.value_or(0), lo, hi, max_frames);
    return;
  }
  std::uint64_t pc = field(obj, l.g_sched_pc);
  if (pc == 0) { g.error = "no saved pc"; return; }
  walk_frames(g, mem, pc, field(obj, l.g_sched_bp), lo, hi, max_frames);
}

}  // namespace

void read_goroutines(GoCapture& c, const GoLayout& l, Memory& mem, unsigned max_frames) {
  auto array = read_uint(mem, l.allgs + c.bias, 8);
  auto len = read_uint(mem, l.allgs + c.bias + 8, 8);
  if (!array || !len || *len > kMaxGoroutines) {
    c.warnings.push_back("Go runtime: cannot read runtime.allgs; goroutines are not shown");
    return;
  }
  std::vector<std::uint64_t> gptrs(*len);
  if (*len && mem.read(*array, gptrs.data(), *len * 8) != *len * 8) {
    c.warnings.push_back("Go runtime: cannot read the runtime.allgs array; goroutines are not shown");
    return;
  }
  auto ms = read_ms(c, l, mem);
  std::map<std::uint64_t, std::uint64_t> sema_of;  // g -> semaphore
  if (c.sema) {
    sema_of = read_sema_waiters(*c.sema, c.bias, mem, c.warnings);
    c.timers = read_pending_timers(*c.sema, c.bias, mem);
  }
  std::vector<unsigned char> obj(object_size(l));
  std::size_t unreadable = 0;
  for (std::uint64_t gp : gptrs) {
    if (!gp || mem.read(gp, obj.data(), obj.size()) != obj.size()) { ++unreadable; continue; }
    RawGoroutine g;
    g.status = static_cast<std::uint32_t>(field(obj, l.g_status)) & ~kScanBit;
    if (g.status == kDead || g.status == kIdle) continue;
    g.goid = static_cast<std::int64_t>(field(obj, l.g_goid));
    g.wait_reason = static_cast<std::uint8_t>(field(obj, l.g_waitreason));
    if (g.status == kWaiting) g.wait_text = wait_string(c, l, mem, g.wait_reason);
    if (auto it = sema_of.find(gp); it != sema_of.end() && g.status == kWaiting) g.sema = it->second;
    g.wait_since = static_cast<std::int64_t>(field(obj, l.g_waitsince));
    g.gopc = field(obj, l.g_gopc);
    g.startpc = field(obj, l.g_startpc);
    if (auto it = ms.find(field(obj, l.g_m)); it != ms.end() && it->second.curg == gp) g.tid = it->second.tid;
    g.on_thread_stack = g.status == kRunning && g.tid != 0;
    if (!g.on_thread_stack) unwind(g, obj, l, mem, max_frames);
    c.goroutines.push_back(std::move(g));
  }
  if (unreadable)
    c.warnings.push_back(fmt::format("Go runtime: {} goroutine records could not be read", unreadable));
  std::sort(c.goroutines.begin(), c.goroutines.end(),
            [](const RawGoroutine& a, const RawGoroutine& b) { return a.goid < b.goid; });
}

}  // namespace threadleak::detail::golang
