#include "golang/go_symbolize.hpp"

#include <dwarf.h>

namespace threadleak::detail::golang {
namespace {

struct Line {
  std::string file;
  int line = 0;
};

Line line_at(Dwarf_Die* cu, std::uint64_t pc) {
  Line l;
  if (Dwarf_Line* dl = dwarf_getsrc_die(cu, pc)) {
    if (const char* f = dwarf_linesrc(dl, nullptr, nullptr)) l.file = f;
    dwarf_lineno(dl, &l.line);
  }
  return l;
}

const char* name_of(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  return dwarf_attr_integrate(die, DW_AT_name, &attr) ? dwarf_formstring(&attr) : nullptr;
}

Line call_site(Dwarf_Die* cu, Dwarf_Die* inl) {
  Line l;
  Dwarf_Attribute attr;
  Dwarf_Word v;
  Dwarf_Files* files;
  std::size_t n;
  if (dwarf_attr(inl, DW_AT_call_file, &attr) && dwarf_formudata(&attr, &v) == 0 &&
      dwarf_getsrcfiles(cu, &files, &n) == 0 && v < n)
    if (const char* f = dwarf_filesrc(files, v, nullptr, nullptr)) l.file = f;
  if (dwarf_attr(inl, DW_AT_call_line, &attr) && dwarf_formudata(&attr, &v) == 0) l.line = static_cast<int>(v);
  return l;
}

// The inlined calls covering pc, outermost first. Go nests them in
// lexical blocks too; an inlined function may come from another CU, so
// the DIE tree is walked instead of dwarf_getscopes.
void inline_chain(Dwarf_Die* parent, std::uint64_t pc, std::vector<Dwarf_Die>& chain, int depth = 0) {
  Dwarf_Die child;
  if (depth > 64 || dwarf_child(parent, &child) != 0) return;
  do {
    int tag = dwarf_tag(&child);
    if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_lexical_block) continue;
    if (dwarf_haspc(&child, pc) <= 0) continue;
    if (tag == DW_TAG_inlined_subroutine) chain.push_back(child);
    inline_chain(&child, pc, chain, depth + 1);
    return;
  } while (dwarf_siblingof(&child, &child) == 0);
}

std::string goroot_of(const GoDwarf& d) {
  const FuncRange* f = d.function_named("runtime.main");
  Dwarf_Die die, cu;
  if (!f || !dwarf_offdie(d.dwarf(), f->die, &die) || !dwarf_diecu(&die, &cu, nullptr, nullptr)) return {};
  std::string file = line_at(&cu, f->low).file;
  auto pos = file.rfind("/src/runtime/");
  return pos == std::string::npos ? std::string() : file.substr(0, pos + 5);
}

}  // namespace

GoSymbolizer::GoSymbolizer(const GoDwarf& dwarf, std::uint64_t bias, GoModule module)
    : d_(dwarf), bias_(bias), module_(std::move(module)), goroot_src_(goroot_of(dwarf)) {}

std::vector<GoFrame> GoSymbolizer::frames(std::uint64_t pc, bool return_address) {
  std::uint64_t link = pc - bias_;
  if (return_address) {
    const FuncRange* f = d_.function_at(link);
    if (!f || link > f->low) --link;
  }
  auto it = cache_.find(link);
  if (it == cache_.end()) it = cache_.emplace(link, lookup(link)).first;
  std::vector<GoFrame> out = it->second;
  for (GoFrame& f : out) f.frame.pc = pc;
  return out;
}

std::vector<GoFrame> GoSymbolizer::lookup(std::uint64_t link) {
  GoFrame base;
  base.frame.rel_pc = link + bias_ - module_.start;
  base.frame.module = module_.name;
  base.frame.build_id = module_.build_id;
  const FuncRange* fr = d_.function_at(link);
  Dwarf_Die die, cu;
  if (!fr || !dwarf_offdie(d_.dwarf(), fr->die, &die) || !dwarf_diecu(&die, &cu, nullptr, nullptr))
    return {base};
  base.frame.function = fr->name ? fr->name : "";
  base.frame.offset = link - fr->low;
  base.wrapper = fr->wrapper;
  std::vector<Dwarf_Die> chain;
  inline_chain(&die, link, chain);
  Line where = line_at(&cu, link);
  std::vector<GoFrame> out;
  for (auto i = chain.size(); i-- > 0;) {
    GoFrame f = base;
    const char* n = name_of(&chain[i]);
    f.frame.function = n ? n : "";
    f.frame.offset = 0;
    f.frame.inlined = true;
    f.wrapper = false;
    f.frame.file = where.file;
    f.frame.line = where.line;
    out.push_back(f);
    where = call_site(&cu, &chain[i]);
  }
  base.frame.file = where.file;
  base.frame.line = where.line;
  out.push_back(base);
  for (GoFrame& f : out)
    f.frame.own_code = !f.frame.file.empty() && (goroot_src_.empty() || !f.frame.file.starts_with(goroot_src_));
  return out;
}

Frame GoSymbolizer::creator(std::uint64_t gopc) {
  std::vector<GoFrame> fs = frames(gopc, true);
  Frame f = fs.back().frame;          // the real function holding the go statement
  f.file = fs.front().frame.file;     // the line the runtime prints: the innermost one
  f.line = fs.front().frame.line;
  f.inlined = false;
  return f;
}

}  // namespace threadleak::detail::golang
