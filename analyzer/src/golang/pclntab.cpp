#include "golang/pclntab.hpp"

#include <cctype>
#include "util.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace threadleak::detail::golang {
namespace {

constexpr std::uint32_t kMagic12 = 0xfffffffb, kMagic116 = 0xfffffffa, kMagic118 = 0xfffffff0,
                        kMagic120 = 0xfffffff1;
constexpr std::uint32_t kPcdataInlTreeIndex = 2;   // the runtime's _PCDATA_InlTreeIndex
constexpr std::uint32_t kFuncdataInlTree = 3;      // the runtime's _FUNCDATA_InlTree (Go 1.16 on;
constexpr std::uint32_t kFuncdataInlTree112 = 4;   // 4 in Go 1.12-1.15, before RegPointerMaps went)
constexpr std::uint32_t kNoFuncdata = 0xffffffff;  // a missing funcdata offset (Go 1.18+)
// Real inlining is a few levels deep; the cap stops a hostile table whose
// parent PCs lead round in a circle.
constexpr int kMaxInlineDepth = 256;
// Longest function or file name read: bounds the work a hostile table can
// ask for (real names, generic instantiations included, are far shorter).
constexpr std::size_t kMaxName = 16 * 1024;
// The runtime indexes inline trees as a [1<<20] array.
constexpr std::int32_t kMaxInlineIndex = 1 << 20;

template <typename T>
bool get(std::span<const std::uint8_t> s, std::uint64_t off, T& out) {
  if (off > s.size() || s.size() - off < sizeof(T)) return false;
  std::memcpy(&out, s.data() + off, sizeof(T));
  return true;
}

std::uint32_t u32(std::span<const std::uint8_t> s, std::uint64_t off) {
  std::uint32_t v = 0;
  get(s, off, v);
  return v;
}

// A pointer-sized word (4 or 8 bytes).
bool word(std::span<const std::uint8_t> s, std::uint64_t off, std::uint32_t ptr, std::uint64_t& out) {
  std::uint32_t w32 = 0;
  out = 0;
  if (ptr == 8) return get(s, off, out);
  if (!get(s, off, w32)) return false;
  out = w32;
  return true;
}

std::string_view cstring(std::span<const std::uint8_t> s, std::uint64_t off) {
  if (off >= s.size()) return {};
  std::size_t n = std::min<std::size_t>(s.size() - off, kMaxName);
  const char* p = reinterpret_cast<const char*>(s.data() + off);
  const void* nul = std::memchr(p, 0, n);
  return nul ? std::string_view(p, static_cast<const char*>(nul) - p) : std::string_view();
}

// An unsigned LEB128 of at most 32 bits; false when cut short or longer.
bool uvarint(std::span<const std::uint8_t> s, std::uint64_t& pos, std::uint32_t& out) {
  out = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    if (pos >= s.size()) return false;
    std::uint8_t b = s[pos++];
    out |= static_cast<std::uint32_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

// All bytes the file holds from `addr` on, within its section when the file
// names one, else within its PT_LOAD segment (found by halving).
std::span<const std::uint8_t> bytes_from(const GoImage& img, std::uint64_t addr) {
  if (const GoImage::Section* s = img.section_at(addr); s && !s->nobits) {
    auto b = img.bytes(addr, s->addr + s->size - addr);
    if (!b.empty()) return b;
  }
  std::uint64_t lo = 0, hi = img.highest() > addr ? img.highest() - addr : 0;
  while (lo < hi) {
    std::uint64_t mid = lo + (hi - lo + 1) / 2;
    if (img.bytes(addr, mid).empty()) hi = mid - 1; else lo = mid;
  }
  return lo ? img.bytes(addr, lo) : std::span<const std::uint8_t>();
}

int version_of(std::uint32_t magic) {
  switch (magic) {
    case kMagic12: return 12;
    case kMagic116: return 116;
    case kMagic118: return 118;
    case kMagic120: return 120;
    default: return 0;
  }
}

// Go 1.12 gave the inline tree its 20-byte entries (with funcID and
// parentPc); Go 1.2-1.11 share the pclntab magic but not that entry, so the
// tree is read only when .go.buildinfo says go1.12 to go1.15.
bool inline_tree_of_112(const GoImage& img) {
  std::string v = img.go_version();
  if (v.rfind("go1.", 0) != 0) return false;
  int minor = 0;
  for (std::size_t i = 4; i < v.size() && std::isdigit(static_cast<unsigned char>(v[i])); ++i) minor = minor * 10 + (v[i] - '0');
  return minor >= 12 && minor <= 15;
}

}  // namespace

// An entry of a function's inline tree: the inlined callee and the offset
// (from the outer function's entry) of an instruction at its call site.
struct Pclntab::Inlined {
  std::string_view name;
  std::uint8_t func_id = 0;
  std::int32_t parent_pc = 0;
};

// The 32-bit fields of a _func start after its entry (a pointer before
// 1.18, a 32-bit text offset since); Go 1.16 added cuOffset, Go 1.20
// startLine before funcID; nfuncdata ends the fixed part. Go 1.2-1.11 and
// 1.12-1.15 are not told apart, so their funcID is not read.
Pclntab::Layout Pclntab::layout_of(int version, std::uint32_t ptr) {
  switch (version) {
    case 12: return {ptr, 0, ptr + 32};
    case 116: return {ptr, ptr + 32, ptr + 36};
    case 118: return {4, 36, 40};
    default: return {4, 40, 44};
  }
}

std::unique_ptr<Pclntab> Pclntab::open(const GoImage& img, std::uint64_t addr, std::uint64_t gofunc,
                                       std::string& why, std::uint64_t text) {
  std::unique_ptr<Pclntab> t(new Pclntab(img));
  t->gofunc_ = gofunc;
  if (!t->read_header(addr, text, why) || !t->read_functions(why)) return nullptr;
  t->find_wrapper_id();
  t->inlines_ = t->version_ == 116 || (t->version_ >= 118 && gofunc != 0) || (t->version_ == 12 && inline_tree_of_112(img));
  return t;
}

// The pcHeader: magic, two zero bytes, PC quantum, pointer size, then words
// (function and file counts, from 1.18 the text start, then the offsets of
// the sub-tables). Go 1.2-1.15 keeps only the count and puts the function
// table right after it, the file table's offset at that table's end.
bool Pclntab::read_header(std::uint64_t addr, std::uint64_t text, std::string& why) {
  addr_ = addr;
  tab_ = bytes_from(*img_, addr);
  std::uint32_t magic = u32(tab_, 0);
  version_ = version_of(magic);
  if (tab_.size() < 16 || !version_) { why = fmt::format("no Go pclntab header at {:#x} (magic {:#x})", addr, magic); return false; }
  quantum_ = tab_[6];
  ptr_ = tab_[7];
  layout_ = layout_of(version_, ptr_);
  if (tab_[4] || tab_[5] || (quantum_ != 1 && quantum_ != 2 && quantum_ != 4) || (ptr_ != 4 && ptr_ != 8)) {
    why = fmt::format("pclntab header at {:#x} is corrupt (quantum {}, pointer size {})", addr, quantum_, ptr_);
    return false;
  }
  std::uint64_t w[8] = {};
  std::size_t nwords = version_ == 12 ? 1 : version_ == 116 ? 7 : 8;
  for (std::size_t i = 0; i < nwords; ++i)
    if (!word(tab_, 8 + i * ptr_, ptr_, w[i])) { why = fmt::format("pclntab header at {:#x} is cut short", addr); return false; }
  nfunc_ = w[0];
  if (version_ == 12) {
    functab_ = 8 + ptr_;
  } else {
    std::size_t k = version_ == 116 ? 2 : 3;   // first sub-table offset
    nfiles_ = w[1];
    names_ = w[k], cutab_ = w[k + 1], files_ = w[k + 2], pctab_ = w[k + 3], functab_ = w[k + 4];
    if (version_ >= 118) text_ = w[2] ? w[2] : text;
  }
  if (version_ >= 118 && !text_) {
    const GoImage::Section* s = img_->section(".text");
    text_ = s ? s->addr : 0;
    if (!text_) { why = "pclntab leaves the text start unknown (no moduledata.text, no .text section)"; return false; }
  }
  return true;
}

// Every ftab row {entry, _func offset}, checked against its _func (which
// repeats the entry): a table read with the wrong layout fails here instead
// of naming the wrong functions.
bool Pclntab::read_functions(std::string& why) {
  std::uint64_t field = version_ >= 118 ? 4 : ptr_;
  // nfunc rows, then one that holds only the end of the text
  if (functab_ > tab_.size() || nfunc_ == 0 || nfunc_ >= (tab_.size() - functab_) / (2 * field)) {
    why = fmt::format("pclntab function table ({} functions) does not fit the file", nfunc_);
    return false;
  }
  if (version_ == 12) {
    std::uint64_t at = functab_ + nfunc_ * 2 * ptr_ + ptr_;
    files_ = u32(tab_, at);
    nfiles_ = u32(tab_, files_);
  }
  funcs_.resize(nfunc_);
  for (std::size_t i = 0; i < nfunc_; ++i) {
    if (!read_function(i, funcs_[i], why)) return false;
    if (i && funcs_[i].entry < funcs_[i - 1].entry) {
      why = fmt::format("pclntab function table is not sorted (function {} at {:#x})", i, funcs_[i].entry);
      return false;
    }
    if (i) funcs_[i - 1].end = funcs_[i].entry;
  }
  std::uint64_t last = functab_ + nfunc_ * 2 * field, end = 0;
  if (version_ >= 118) end = text_ + u32(tab_, last);
  else word(tab_, last, ptr_, end);
  if (end < funcs_.back().entry) { why = "pclntab function table ends before its last function"; return false; }
  funcs_.back().end = end;
  return true;
}

std::uint32_t Pclntab::field(const PclnFunc& f, std::uint32_t off) const { return u32(tab_, f.func + off); }

bool Pclntab::read_function(std::size_t i, PclnFunc& f, std::string& why) const {
  std::uint64_t fieldsz = version_ >= 118 ? 4 : ptr_;
  std::uint64_t row = functab_ + i * 2 * fieldsz, entry = 0, off = 0, own = 0;
  word(tab_, row, static_cast<std::uint32_t>(fieldsz), entry);
  word(tab_, row + fieldsz, static_cast<std::uint32_t>(fieldsz), off);
  f.func = (version_ == 12 ? 0 : functab_) + off;
  const Layout& l = layout_;
  if (f.func > tab_.size() || tab_.size() - f.func < l.size) {
    why = fmt::format("pclntab function {} lies outside the table", i);
    return false;
  }
  word(tab_, f.func, static_cast<std::uint32_t>(fieldsz), own);
  if (own != entry) {
    why = fmt::format("pclntab function {} disagrees with its table row (entry {:#x} vs {:#x})", i, own, entry);
    return false;
  }
  f.entry = version_ >= 118 ? text_ + entry : entry;
  f.name = func_name(static_cast<std::int32_t>(field(f, l.fields)));
  if (l.func_id) f.func_id = tab_[f.func + l.func_id];
  return true;
}

// FuncIDWrapper is the last FuncID of every Go version, and every program
// has wrappers (method values "-fm", promoted methods, generated eq/hash),
// so it is the highest FuncID any function carries. From Go 1.16 the list
// is alphabetical with runtime.systemstack_switch just before it: both must
// agree, or no function is taken for a wrapper.
void Pclntab::find_wrapper_id() {
  if (version_ < 116) return;
  std::uint8_t top = 0;
  for (const PclnFunc& f : funcs_) top = std::max(top, f.func_id);
  const PclnFunc* sw = named("runtime.systemstack_switch");
  if (!sw || !sw->func_id || sw->func_id + 1 != top) return;
  wrapper_id_ = top;
  for (PclnFunc& f : funcs_) f.wrapper = f.func_id == wrapper_id_;
}

const PclnFunc* Pclntab::find(std::uint64_t pc) const {
  return range_holding(funcs_, pc, &PclnFunc::entry, &PclnFunc::end);
}

// An ABI wrapper carries the name of the function it wraps (Go 1.17 on):
// the function itself is preferred.
const PclnFunc* Pclntab::named(std::string_view name) const {
  const PclnFunc* found = nullptr;
  for (const PclnFunc& f : funcs_) {
    if (f.name != name) continue;
    if (!f.wrapper) return &f;
    if (!found) found = &f;
  }
  return found;
}

std::string_view Pclntab::func_name(std::int64_t nameoff) const {
  if (nameoff < 0) return {};
  return cstring(tab_, (version_ == 12 ? 0 : names_) + static_cast<std::uint64_t>(nameoff));
}

// Go 1.2-1.15 number files program-wide (the file table's first word is its
// length); from 1.16 a function's file number indexes its CU's slice of
// cutab, whose words are offsets in the file-name table (~0: none).
std::string_view Pclntab::file_name(const PclnFunc& f, std::int32_t fileno) const {
  if (fileno < 0) return {};
  if (version_ == 12) {
    if (fileno == 0 || static_cast<std::uint64_t>(fileno) >= nfiles_) return {};
    return cstring(tab_, u32(tab_, files_ + 4ull * static_cast<std::uint32_t>(fileno)));
  }
  std::uint64_t cu = field(f, layout_.fields + 28);
  std::uint32_t off = 0;
  if (!get(tab_, cutab_ + 4 * (cu + static_cast<std::uint32_t>(fileno)), off) || off == 0xffffffff) return {};
  return cstring(tab_, files_ + off);
}

// A pc-value table: pairs of (zig-zag value delta, pc delta / quantum)
// varints from the function's entry, value starting at -1, ended by a zero
// value delta. The value in force at pc, or nullopt when the table is
// missing, corrupt or ends before pc. A real table advances at least one
// byte a step, so the steps are capped by the function's size (and by the
// bytes: each step consumes some).
std::optional<std::int32_t> Pclntab::pcvalue(const PclnFunc& f, std::uint32_t table, std::uint64_t pc) const {
  if (table == 0) return std::nullopt;
  std::uint64_t pos = (version_ == 12 ? 0 : pctab_) + table;
  std::uint64_t at = f.entry;
  std::uint32_t val = static_cast<std::uint32_t>(-1);
  for (std::uint64_t step = 0; step <= f.end - f.entry; ++step) {
    std::uint32_t dv, dpc;
    if (!uvarint(tab_, pos, dv) || (dv == 0 && at != f.entry)) return std::nullopt;
    val += (dv & 1) ? ~(dv >> 1) : (dv >> 1);
    if (!uvarint(tab_, pos, dpc)) return std::nullopt;
    at += static_cast<std::uint64_t>(dpc) * quantum_;
    if (pc < at) return static_cast<std::int32_t>(val);
  }
  return std::nullopt;
}

std::uint32_t Pclntab::pcdata_table(const PclnFunc& f, std::uint32_t index) const {
  const Layout& l = layout_;
  if (index >= field(f, l.fields + 24)) return 0;
  return u32(tab_, f.func + l.size + 4ull * index);
}

// The inline tree's address: funcdata follows the pcdata offsets, as
// pointers (Go 1.16-1.17, 8-aligned) or as offsets from gofunc (1.18+).
std::optional<std::uint64_t> Pclntab::inline_tree(const PclnFunc& f) const {
  const Layout& l = layout_;
  std::uint8_t nfuncdata = tab_[f.func + l.size - 1];
  std::uint32_t slot = version_ == 12 ? kFuncdataInlTree112 : kFuncdataInlTree;
  if (nfuncdata <= slot) return std::nullopt;
  std::uint64_t p = f.func + l.size + 4ull * field(f, l.fields + 24);
  if (version_ >= 118) {
    std::uint32_t off = kNoFuncdata;
    if (!get(tab_, p + 4 * slot, off) || off == kNoFuncdata) return std::nullopt;
    return gofunc_ + off;
  }
  if (ptr_ == 8 && (addr_ + p) % 8) p += 4;
  std::uint64_t tree = 0;
  if (!word(tab_, p + ptr_ * slot, ptr_, tree) || !tree) return std::nullopt;
  return tree;
}

// Entries are {parent i16, funcID u8, pad, file i32, line i32, nameoff i32,
// parentPc i32} up to Go 1.19, {funcID u8, pad[3], nameoff i32, parentPc
// i32, startLine i32} from 1.20. Only funcID, nameoff and parentPc are used:
// the call site's file:line is the outer function's at parentPc.
bool Pclntab::read_inlined(std::uint64_t tree, std::int32_t index, Inlined& out) const {
  if (index < 0 || index >= kMaxInlineIndex) return false;
  std::uint64_t size = version_ >= 120 ? 16 : 20;
  auto b = img_->bytes(tree + static_cast<std::uint64_t>(index) * size, size);
  if (b.empty()) return false;
  std::int32_t nameoff = 0;
  bool ok = version_ >= 120 ? get(b, 4, nameoff) && get(b, 8, out.parent_pc)
                            : get(b, 12, nameoff) && get(b, 16, out.parent_pc);
  out.func_id = version_ >= 120 ? b[0] : b[2];
  out.name = func_name(nameoff);
  return ok;
}

PclnFrame Pclntab::position(const PclnFunc& f, std::uint64_t pc) const {
  const Layout& l = layout_;
  PclnFrame fr;
  if (auto fileno = pcvalue(f, field(f, l.fields + 16), pc)) fr.file = file_name(f, *fileno);
  if (auto line = pcvalue(f, field(f, l.fields + 20), pc)) fr.line = *line;
  return fr;
}

// Appends the calls inlined at pc, innermost first, and returns the pc of
// the outermost call site (pc itself when nothing is inlined there). Each
// caller's inline index is the one in force at the callee's parentPc, as
// in the runtime's own unwinder.
std::uint64_t Pclntab::expand_inlined(const PclnFunc& f, std::uint64_t pc, std::vector<PclnFrame>& out) const {
  auto tree = inline_tree(f);
  if (!tree) return pc;
  std::uint32_t table = pcdata_table(f, kPcdataInlTreeIndex);
  for (int depth = 0; depth < kMaxInlineDepth; ++depth) {
    auto index = pcvalue(f, table, pc);
    Inlined call;
    if (!index || *index < 0 || !read_inlined(*tree, *index, call)) break;
    PclnFrame fr = position(f, pc);
    fr.function = call.name;
    fr.wrapper = wrapper_id_ && call.func_id == wrapper_id_;
    fr.inlined = true;
    out.push_back(fr);
    if (call.parent_pc < 0 || f.entry + static_cast<std::uint64_t>(call.parent_pc) >= f.end) break;
    pc = f.entry + static_cast<std::uint64_t>(call.parent_pc);
  }
  return pc;
}

std::vector<PclnFrame> Pclntab::frames(std::uint64_t pc) const {
  const PclnFunc* f = find(pc);
  if (!f) return {};
  std::vector<PclnFrame> out;
  std::uint64_t site = inlines_ ? expand_inlined(*f, pc, out) : pc;
  PclnFrame outer = position(*f, site);
  outer.function = f->name;
  outer.wrapper = f->wrapper;
  out.push_back(outer);
  return out;
}

std::optional<std::int32_t> Pclntab::sp_delta(std::uint64_t pc) const {
  const PclnFunc* f = find(pc);
  if (!f) return std::nullopt;
  return pcvalue(*f, field(*f, layout_.fields + 12), pc);
}

}  // namespace threadleak::detail::golang
