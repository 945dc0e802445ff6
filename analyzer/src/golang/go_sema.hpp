// Which semaphore each parked goroutine sleeps on, and whether any timer is
// pending: the two runtime facts hang triage needs from a Go program.
//
// sync.Mutex, sync.RWMutex and sync.WaitGroup park goroutines through the
// runtime's semaphores: runtime.semtable is an array of semaRoots, each a
// treap of sudogs keyed by `elem`, the semaphore's address (&m.sema for a
// sync.Mutex); waiters on the same address hang off the node's `waitlink`
// chain, and each sudog's `g` is the parked goroutine. Every offset comes
// from the executable's DWARF. Only reads memory.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "golang/go_dwarf.hpp"
#include "golang/go_types.hpp"
#include "target.hpp"

namespace threadleak::detail::golang {

struct SemaLayout {
  ArrayGlobal table;                            // runtime.semtable
  Field root_treap;                             // element.root.treap
  Field sudog_g, sudog_next, sudog_prev, sudog_elem, sudog_waitlink;
  std::optional<Field> mutex_sema;              // sync.Mutex.sema
  std::optional<Field> rw_writer_sem, rw_reader_sem, rw_w;  // sync.RWMutex.writerSem / readerSem / w
  std::optional<Field> wg_sema;                 // sync.WaitGroup.sema (Go 1.20+) or .state2 (1.19, 64-bit)
  // Timers (runtime.checkdead's test): runtime.allp and runtime.p.timers.
  std::optional<std::uint64_t> allp;
  std::optional<Field> p_timers;                // the word holding a P's count of timers
  // Stripped binaries: where semtable and allp may be, decided at read time.
  std::vector<std::uint64_t> table_candidates, allp_candidates;
  std::optional<Field> p_id;                    // runtime.p.id, to recognise allp

  // Null when the DWARF does not describe the semaphore table (then
  // `missing` names what is absent).
  static std::optional<SemaLayout> read(const GoDwarf& d, std::string& missing);
  static std::optional<SemaLayout> derive(const GoTypes& d, std::string& missing);
};

// Picks semtable and allp among their candidates (stripped binaries): the
// table whose every waiter hashes to its own slot, the slice of Ps whose
// ids are their indexes. Leaves them unset when none fits.
void choose_sema_globals(SemaLayout& l, std::uint64_t bias, Memory& mem);

// g address -> the semaphore address it is queued on. `bias` is the load
// bias (PIE). Problems become `warnings`.
std::map<std::uint64_t, std::uint64_t> read_sema_waiters(const SemaLayout& l, std::uint64_t bias, Memory& mem,
                                                         std::vector<std::string>& warnings);

// How many timers the runtime's Ps hold (len(p.timers) summed over allp),
// as runtime.checkdead counts them; nullopt when unreadable.
std::optional<std::uint64_t> read_pending_timers(const SemaLayout& l, std::uint64_t bias, Memory& mem);

}  // namespace threadleak::detail::golang
