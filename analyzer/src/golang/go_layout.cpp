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

template <typename Source>
GoLayout fields(Resolver<Source>& r) {
  GoLayout l;
  const std::string g = "runtime.g", m = "runtime.m";
  l.g_stack_lo = r.nested(g, "stack", "runtime.stack", "lo");
  l.g_stack_hi = r.nested(g, "stack", "runtime.stack", "hi");
  l.g_sched_sp = r.nested(g, "sched", "runtime.gobuf", "sp");
  l.g_sched_pc = r.nested(g, "sched", "runtime.gobuf", "pc");
  l.g_sched_bp = r.nested(g, "sched", "runtime.gobuf", "bp");
  l.g_m = r.get(g, "m");
  l.g_syscallsp = r.get(g, "syscallsp");
  l.g_syscallpc = r.get(g, "syscallpc");
  l.g_status = r.get(g, "atomicstatus");
  l.g_goid = r.get(g, "goid");
  l.g_waitsince = r.get(g, "waitsince");
  l.g_waitreason = r.get(g, "waitreason");
  l.g_gopc = r.get(g, "gopc");
  l.g_startpc = r.get(g, "startpc");
  l.m_procid = r.get(m, "procid");
  l.m_curg = r.get(m, "curg");
  l.m_alllink = r.get(m, "alllink");
  if (auto f = r.d.field(g, "syscallbp")) l.g_syscallbp = *f;
  // atomicstatus became a struct (atomic.Uint32) in later Go versions: its
  // size is still 4, and its value sits at offset 0.
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
