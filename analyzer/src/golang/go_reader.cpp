#include "golang/go_reader.hpp"

#include <algorithm>
#include <cstring>
#include <map>

#include <fmt/format.h>

namespace threadleak::detail::golang {
namespace {

constexpr std::uint32_t kScanBit = 0x1000;
constexpr std::uint32_t kIdle = 0, kRunning = 2, kSyscall = 3, kWaiting = 4, kDead = 6, kLeaked = 10;
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
  std::uint64_t end = l.g_syscallbp ? l.g_syscallbp->offset + l.g_syscallbp->size : 0;
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
  if (!l.wait_strings) return {};
  auto ptr = read_uint(mem, l.wait_strings + c.bias + idx * 16, 8);
  auto len = read_uint(mem, l.wait_strings + c.bias + idx * 16 + 8, 8);
  if (!ptr || !len || *len > 256) return {};
  std::string s(*len, '\0');
  if (mem.read(*ptr, s.data(), s.size()) == s.size()) return s;
  if (c.image->read(*ptr - c.bias, s.data(), s.size()) == s.size()) return s;
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
    // sched.bp is stale in a syscall: Go 1.23+ records the bp at entry
    // (syscallbp); before, entersyscall's caller saved its bp just below
    // the return address at syscallsp.
    std::optional<std::uint64_t> bp;
    if (l.g_syscallbp) bp = field(obj, *l.g_syscallbp);
    else bp = read_uint(mem, syscallsp - 16, 8);
    walk_frames(g, mem, field(obj, l.g_syscallpc), bp.value_or(0), lo, hi, max_frames);
    return;
  }
  std::uint64_t pc = field(obj, l.g_sched_pc);
  if (pc == 0) { g.error = "no saved pc"; return; }
  walk_frames(g, mem, pc, field(obj, l.g_sched_bp), lo, hi, max_frames);
}

// A plausible runtime.g: ordered stack bounds of a sane size (dead gs
// may have none), a known status, a goid that fits.
bool plausible_g(const std::vector<unsigned char>& obj, const GoLayout& l) {
  std::uint64_t lo = field(obj, l.g_stack_lo), hi = field(obj, l.g_stack_hi);
  std::uint32_t status = static_cast<std::uint32_t>(field(obj, l.g_status)) & ~kScanBit;
  if (status > 10 || field(obj, l.g_goid) > (1ull << 48)) return false;
  return (lo == 0 && hi == 0 && status == kDead) || (lo < hi && hi - lo <= (1ull << 30) && hi - lo >= 1024);
}

// How many ms the chain from `head` holds whose procid is one of the
// target's threads; -1 when the chain is not one of ms (a procid that is
// not a thread, an unreadable link).
int m_chain_score(std::uint64_t head_addr, const GoLayout& l, Memory& mem, const std::set<int>& tids) {
  auto m = read_uint(mem, head_addr, 8);
  int matched = 0;
  std::set<std::uint64_t> seen;
  for (; m && *m && seen.insert(*m).second && seen.size() < kMaxMs;
       m = read_uint(mem, *m + l.m_alllink.offset, 8)) {
    auto procid = read_uint(mem, *m + l.m_procid.offset, l.m_procid.size);
    if (!procid) return -1;
    if (*procid == 0) continue;             // an m whose thread has not started
    if (!tids.count(static_cast<int>(*procid))) return -1;
    ++matched;
  }
  return m ? matched : -1;
}

int allgs_score(std::uint64_t addr, const GoLayout& l, Memory& mem) {
  std::uint64_t hdr[3];
  if (mem.read(addr, hdr, sizeof hdr) != sizeof hdr || !hdr[0] || !hdr[1] || hdr[1] > hdr[2] || hdr[2] > kMaxGoroutines)
    return -1;
  std::vector<unsigned char> obj(object_size(l));
  std::size_t n = std::min<std::uint64_t>(hdr[1], 64);
  for (std::size_t i = 0; i < n; ++i) {
    auto gp = read_uint(mem, hdr[0] + i * 8, 8);
    if (!gp || !*gp || mem.read(*gp, obj.data(), obj.size()) != obj.size() || !plausible_g(obj, l)) return -1;
  }
  return static_cast<int>(n);
}

template <typename Score>
std::uint64_t best_candidate(const std::vector<std::uint64_t>& candidates, std::uint64_t bias, Score score) {
  std::uint64_t best = 0;
  int best_score = 0;
  for (std::uint64_t c : candidates)
    if (int s = score(c + bias); s > best_score) best = c, best_score = s;
  return best;
}

// A stripped binary's globals: of the addresses its code names, the ones
// whose contents are what allm and allgs must be.
bool choose_globals(GoCapture& c, GoLayout& l, Memory& mem, const std::set<int>& tids) {
  if (!l.allm)
    l.allm = best_candidate(l.allm_candidates, c.bias,
                            [&](std::uint64_t a) { return m_chain_score(a, l, mem, tids); });
  if (!l.allgs)
    l.allgs = best_candidate(l.allgs_candidates, c.bias, [&](std::uint64_t a) { return allgs_score(a, l, mem); });
  if (!l.allgs) {
    c.warnings.push_back(fmt::format("Go runtime: runtime.allgs not found among the {} places the runtime's code "
                                     "names; goroutines are not shown", l.allgs_candidates.size()));
    return false;
  }
  if (!l.allm)
    c.warnings.push_back("Go runtime: runtime.allm not found; goroutines are not matched to their OS threads");
  return true;
}

// Every M's current goroutine must be among allgs: else what was found is
// not the whole set.
void check_curgs(GoCapture& c, const std::map<std::uint64_t, MInfo>& ms, const std::vector<std::uint64_t>& gptrs) {
  std::set<std::uint64_t> all(gptrs.begin(), gptrs.end());
  for (const auto& [m, info] : ms)
    if (info.curg && !all.count(info.curg))
      c.warnings.push_back(fmt::format("Go runtime: thread {}'s current goroutine ({:#x}) is not in runtime.allgs; "
                                       "the goroutine list may be incomplete", info.tid, info.curg));
}

}  // namespace

void read_goroutines(GoCapture& c, const GoLayout& layout, Memory& mem, unsigned max_frames,
                     const std::set<int>& tids) {
  GoLayout l = layout;
  if ((!l.allgs || !l.allm) && !choose_globals(c, l, mem, tids)) return;
  c.layout.allgs = l.allgs, c.layout.allm = l.allm;
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
  auto ms = l.allm ? read_ms(c, l, mem) : std::map<std::uint64_t, MInfo>{};
  check_curgs(c, ms, gptrs);
  if (c.sema) choose_sema_globals(*c.sema, c.bias, mem);
  std::map<std::uint64_t, std::uint64_t> sema_of;  // g -> semaphore
  if (c.sema && c.sema->table.address) {
    sema_of = read_sema_waiters(*c.sema, c.bias, mem, c.warnings);
    c.timers = read_pending_timers(*c.sema, c.bias, mem);
  }
  std::vector<unsigned char> obj(object_size(l));
  std::size_t unreadable = 0;
  c.goroutines.reserve(gptrs.size());
  for (std::uint64_t gp : gptrs) {
    if (!gp || mem.read(gp, obj.data(), obj.size()) != obj.size()) { ++unreadable; continue; }
    RawGoroutine g;
    g.status = static_cast<std::uint32_t>(field(obj, l.g_status)) & ~kScanBit;
    if (g.status == kDead || g.status == kIdle) continue;
    g.goid = static_cast<std::int64_t>(field(obj, l.g_goid));
    g.wait_reason = static_cast<std::uint8_t>(field(obj, l.g_waitreason));
    bool parked = g.status == kWaiting || g.status == kLeaked;
    if (parked) g.wait_text = wait_string(c, l, mem, g.wait_reason);
    if (auto it = sema_of.find(gp); it != sema_of.end() && parked) g.sema = it->second;
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
