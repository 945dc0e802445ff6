// The Go executable's own description of itself, read once with libdw:
// the runtime's globals (link-time addresses), the fields of its structs
// (offset and size, so no struct layout is hard-coded), and an index from
// PC to function (Go writes no .debug_aranges, so libdw's address lookups
// answer nothing: the index is built from every CU's subprograms).
#pragma once

#include <elfutils/libdw.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util.hpp"

namespace threadleak::detail::golang {

struct Field {
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
};

// One function body in the text: [low, high).
struct FuncRange {
  std::uint64_t low = 0, high = 0;
  Dwarf_Off die = 0;          // its DW_TAG_subprogram
  const char* name = nullptr; // owned by libdw, lives as long as the GoDwarf
  bool wrapper = false;       // DW_AT_trampoline: compiler-made, hidden by the runtime's traceback
};

// A global array variable: where it is, how many elements, their stride,
// and the element type (for member_of).
struct ArrayGlobal {
  std::uint64_t address = 0;
  std::uint64_t count = 0, stride = 0;
  Dwarf_Off element = 0;
};

struct DwarfDeleter { void operator()(Dwarf* d) const { dwarf_end(d); } };

class GoDwarf {
 public:
  // Opens the executable at `path`. Returns null with `why` set when it is
  // not a Go program (why stays empty) or carries no DWARF (why says so).
  static std::unique_ptr<GoDwarf> open(const std::string& path, std::string& why);

  std::optional<std::uint64_t> global(const std::string& name) const;
  std::optional<std::uint64_t> global_size(const std::string& name) const;
  // A member of a runtime.* or sync.* struct type.
  std::optional<Field> field(const std::string& type, const std::string& member) const;
  // A member of the struct type at DIE offset `type`.
  std::optional<Field> member_of(Dwarf_Off type, const std::string& member) const;
  // A global whose type is a fixed-size array (runtime.semtable).
  std::optional<ArrayGlobal> array_global(const std::string& name) const;
  // The function whose body holds `pc` (link-time address), or null.
  const FuncRange* function_at(std::uint64_t pc) const;
  // The first function named `name`, or null.
  const FuncRange* function_named(const std::string& name) const;
  Dwarf* dwarf() const { return dwarf_.get(); }
  std::uint64_t elf_entry() const { return elf_entry_; }
  std::size_t function_count() const { return funcs_.size(); }
  // Reads the file's own image of [addr, addr+len) (link-time address, in a
  // PT_LOAD segment's file part): read-only data a core may not contain.
  std::size_t read_static(std::uint64_t addr, void* buf, std::size_t len) const;

 private:
  void index_unit(Dwarf_Die* cu);
  Fd fd_;
  ElfPtr elf_;
  std::unique_ptr<Dwarf, DwarfDeleter> dwarf_;
  std::uint64_t elf_entry_ = 0;
  std::vector<FuncRange> funcs_;                // sorted by low
  std::map<std::string, Dwarf_Off> globals_;    // runtime.* variables
  std::map<std::string, Dwarf_Off> structs_;    // runtime.* and sync.* struct types
};

// True when the ELF file looks like a Go program (.go.buildinfo or .gopclntab).
bool is_go_elf(Elf* elf);

}  // namespace threadleak::detail::golang
