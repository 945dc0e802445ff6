#include "golang/go_symbolize.hpp"

#include <dwarf.h>

#include "golang/go_dwarf.hpp"

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

// GoSymbols over GoDwarf: the function index for ranges, each CU's line
// table for lines, the DIE tree for inlined calls. What the DWARF does not
// describe (the C and assembly functions cgo links in) comes from the
// fallback, the pclntab, so that both paths name every pc alike.
class DwarfSymbols final : public GoSymbols {
 public:
  DwarfSymbols(const GoDwarf& d, std::unique_ptr<GoSymbols> fallback) : d_(d), fallback_(std::move(fallback)) {}
  std::optional<GoFunc> function_at(std::uint64_t pc) const override {
    if (auto f = func(d_.function_at(pc))) return f;
    return fallback_ ? fallback_->function_at(pc) : std::nullopt;
  }
  std::optional<GoFunc> function_named(std::string_view name) const override {
    if (auto f = func(d_.function_named(std::string(name)))) return f;
    return fallback_ ? fallback_->function_named(name) : std::nullopt;
  }
  std::size_t function_count() const override { return d_.function_count(); }
  std::optional<std::int32_t> sp_delta(std::uint64_t pc) const override {
    return fallback_ ? fallback_->sp_delta(pc) : std::nullopt;
  }
  const char* source() const override { return "DWARF"; }
  std::vector<GoFrame> lookup(std::uint64_t link) const override;

 private:
  static std::optional<GoFunc> func(const FuncRange* f) {
    if (!f) return std::nullopt;
    return GoFunc{f->low, f->high, f->name ? f->name : "", f->wrapper};
  }
  const GoDwarf& d_;
  std::unique_ptr<GoSymbols> fallback_;
};

std::vector<GoFrame> DwarfSymbols::lookup(std::uint64_t link) const {
  const FuncRange* fr = d_.function_at(link);
  if (!fr) return fallback_ ? fallback_->lookup(link) : std::vector<GoFrame>{};
  Dwarf_Die die, cu;
  if (!dwarf_offdie(d_.dwarf(), fr->die, &die) || !dwarf_diecu(&die, &cu, nullptr, nullptr)) return {};
  GoFrame base;
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
  return out;
}

// "/usr/lib/go-1.19/src/" from runtime.main's file.
std::string goroot_of(const GoSymbols& d) {
  auto f = d.function_named("runtime.main");
  if (!f) return {};
  std::vector<GoFrame> fs = d.lookup(f->low);
  if (fs.empty()) return {};
  std::string file = fs.back().frame.file;
  auto pos = file.rfind("/src/runtime/");
  return pos == std::string::npos ? std::string() : file.substr(0, pos + 5);
}

}  // namespace

std::unique_ptr<GoSymbols> dwarf_symbols(const GoDwarf& dwarf, std::unique_ptr<GoSymbols> fallback) {
  return std::make_unique<DwarfSymbols>(dwarf, std::move(fallback));
}

GoSymbolizer::GoSymbolizer(const GoSymbols& symbols, std::uint64_t bias, GoModule module)
    : d_(symbols), bias_(bias), module_(std::move(module)), goroot_src_(goroot_of(symbols)) {}

std::vector<GoFrame> GoSymbolizer::frames(std::uint64_t pc, bool return_address) {
  // Keyed by the pc as given (user-space pcs leave bit 63 free for the
  // flag), so a repeated pc costs one hash lookup, not a function search.
  std::uint64_t key = pc | (return_address ? 1ull << 63 : 0);
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    std::uint64_t link = pc - bias_;
    if (return_address) {
      auto f = d_.function_at(link);
      if (!f || link > f->low) --link;
    }
    it = cache_.emplace(key, lookup(link)).first;
  }
  std::vector<GoFrame> out = it->second;
  for (GoFrame& f : out) f.frame.pc = pc;
  return out;
}

std::vector<GoFrame> GoSymbolizer::lookup(std::uint64_t link) {
  std::vector<GoFrame> out = d_.lookup(link);
  if (out.empty()) out.emplace_back();
  for (GoFrame& f : out) {
    f.frame.rel_pc = link + bias_ - module_.start;
    f.frame.module = module_.name;
    f.frame.build_id = module_.build_id;
    f.frame.own_code = !f.frame.file.empty() && (goroot_src_.empty() || !f.frame.file.starts_with(goroot_src_));
  }
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
