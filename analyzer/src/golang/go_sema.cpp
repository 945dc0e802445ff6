#include "golang/go_sema.hpp"

#include <set>

#include <fmt/format.h>

namespace threadleak::detail::golang {
namespace {

constexpr std::size_t kMaxSudogs = 1u << 20;   // sanity cap against a corrupt treap

std::optional<std::uint64_t> read_word(Memory& mem, std::uint64_t addr, std::size_t size = 8) {
  std::uint64_t v = 0;
  if (size == 0 || size > 8 || mem.read(addr, &v, size) != size) return std::nullopt;
  return v;
}

struct Walker {
  const SemaLayout& l;
  Memory& mem;
  std::map<std::uint64_t, std::uint64_t>& out;
  std::set<std::uint64_t> seen;
  bool broken = false;

  std::optional<std::uint64_t> at(std::uint64_t sudog, const Field& f) { return read_word(mem, sudog + f.offset, f.size); }
  // sudog.elem: a pointer, or from Go 1.26 a pair {vp, vu} that holds it
  // in either word (vu when the pointer is hidden from the GC).
  std::optional<std::uint64_t> elem_of(std::uint64_t sudog) {
    if (l.sudog_elem.size <= 8) return at(sudog, l.sudog_elem);
    auto vp = read_word(mem, sudog + l.sudog_elem.offset), vu = read_word(mem, sudog + l.sudog_elem.offset + 8);
    if (!vp || !vu) return std::nullopt;
    return *vu ? vu : vp;
  }

  // One treap node: its key, then every sudog on its waitlink chain.
  void node(std::uint64_t s, std::vector<std::uint64_t>& todo) {
    auto elem = elem_of(s), prev = at(s, l.sudog_prev), next = at(s, l.sudog_next);
    if (!elem || !prev || !next) { broken = true; return; }
    if (*prev) todo.push_back(*prev);
    if (*next) todo.push_back(*next);
    for (std::uint64_t w = s; w && !broken; ) {
      if (w != s && !seen.insert(w).second) break;  // a cycle in the chain
      auto g = at(w, l.sudog_g);
      auto link = at(w, l.sudog_waitlink);
      if (!g || !link) { broken = true; return; }
      if (*g) out[*g] = *elem;
      w = *link;
      if (seen.size() > kMaxSudogs) broken = true;
    }
  }

  void tree(std::uint64_t root) {
    std::vector<std::uint64_t> todo{root};
    while (!todo.empty() && !broken) {
      std::uint64_t s = todo.back();
      todo.pop_back();
      if (!seen.insert(s).second) continue;
      node(s, todo);
    }
  }
};

}  // namespace

// Where a P's count of timers is: len(p.timers) while that is a slice
// (to Go 1.22), len(p.timers.heap) since it became a struct.
template <typename Source>
std::optional<Field> timers_length(const Source& d) {
  auto timers = d.field("runtime.p", "timers");
  if (!timers) return std::nullopt;
  if (timers->size == 24) return Field{timers->offset + 8, 8};
  if (auto heap = d.field("runtime.timers", "heap")) return Field{timers->offset + heap->offset + 8, 8};
  return std::nullopt;
}

// The sudog chain and the sync types' semaphores, from either source.
template <typename Source>
void sync_fields(SemaLayout& l, const Source& d) {
  l.mutex_sema = d.field("sync.Mutex", "sema");
  l.rw_writer_sem = d.field("sync.RWMutex", "writerSem");
  l.rw_reader_sem = d.field("sync.RWMutex", "readerSem");
  l.rw_w = d.field("sync.RWMutex", "w");
  // Go 1.19 keeps a WaitGroup's semaphore in state2 where uint64 is 8-aligned
  // (every 64-bit target); 1.20 names it sema.
  l.wg_sema = d.field("sync.WaitGroup", "sema");
  if (!l.wg_sema) l.wg_sema = d.field("sync.WaitGroup", "state2");
  l.p_timers = timers_length(d);
}

std::optional<SemaLayout> SemaLayout::read(const GoDwarf& d, std::string& missing) {
  SemaLayout l;
  auto table = d.array_global("runtime.semtable");
  auto root = table ? d.member_of(table->element, "root") : std::nullopt;
  auto treap = d.field("runtime.semaRoot", "treap");
  auto g = d.field("runtime.sudog", "g"), next = d.field("runtime.sudog", "next"),
       prev = d.field("runtime.sudog", "prev"), elem = d.field("runtime.sudog", "elem"),
       link = d.field("runtime.sudog", "waitlink");
  if (!table || !root || !treap || !g || !next || !prev || !elem || !link) {
    missing = !table ? "runtime.semtable" : !root ? "runtime.semtable[].root" : !treap ? "runtime.semaRoot.treap"
                                                                                     : "runtime.sudog fields";
    return std::nullopt;
  }
  l.table = *table;
  l.root_treap = {root->offset + treap->offset, treap->size};
  l.sudog_g = *g, l.sudog_next = *next, l.sudog_prev = *prev, l.sudog_elem = *elem, l.sudog_waitlink = *link;
  sync_fields(l, d);
  l.allp = d.global("runtime.allp");
  return l;
}

std::map<std::uint64_t, std::uint64_t> read_sema_waiters(const SemaLayout& l, std::uint64_t bias, Memory& mem,
                                                         std::vector<std::string>& warnings) {
  std::map<std::uint64_t, std::uint64_t> out;
  Walker w{l, mem, out, {}, false};
  for (std::uint64_t i = 0; i < l.table.count && !w.broken; ++i) {
    auto root = read_word(mem, l.table.address + bias + i * l.table.stride + l.root_treap.offset);
    if (!root) { w.broken = true; break; }
    if (*root) w.tree(*root);
  }
  if (w.broken)
    warnings.push_back(fmt::format("Go runtime: runtime.semtable could not be read whole; {} semaphore waiters "
                                   "found", out.size()));
  return out;
}

std::optional<std::uint64_t> read_pending_timers(const SemaLayout& l, std::uint64_t bias, Memory& mem) {
  if (!l.allp || !l.p_timers) return std::nullopt;
  auto array = read_word(mem, *l.allp + bias), len = read_word(mem, *l.allp + bias + 8);
  if (!array || !len || *len > 1u << 16) return std::nullopt;
  std::uint64_t total = 0;
  for (std::uint64_t i = 0; i < *len; ++i) {
    auto p = read_word(mem, *array + i * 8);
    if (!p) return std::nullopt;
    if (!*p) continue;
    auto n = read_word(mem, *p + l.p_timers->offset);
    if (!n) return std::nullopt;
    total += *n;
  }
  return total;
}

}  // namespace threadleak::detail::golang

namespace threadleak::detail::golang {

// The same from type descriptors. semtable has no descriptor: its shape is
// the runtime's semTabSize (251, unchanged since Go 1.0) entries padded to
// the cache line (64 bytes on x86-64), each starting with a semaRoot
// {lock runtime.mutex; treap *sudog}; which address it is, is decided
// against memory among the candidates the caller found in code.
std::optional<SemaLayout> SemaLayout::derive(const GoTypes& d, std::string& missing) {
  SemaLayout l;
  const GoTypes::Type* mutex = d.named("runtime.mutex");
  auto g = d.field("runtime.sudog", "g"), next = d.field("runtime.sudog", "next"),
       prev = d.field("runtime.sudog", "prev"), elem = d.field("runtime.sudog", "elem"),
       link = d.field("runtime.sudog", "waitlink");
  if (!mutex || !g || !next || !prev || !elem || !link) {
    missing = !mutex ? "runtime.mutex" : "runtime.sudog fields";
    return std::nullopt;
  }
  l.table = ArrayGlobal{0, 251, 64, 0};
  l.root_treap = {mutex->size, 8};
  l.sudog_g = *g, l.sudog_next = *next, l.sudog_prev = *prev, l.sudog_elem = *elem, l.sudog_waitlink = *link;
  sync_fields(l, d);
  l.p_id = d.field("runtime.p", "id");
  return l;
}

namespace {

// Waiters found in the table at `addr`, or -1 when a slot holds a sudog
// whose semaphore address does not hash to that slot.
int table_score(const SemaLayout& l, std::uint64_t addr, Memory& mem) {
  std::map<std::uint64_t, std::uint64_t> unused;
  Walker w{l, mem, unused, {}, false};
  int found = 0;
  for (std::uint64_t i = 0; i < l.table.count; ++i) {
    auto root = read_word(mem, addr + i * l.table.stride + l.root_treap.offset);
    if (!root) return -1;
    if (!*root) continue;
    auto elem = w.elem_of(*root);
    if (!elem || (*elem >> 3) % l.table.count != i) return -1;
    ++found;
  }
  return found;
}

int allp_score(const SemaLayout& l, std::uint64_t addr, Memory& mem) {
  std::uint64_t hdr[3];
  if (!l.p_id || mem.read(addr, hdr, sizeof hdr) != sizeof hdr || !hdr[0] || !hdr[1] || hdr[1] > hdr[2] ||
      hdr[2] > 4096)
    return -1;
  for (std::uint64_t i = 0; i < hdr[1]; ++i) {
    auto p = read_word(mem, hdr[0] + i * 8);
    auto id = p && *p ? read_word(mem, *p + l.p_id->offset, l.p_id->size) : std::nullopt;
    if (!id || *id != i) return -1;
  }
  return static_cast<int>(hdr[1]);
}

}  // namespace

void choose_sema_globals(SemaLayout& l, std::uint64_t bias, Memory& mem) {
  if (!l.table.address) {
    int best = -1;
    for (std::uint64_t c : l.table_candidates)
      if (int s = table_score(l, c + bias, mem); s > best) best = s, l.table.address = c;
  }
  if (!l.allp) {
    int best = 0;
    for (std::uint64_t c : l.allp_candidates)
      if (int s = allp_score(l, c + bias, mem); s > best) best = s, l.allp = c;
  }
}

}  // namespace threadleak::detail::golang
