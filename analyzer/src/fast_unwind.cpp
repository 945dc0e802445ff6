#include "fast_unwind.hpp"

#include <dwarf.h>
#include <elfutils/libdw.h>

#include <cstdlib>
#include <memory>

namespace threadleak::detail {

FastUnwinder::Step FastUnwinder::compute(std::uint64_t pc) {
  Step s;   // not simple until every rule is read
  Dwfl_Module* mod = dwfl_addrmodule(dwfl_, pc);
  Dwarf_Addr bias = 0;
  Dwarf_CFI* cfi = mod ? dwfl_module_eh_cfi(mod, &bias) : nullptr;
  Dwarf_Frame* frame = nullptr;
  if (!cfi || dwarf_cfi_addrframe(cfi, pc - bias, &frame) != 0) return s;
  std::unique_ptr<Dwarf_Frame, decltype(&std::free)> hold(frame, &std::free);
  bool signal = false;
  if (dwarf_frame_info(frame, nullptr, nullptr, &signal) != 16 || signal) return s;

  Dwarf_Op* ops = nullptr;
  std::size_t nops = 0;
  if (dwarf_frame_cfa(frame, &ops, &nops) != 0 || nops != 1) return s;
  if (ops[0].atom == DW_OP_bregx) {
    s.cfa_reg = static_cast<int>(ops[0].number);
    s.cfa_offset = static_cast<std::int64_t>(ops[0].number2);
  } else if (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31) {
    s.cfa_reg = ops[0].atom - DW_OP_breg0;
    s.cfa_offset = static_cast<std::int64_t>(ops[0].number);
  } else {
    return s;
  }
  if (s.cfa_reg < 0 || s.cfa_reg >= kRegs) return s;

  for (int r = 0; r < kRegs; ++r) {
    Dwarf_Op mem[3];
    Dwarf_Op* rops = nullptr;
    std::size_t n = 0;
    if (dwarf_frame_register(frame, r, mem, &rops, &n) != 0) return s;
    Rule& rule = s.regs[static_cast<std::size_t>(r)];
    if (n == 0) {
      if (rops == mem) rule.kind = Rule::undefined;
      else if (rops == nullptr) rule.kind = Rule::same;
      else return s;
      continue;
    }
    // libdw spells offset(N) as call_frame_cfa [plus_uconst N], and
    // val_offset(N) the same followed by stack_value.
    if (rops[0].atom != DW_OP_call_frame_cfa) return s;
    std::size_t i = 1;
    if (i < n && rops[i].atom == DW_OP_plus_uconst) rule.offset = static_cast<std::int64_t>(rops[i++].number);
    bool value = i < n && rops[i].atom == DW_OP_stack_value;
    if (value) ++i;
    if (i != n) return s;
    rule.kind = value ? Rule::val_cfa : Rule::at_cfa;
  }
  s.simple = true;
  return s;
}

const FastUnwinder::Step& FastUnwinder::step_at(std::uint64_t lookup_pc) {
  auto it = rules_.find(lookup_pc);
  if (it != rules_.end()) return it->second;
  if (!shared_) return rules_.emplace(lookup_pc, compute(lookup_pc)).first->second;
  std::lock_guard hold(shared_->mu_);
  auto known = shared_->rules_.find(lookup_pc);
  if (known == shared_->rules_.end()) known = shared_->rules_.emplace(lookup_pc, compute(lookup_pc)).first;
  return rules_.emplace(lookup_pc, known->second).first->second;
}

std::size_t FastUnwinder::cfi_lookups() const {
  if (!shared_) return rules_.size();
  std::lock_guard hold(shared_->mu_);
  return shared_->rules_.size();
}

bool FastUnwinder::unwind(const UserRegs& initial, unsigned max_frames, RawStack& out) {
  std::array<std::uint64_t, kRegs> regs = dwarf_regs(initial);
  std::uint32_t known = (1u << kRegs) - 1;   // which of regs hold a value
  std::vector<RawFrame> frames;
  bool truncated = false;
  for (bool first = true;; first = false) {
    if (frames.size() >= max_frames) {
      truncated = true;
      break;
    }
    std::uint64_t pc = regs[16];
    frames.push_back({pc, first});
    // A caller's pc is a return address: its rules are those of the call.
    const Step& st = step_at(first ? pc : pc - 1);
    if (!st.simple || !(known >> st.cfa_reg & 1u)) return false;
    std::uint64_t cfa = regs[static_cast<std::size_t>(st.cfa_reg)] + static_cast<std::uint64_t>(st.cfa_offset);
    std::array<std::uint64_t, kRegs> next{};
    std::uint32_t next_known = 0;
    for (int r = 0; r < kRegs; ++r) {
      const Rule& rule = st.regs[static_cast<std::size_t>(r)];
      auto& v = next[static_cast<std::size_t>(r)];
      std::uint64_t at = cfa + static_cast<std::uint64_t>(rule.offset);
      switch (rule.kind) {
        case Rule::undefined: continue;
        case Rule::same:
          if (!(known >> r & 1u)) continue;
          v = regs[static_cast<std::size_t>(r)];
          break;
        case Rule::val_cfa: v = at; break;
        case Rule::at_cfa:
          ++reads_;
          if (mem_.read(at, &v, sizeof v) != sizeof v) return false;
          break;
      }
      next_known |= 1u << r;
    }
    // The outermost frame: its return address is undefined (or zero).
    if (!(next_known >> 16 & 1u) || next[16] == 0) break;
    regs = next;
    known = next_known;
  }
  out.frames = std::move(frames);
  out.truncated = truncated;
  return true;
}

}  // namespace threadleak::detail
