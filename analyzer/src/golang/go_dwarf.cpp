#include "golang/go_dwarf.hpp"

#include <dwarf.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace threadleak::detail::golang {
namespace {

const char* die_name(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  return dwarf_attr_integrate(die, DW_AT_name, &attr) ? dwarf_formstring(&attr) : nullptr;
}

bool has_flag(Dwarf_Die* die, int at) {
  Dwarf_Attribute attr;
  bool flag = false;
  return dwarf_attr(die, at, &attr) && dwarf_formflag(&attr, &flag) == 0 && flag;
}

// Go's DWARF 4 locations are DW_FORM_block1 that dwarf_getlocation()
// rejects: decode the single DW_OP_addr by hand.
std::optional<std::uint64_t> addr_location(Dwarf_Die* var) {
  Dwarf_Attribute attr;
  Dwarf_Block block;
  if (!dwarf_attr(var, DW_AT_location, &attr) || dwarf_formblock(&attr, &block) != 0) return std::nullopt;
  if (block.length != 9 || block.data[0] != DW_OP_addr) return std::nullopt;
  std::uint64_t a;
  std::memcpy(&a, block.data + 1, 8);
  return a;
}

std::optional<std::uint64_t> type_size(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  Dwarf_Die type;
  if (!dwarf_attr_integrate(die, DW_AT_type, &attr) || !dwarf_formref_die(&attr, &type)) return std::nullopt;
  int bytes = dwarf_bytesize(&type);
  if (bytes >= 0) return static_cast<std::uint64_t>(bytes);
  Dwarf_Word size;
  if (dwarf_aggregate_size(&type, &size) != 0) return std::nullopt;
  return size;
}

bool has_section(Elf* elf, const char* want) {
  std::size_t shstrndx;
  if (elf_getshdrstrndx(elf, &shstrndx) != 0) return false;
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr shdr;
    if (!gelf_getshdr(scn, &shdr)) continue;
    const char* name = elf_strptr(elf, shstrndx, shdr.sh_name);
    if (name && std::strcmp(name, want) == 0) return true;
  }
  return false;
}

}  // namespace

bool is_go_elf(Elf* elf) {
  return elf && (has_section(elf, ".go.buildinfo") || has_section(elf, ".gopclntab"));
}

std::unique_ptr<GoDwarf> GoDwarf::open(const std::string& path, std::string& why) {
  auto g = std::make_unique<GoDwarf>();
  g->fd_ = Fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!g->fd_) return nullptr;
  elf_version(EV_CURRENT);
  g->elf_.reset(elf_begin(g->fd_.get(), ELF_C_READ_MMAP, nullptr));
  if (!g->elf_ || !is_go_elf(g->elf_.get())) return nullptr;
  GElf_Ehdr ehdr;
  if (gelf_getehdr(g->elf_.get(), &ehdr)) g->elf_entry_ = ehdr.e_entry;
  g->dwarf_.reset(dwarf_begin_elf(g->elf_.get(), DWARF_C_READ, nullptr));
  if (!g->dwarf_) {
    why = "Go program without DWARF (built with -ldflags=-w or stripped): goroutines cannot be read, "
          "only OS threads are shown";
    return nullptr;
  }
  Dwarf_Off off = 0, next;
  std::size_t hsize;
  while (dwarf_nextcu(g->dwarf_.get(), off, &next, &hsize, nullptr, nullptr, nullptr) == 0) {
    Dwarf_Die cu;
    if (dwarf_offdie(g->dwarf_.get(), off + hsize, &cu)) g->index_unit(&cu);
    off = next;
  }
  std::sort(g->funcs_.begin(), g->funcs_.end(),
            [](const FuncRange& a, const FuncRange& b) { return a.low < b.low; });
  if (g->funcs_.empty() || !g->global("runtime.allgs")) {
    why = "Go program whose DWARF lacks the runtime (runtime.allgs): goroutines cannot be read";
    return nullptr;
  }
  return g;
}

void GoDwarf::index_unit(Dwarf_Die* cu) {
  Dwarf_Die child;
  if (dwarf_child(cu, &child) != 0) return;
  do {
    int tag = dwarf_tag(&child);
    const char* name = die_name(&child);
    if (tag == DW_TAG_subprogram) {
      Dwarf_Addr low, high;
      if (dwarf_lowpc(&child, &low) == 0 && dwarf_highpc(&child, &high) == 0 && high > low)
        funcs_.push_back({low, high, dwarf_dieoffset(&child), name, has_flag(&child, DW_AT_trampoline)});
    } else if (name && (std::strncmp(name, "runtime.", 8) == 0 || std::strncmp(name, "sync.", 5) == 0)) {
      if (tag == DW_TAG_variable) globals_.emplace(name, dwarf_dieoffset(&child));
      else if (tag == DW_TAG_structure_type) structs_.emplace(name, dwarf_dieoffset(&child));
    }
  } while (dwarf_siblingof(&child, &child) == 0);
}

std::optional<std::uint64_t> GoDwarf::global(const std::string& name) const {
  auto it = globals_.find(name);
  Dwarf_Die die;
  if (it == globals_.end() || !dwarf_offdie(dwarf_.get(), it->second, &die)) return std::nullopt;
  return addr_location(&die);
}

std::optional<std::uint64_t> GoDwarf::global_size(const std::string& name) const {
  auto it = globals_.find(name);
  Dwarf_Die die;
  if (it == globals_.end() || !dwarf_offdie(dwarf_.get(), it->second, &die)) return std::nullopt;
  return type_size(&die);
}

std::optional<Field> GoDwarf::field(const std::string& type, const std::string& member) const {
  auto it = structs_.find(type);
  return it == structs_.end() ? std::nullopt : member_of(it->second, member);
}

std::optional<Field> GoDwarf::member_of(Dwarf_Off type, const std::string& member) const {
  Dwarf_Die st, m;
  if (!dwarf_offdie(dwarf_.get(), type, &st) || dwarf_child(&st, &m) != 0) return std::nullopt;
  do {
    const char* n = die_name(&m);
    if (dwarf_tag(&m) != DW_TAG_member || !n || member != n) continue;
    Dwarf_Attribute attr;
    Dwarf_Word off;
    if (!dwarf_attr(&m, DW_AT_data_member_location, &attr) || dwarf_formudata(&attr, &off) != 0)
      return std::nullopt;
    auto size = type_size(&m);
    if (!size) return std::nullopt;
    return Field{off, *size};
  } while (dwarf_siblingof(&m, &m) == 0);
  return std::nullopt;
}

std::optional<ArrayGlobal> GoDwarf::array_global(const std::string& name) const {
  auto it = globals_.find(name);
  Dwarf_Die die, type, sub, elem;
  Dwarf_Attribute attr;
  if (it == globals_.end() || !dwarf_offdie(dwarf_.get(), it->second, &die)) return std::nullopt;
  auto addr = addr_location(&die);
  if (!addr || !dwarf_attr_integrate(&die, DW_AT_type, &attr) || !dwarf_formref_die(&attr, &type))
    return std::nullopt;
  while (dwarf_tag(&type) == DW_TAG_typedef)  // Go names the array type through a typedef
    if (!dwarf_attr(&type, DW_AT_type, &attr) || !dwarf_formref_die(&attr, &type)) return std::nullopt;
  if (dwarf_tag(&type) != DW_TAG_array_type || dwarf_child(&type, &sub) != 0) return std::nullopt;
  Dwarf_Word count = 0;
  if (!dwarf_attr(&sub, DW_AT_count, &attr) || dwarf_formudata(&attr, &count) != 0 || count == 0)
    return std::nullopt;
  if (!dwarf_attr(&type, DW_AT_type, &attr) || !dwarf_formref_die(&attr, &elem)) return std::nullopt;
  Dwarf_Word size = 0;
  if (dwarf_aggregate_size(&elem, &size) != 0) return std::nullopt;
  return ArrayGlobal{*addr, count, size, dwarf_dieoffset(&elem)};
}

std::size_t GoDwarf::read_static(std::uint64_t addr, void* buf, std::size_t len) const {
  std::size_t n = 0;
  if (elf_getphdrnum(elf_.get(), &n) != 0) return 0;
  for (std::size_t i = 0; i < n; ++i) {
    GElf_Phdr ph;
    if (!gelf_getphdr(elf_.get(), static_cast<int>(i), &ph) || ph.p_type != PT_LOAD) continue;
    if (addr < ph.p_vaddr || addr >= ph.p_vaddr + ph.p_filesz) continue;
    std::size_t want = std::min<std::uint64_t>(len, ph.p_vaddr + ph.p_filesz - addr);
    ssize_t got = ::pread(fd_.get(), buf, want, static_cast<off_t>(ph.p_offset + (addr - ph.p_vaddr)));
    return got > 0 ? static_cast<std::size_t>(got) : 0;
  }
  return 0;
}

const FuncRange* GoDwarf::function_at(std::uint64_t pc) const {
  return range_holding(funcs_, pc, &FuncRange::low, &FuncRange::high);
}

const FuncRange* GoDwarf::function_named(const std::string& name) const {
  for (const FuncRange& f : funcs_)
    if (f.name && name == f.name) return &f;
  return nullptr;
}

}  // namespace threadleak::detail::golang
