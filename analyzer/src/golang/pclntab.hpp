// A Go executable's .gopclntab, read straight from its bytes: the table the
// runtime's own tracebacks use, so it survives `-ldflags=-s -w` and every
// stripping tool. It names each function, maps every PC to file:line and
// frame size, and tells which calls were inlined at a PC. All addresses are
// link-time; all reads are bounds-checked (the file is untrusted input).
//
//   std::string why;
//   auto tab = Pclntab::open(*img, md.pclntab, md.gofunc, why, md.text.lo);
//   for (const PclnFrame& f : tab->frames(return_pc - 1))   // innermost first
//     print(f.function, f.file, f.line);
//
// Formats, by the header's magic: 0xfffffffb (Go 1.2-1.15: names, lines and
// frame sizes only), 0xfffffffa (1.16-1.17), 0xfffffff0 (1.18-1.19),
// 0xfffffff1 (1.20 on). The inline tree is read from 1.16 on; from 1.18 it
// lives at offsets from moduledata.gofunc, so without gofunc inlined calls
// are not expanded (inlines() says so). Names are the table's: from Go 1.18
// a generic instantiation's type arguments read "[...]", as the runtime
// prints them.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "golang/go_image.hpp"

namespace threadleak::detail::golang {

// One function of the table: [entry, end) up to the next function's entry
// (alignment padding included, as the runtime's findfunc sees it).
struct PclnFunc {
  std::uint64_t entry = 0, end = 0;
  std::string_view name;      // points into the image's bytes
  std::uint8_t func_id = 0;   // the runtime's FuncID (not read from Go 1.2-1.15 tables: 0)
  bool wrapper = false;       // compiler-made (the runtime's traceback hides it)
  std::uint64_t func = 0;     // internal: its _func, as an offset from the header
};

// One frame at a PC. Strings point into the image's bytes.
struct PclnFrame {
  std::string_view function;
  std::string_view file;      // empty when the table names none
  int line = 0;
  bool wrapper = false;       // an inlined wrapper, or a wrapper function
  bool inlined = false;       // inlined into the frame after it
};

class Pclntab {
 public:
  // Reads the pcHeader at link-time address `addr` in `img` (which must
  // outlive the table). `gofunc`: moduledata.gofunc, the base of funcdata
  // offsets from Go 1.18 (0 when unknown: no inline expansion). `text`:
  // moduledata.text, used when the header leaves its textStart zero (as Go
  // 1.26 does); 0 then falls back to the .text section. Null with `why` on
  // an unknown magic or a header, function table or function that does not
  // fit the bytes.
  static std::unique_ptr<Pclntab> open(const GoImage& img, std::uint64_t addr, std::uint64_t gofunc,
                                       std::string& why, std::uint64_t text = 0);

  // 12 (Go 1.2-1.15), 116 (1.16-1.17), 118 (1.18-1.19) or 120 (1.20 on).
  int version() const { return version_; }
  // True when frames() expands inlined calls.
  bool inlines() const { return inlines_; }
  // The FuncID that marks compiler wrappers in this binary (its number
  // changes between Go versions: the highest FuncID in the table, confirmed
  // as the one after runtime.systemstack_switch's), 0 if unknown.
  std::uint8_t wrapper_id() const { return wrapper_id_; }

  // The function whose [entry, end) holds `pc`, or null. O(log n).
  const PclnFunc* find(std::uint64_t pc) const;
  // The function named exactly `name` (not its ABI wrapper, which shares
  // the name), or null. O(n): for the few runtime functions looked up by name.
  const PclnFunc* named(std::string_view name) const;
  // The frames at exactly `pc`, innermost first, the last being the real
  // function; empty when no function holds pc. A return address should be
  // passed as pc - 1 (its call's line).
  std::vector<PclnFrame> frames(std::uint64_t pc) const;
  // The pcsp value at pc: bytes the function's frame has pushed below the
  // return address (0 at the entry).
  std::optional<std::int32_t> sp_delta(std::uint64_t pc) const;

  std::size_t function_count() const { return funcs_.size(); }
  const std::vector<PclnFunc>& functions() const { return funcs_; }   // sorted by entry
  std::uint64_t text_start() const { return text_; }

 private:
  struct Inlined;
  Pclntab(const GoImage& img) : img_(&img) {}
  bool read_header(std::uint64_t addr, std::uint64_t text, std::string& why);
  bool read_functions(std::string& why);
  bool read_function(std::size_t i, PclnFunc& f, std::string& why) const;
  void find_wrapper_id();
  std::uint32_t field(const PclnFunc& f, std::uint32_t off) const;
  std::uint32_t pcdata_table(const PclnFunc& f, std::uint32_t index) const;
  std::optional<std::uint64_t> inline_tree(const PclnFunc& f) const;
  bool read_inlined(std::uint64_t tree, std::int32_t index, Inlined& out) const;
  std::optional<std::int32_t> pcvalue(const PclnFunc& f, std::uint32_t table, std::uint64_t pc) const;
  std::string_view file_name(const PclnFunc& f, std::int32_t fileno) const;
  std::string_view func_name(std::int64_t nameoff) const;
  PclnFrame position(const PclnFunc& f, std::uint64_t pc) const;
  std::uint64_t expand_inlined(const PclnFunc& f, std::uint64_t pc, std::vector<PclnFrame>& out) const;

  const GoImage* img_;
  std::span<const std::uint8_t> tab_;   // from the header to the end of its section or segment
  std::uint64_t addr_ = 0;              // of the header
  int version_ = 0;
  std::uint32_t ptr_ = 8, quantum_ = 1;
  std::uint64_t nfunc_ = 0, text_ = 0, gofunc_ = 0;
  // Offsets from the header: function names, per-CU file indexes, file
  // names, pc-value tables, function table (ftab, then the _funcs).
  std::uint64_t names_ = 0, cutab_ = 0, files_ = 0, pctab_ = 0, functab_ = 0;
  std::uint64_t nfiles_ = 0;
  // Where a _func's fields sit in this version: nameoff (pcsp, pcfile,
  // pcln, npcdata, cuOffset follow it at +12..+28), funcID (0: none), and
  // the size of the fixed part, which the pcdata offsets follow.
  struct Layout { std::uint32_t fields = 0, func_id = 0, size = 0; } layout_;
  static Layout layout_of(int version, std::uint32_t ptr);
  std::vector<PclnFunc> funcs_;
  std::uint8_t wrapper_id_ = 0;
  bool inlines_ = false;
};

}  // namespace threadleak::detail::golang
