#include "golang/go_layout.hpp"

namespace threadleak::detail::golang {
namespace {

// Resolves "type.member" or "type.member.inner" (the inner field of a
// nested runtime struct, named by `inner_type`).
template <typename Source>
struct Resolver {
  const Source& d;
  std::string missing;

  Field get(const std::string& type, const std::string& member) {
    if (auto f = d.field(type, member)) return *f;
    if (missing.empty()) missing = type + "." + member;
    return {};
  }
  Field nested(const std::string& type, const std::string& member, const std::string& inner_type,
               const std::string& inner) {
    Field outer = get(type, member);
    Field in = get(inner_type, inner);
    return {outer.offset + in.offset, in.size};
  }
};

// A field of GoLayout and the member it is read from.
struct Wanted {
  Field GoLayout::*slot;
  const char* member;
};

// runtime.g's own members. atomicstatus became a struct (atomic.Uint32) in
// later Go versions: its size is still 4 and its value sits at offset 0.
constexpr Wanted kG[] = {{&GoLayout::g_m, "m"}, {&GoLayout::g_syscallsp, "syscallsp"},
                         {&GoLayout::g_syscallpc, "syscallpc"}, {&GoLayout::g_status, "atomicstatus"},
                         {&GoLayout::g_goid, "goid"}, {&GoLayout::g_waitsince, "waitsince"},
                         {&GoLayout::g_waitreason, "waitreason"}, {&GoLayout::g_gopc, "gopc"},
                         {&GoLayout::g_startpc, "startpc"}};
// Members of the structs runtime.g holds: g.stack (runtime.stack) and
// g.sched (runtime.gobuf).
constexpr Wanted kStack[] = {{&GoLayout::g_stack_lo, "lo"}, {&GoLayout::g_stack_hi, "hi"}};
constexpr Wanted kSched[] = {{&GoLayout::g_sched_sp, "sp"}, {&GoLayout::g_sched_pc, "pc"},
                             {&GoLayout::g_sched_bp, "bp"}};
constexpr Wanted kM[] = {{&GoLayout::m_procid, "procid"}, {&GoLayout::m_curg, "curg"},
                         {&GoLayout::m_alllink, "alllink"}};

template <typename Source>
GoLayout fields(Resolver<Source>& r) {
  GoLayout l;
  for (const Wanted& w : kG) l.*w.slot = r.get("runtime.g", w.member);
  for (const Wanted& w : kStack) l.*w.slot = r.nested("runtime.g", "stack", "runtime.stack", w.member);
  for (const Wanted& w : kSched) l.*w.slot = r.nested("runtime.g", "sched", "runtime.gobuf", w.member);
  for (const Wanted& w : kM) l.*w.slot = r.get("runtime.m", w.member);
  if (auto f = r.d.field("runtime.g", "syscallbp")) l.g_syscallbp = *f;   // optional
  return l;
}

std::uint64_t global(const GoDwarf& d, const std::string& name, std::string& missing) {
  if (auto a = d.global(name)) return *a;
  if (missing.empty()) missing = name;
  return 0;
}

}  // namespace

std::optional<GoLayout> GoLayout::read(const GoDwarf& d, std::string& missing) {
  Resolver<GoDwarf> r{d, {}};
  GoLayout l = fields(r);
  l.allgs = global(d, "runtime.allgs", r.missing);
  l.allm = global(d, "runtime.allm", r.missing);
  l.wait_strings = global(d, "runtime.waitReasonStrings", r.missing);
  if (auto size = d.global_size("runtime.waitReasonStrings")) l.wait_count = *size / 16;
  if (!r.missing.empty()) {
    missing = r.missing;
    return std::nullopt;
  }
  return l;
}

}  // namespace threadleak::detail::golang

namespace threadleak::detail::golang {

std::optional<GoLayout> GoLayout::derive(const GoTypes& types, std::string& missing) {
  Resolver<GoTypes> r{types, {}};
  GoLayout l = fields(r);
  if (!r.missing.empty()) {
    missing = r.missing;
    return std::nullopt;
  }
  return l;
}

}  // namespace threadleak::detail::golang
