// Unwinding with a per-PC cache of CFI rules.
//
// libdwfl interprets a function's CFI (CIE and FDE instructions) afresh for
// every frame, and allocates a frame state per frame: ~1 µs a frame. Blocked
// threads share a few dozen PCs (10,000 threads: ~100,000 frames, ~30 PCs),
// so here each distinct PC's rules are asked of libdw once and then applied
// directly to the registers. Only the shapes compilers emit for x86-64 are
// applied here: CFA = register + offset; each register undefined, same
// value, saved at CFA + offset or equal to CFA + offset. A thread whose walk
// meets anything else (a CFA expression, a register in another register, a
// signal frame, no .eh_frame entry, an unreadable slot) is left to libdwfl,
// so the result is libdwfl's in every case (tests/e2e/fast_unwind_test).
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "target.hpp"
#include "unwind.hpp"

namespace threadleak::detail {

class FastUnwinder {
 public:
  // Rules shared by unwinders on several threads over one Dwfl: each keeps
  // its own copy of what it used; a PC new to it is looked up here, under
  // the lock, and asked of libdw only if no unwinder has yet.
  class Shared;
  FastUnwinder(Dwfl* dwfl, Memory& mem, Shared* shared = nullptr) : dwfl_(dwfl), mem_(mem), shared_(shared) {}
  // Unwinds one thread from its registers into `out`; false (and `out`
  // left empty) if the walk needs libdwfl.
  bool unwind(const UserRegs& regs, unsigned max_frames, RawStack& out);
  // PCs whose rules were asked of libdw (by all unwinders sharing rules).
  std::size_t cfi_lookups() const;
  std::uint64_t memory_reads() const { return reads_; }

 private:
  static constexpr int kRegs = 17;   // DWARF x86-64 0..16; 16 is the return address (rip)
  struct Rule {
    enum Kind : std::uint8_t { same, undefined, at_cfa, val_cfa };
    Kind kind = same;
    std::int64_t offset = 0;
  };
  struct Step {
    bool simple = false;
    int cfa_reg = 0;
    std::int64_t cfa_offset = 0;
    std::array<Rule, kRegs> regs{};
  };
  const Step& step_at(std::uint64_t lookup_pc);
  Step compute(std::uint64_t lookup_pc);

  Dwfl* dwfl_;
  Memory& mem_;
  Shared* shared_;
  std::unordered_map<std::uint64_t, Step> rules_;
  std::uint64_t reads_ = 0;
};

class FastUnwinder::Shared {
  friend class FastUnwinder;
  std::mutex mu_;
  std::unordered_map<std::uint64_t, Step> rules_;
};

}  // namespace threadleak::detail
