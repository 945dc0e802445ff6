#include "symbolize.hpp"

#include <cxxabi.h>
#include <dwarf.h>
#include <elfutils/libdw.h>

#include <cstdlib>
#include <cstring>
#include <memory>

namespace threadleak::detail {
namespace {

std::string basename_of(const char* path) {
  if (!path) return {};
  const char* slash = std::strrchr(path, '/');
  return slash ? slash + 1 : path;
}

// Module names that carry a PID ("[vdso: 1234]") are made stable.
std::string module_name(const char* name) {
  std::string n = basename_of(name);
  if (n.starts_with("[vdso")) return "[vdso]";
  return n;
}

std::string die_function_name(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  for (int at : {DW_AT_linkage_name, DW_AT_MIPS_linkage_name}) {
    if (dwarf_attr_integrate(die, at, &attr)) {
      if (const char* s = dwarf_formstring(&attr)) return demangle(s);
    }
  }
  if (dwarf_attr_integrate(die, DW_AT_name, &attr))
    if (const char* s = dwarf_formstring(&attr)) return s;
  return {};
}

std::string call_file(Dwarf_Die* cu, Dwarf_Die* inl) {
  Dwarf_Attribute attr;
  Dwarf_Word idx;
  if (!dwarf_attr(inl, DW_AT_call_file, &attr) || dwarf_formudata(&attr, &idx) != 0) return {};
  Dwarf_Files* files;
  size_t n;
  if (dwarf_getsrcfiles(cu, &files, &n) != 0 || idx >= n) return {};
  const char* f = dwarf_filesrc(files, idx, nullptr, nullptr);
  return f ? f : "";
}

int call_line(Dwarf_Die* inl) {
  Dwarf_Attribute attr;
  Dwarf_Word line;
  if (!dwarf_attr(inl, DW_AT_call_line, &attr) || dwarf_formudata(&attr, &line) != 0) return 0;
  return static_cast<int>(line);
}

// libdw's walk for the scopes at pc: dwarf_getscopes finds the innermost
// scope; dwarf_getscopes_die then walks out through the abstract origins,
// which sees every level of nesting.
std::vector<Dwarf_Die> libdw_scope_chain(Dwarf_Die* cu, Dwarf_Addr pc) {
  Dwarf_Die* scopes = nullptr;
  int n = dwarf_getscopes(cu, pc, &scopes);
  std::unique_ptr<Dwarf_Die, decltype(&std::free)> hold(scopes, &std::free);
  Dwarf_Die* chain = nullptr;
  int m = n > 0 ? dwarf_getscopes_die(&scopes[0], &chain) : 0;
  std::unique_ptr<Dwarf_Die, decltype(&std::free)> hold_chain(chain, &std::free);
  return m > 0 ? std::vector<Dwarf_Die>(chain, chain + m) : std::vector<Dwarf_Die>{};
}

}  // namespace

// Expands inlined calls at pc: innermost first. `base` is the frame for the
// real (outermost) function; its file:line is the line table's for pc.
void Symbolizer::expand_inlines(Dwfl_Module* mod, std::uint64_t pc, const Frame& base, std::vector<Frame>& out) {
  Dwarf_Addr bias;
  Dwarf_Die* cu = dwfl_module_addrdie(mod, pc, &bias);
  std::vector<Dwarf_Die> chain;
  if (cu && libdw_scopes_wanted()) {
    chain = libdw_scope_chain(cu, pc - bias);
  } else if (cu) {
    auto& index = scopes_[{mod, dwarf_dieoffset(cu)}];
    if (!index) index = std::make_unique<ScopeIndex>(cu);
    chain = index->chain(pc - bias);
  }
  Interned file = base.file;
  int line = base.line;
  for (Dwarf_Die& die : chain) {
    int tag = dwarf_tag(&die);
    if (tag == DW_TAG_subprogram) break;
    if (tag != DW_TAG_inlined_subroutine) continue;
    Frame f = base;
    f.function = die_function_name(&die);
    f.offset = 0;
    f.inlined = true;
    f.file = file;
    f.line = line;
    out.push_back(f);
    file = call_file(cu, &die);
    line = call_line(&die);
  }
  Frame outer = base;
  outer.file = file;
  outer.line = line;
  out.push_back(outer);
}

std::string demangle(const char* name) {
  if (!name) return {};
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> d(abi::__cxa_demangle(name, nullptr, nullptr, &status),
                                                 &std::free);
  return status == 0 && d ? std::string(d.get()) : std::string(name);
}

std::vector<Frame> Symbolizer::lookup(std::uint64_t pc) {
  Frame f;
  f.pc = pc;
  Dwfl_Module* mod = dwfl_addrmodule(dwfl_, pc);
  if (!mod) return {f};
  Dwarf_Addr start = 0, end = 0;
  const char* name = dwfl_module_info(mod, nullptr, &start, &end, nullptr, nullptr, nullptr, nullptr);
  f.module = module_name(name);
  f.rel_pc = pc - start;
  f.own_code = entry_ >= start && entry_ < end;
  // A module reported from /proc/PID/maps learns its build-id when its
  // file is opened: open it first.
  Dwarf_Addr elf_bias;
  dwfl_module_getelf(mod, &elf_bias);
  const unsigned char* bits = nullptr;
  GElf_Addr vaddr;
  int n = dwfl_module_build_id(mod, &bits, &vaddr);
  if (n > 0) f.build_id = hex_bytes(bits, n);
  GElf_Off off = 0;
  GElf_Sym sym;
  if (const char* s = dwfl_module_addrinfo(mod, pc, &off, &sym, nullptr, nullptr, nullptr)) {
    std::string name = demangle(s);
    // Versioned symbols ("clock_nanosleep@GLIBC_2.2.5", "...@@GLIBC_2.34"):
    // the version says nothing to a reader and gets in the way of matching.
    if (auto at = name.find('@'); at != std::string::npos && at > 0) name.resize(at);
    f.function = name;
    f.offset = off;
  }
  if (Dwfl_Line* line = dwfl_module_getsrc(mod, pc)) {
    int lineno = 0;
    if (const char* src = dwfl_lineinfo(line, nullptr, &lineno, nullptr, nullptr, nullptr)) {
      f.file = src;
      f.line = lineno;
    }
  }
  std::vector<Frame> out;
  expand_inlines(mod, pc, f, out);
  // Code inlined from system headers (libstdc++'s templates) sits in the
  // executable but is not the program's own.
  for (Frame& fr : out)
    if (fr.file.starts_with("/usr/include/") || fr.file.starts_with("/usr/lib/")) fr.own_code = false;
  return out;
}

namespace {
// A caller's pc is a return address: the call is the instruction before.
std::uint64_t lookup_pc_of(const RawFrame& raw) { return raw.activation || raw.pc == 0 ? raw.pc : raw.pc - 1; }
}  // namespace

void Symbolizer::prepare(const std::vector<RawFrame>& frames) {
  for (const RawFrame& raw : frames) {
    std::uint64_t pc = lookup_pc_of(raw);
    if (!cache_.contains(pc)) cache_.emplace(pc, lookup(pc));
  }
}

void Symbolizer::append(const RawFrame& raw, std::vector<Frame>& out) const {
  std::uint64_t lookup_pc = lookup_pc_of(raw);
  auto it = cache_.find(lookup_pc);
  if (it == cache_.end()) {   // not prepared: the bare pc
    Frame f;
    f.pc = raw.pc;
    out.push_back(std::move(f));
    return;
  }
  for (Frame f : it->second) {
    f.pc = raw.pc;
    f.rel_pc += raw.pc - lookup_pc;
    out.push_back(std::move(f));
  }
}

}  // namespace threadleak::detail
