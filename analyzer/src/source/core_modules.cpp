#include "source/core_modules.hpp"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <optional>

namespace threadleak::detail {
namespace {

constexpr std::size_t kMaxPhdrs = 256;
constexpr std::size_t kMaxNotes = 64 * 1024;
constexpr std::size_t kMaxVdso = 1 << 20;

template <typename T>
bool read_obj(Memory& mem, std::uint64_t addr, T& out) {
  return mem.read(addr, &out, sizeof out) == sizeof out;
}

// The ELF header and program headers of an image loaded at `base`, as the
// core holds them; nullopt if they are not there or not x86-64 ELF.
struct Headers {
  Elf64_Ehdr eh{};
  std::vector<Elf64_Phdr> ph;
  std::uint64_t bias = 0;   // load address - link-time address
};

std::optional<Headers> read_headers(Memory& mem, std::uint64_t base) {
  Headers h;
  if (!read_obj(mem, base, h.eh)) return std::nullopt;
  if (std::memcmp(h.eh.e_ident, ELFMAG, SELFMAG) != 0 || h.eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      h.eh.e_phentsize != sizeof(Elf64_Phdr) || h.eh.e_phnum == 0 || h.eh.e_phnum > kMaxPhdrs ||
      (h.eh.e_type != ET_DYN && h.eh.e_type != ET_EXEC))
    return std::nullopt;
  h.ph.resize(h.eh.e_phnum);
  std::size_t bytes = h.ph.size() * sizeof(Elf64_Phdr);
  if (mem.read(base + h.eh.e_phoff, h.ph.data(), bytes) != bytes) return std::nullopt;
  if (h.eh.e_type == ET_DYN) {
    for (const auto& p : h.ph) {
      if (p.p_type != PT_LOAD) continue;
      std::uint64_t align = p.p_align > 1 ? p.p_align : 1;
      h.bias = base - (p.p_vaddr & ~(align - 1));
      break;
    }
  }
  return h;
}

std::size_t align4(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

// NT_GNU_BUILD_ID from the image's PT_NOTE segments, if they were dumped.
void read_build_id(Memory& mem, const Headers& h, CoreModule& m) {
  for (const auto& p : h.ph) {
    if (p.p_type != PT_NOTE || p.p_filesz == 0 || p.p_filesz > kMaxNotes) continue;
    std::vector<unsigned char> notes(p.p_filesz);
    std::uint64_t at = p.p_vaddr + h.bias;
    if (mem.read(at, notes.data(), notes.size()) != notes.size()) continue;
    std::size_t off = 0;
    while (off + 12 <= notes.size()) {
      std::uint32_t namesz, descsz, type;
      std::memcpy(&namesz, &notes[off], 4);
      std::memcpy(&descsz, &notes[off + 4], 4);
      std::memcpy(&type, &notes[off + 8], 4);
      std::size_t name_at = off + 12, desc_at = name_at + align4(namesz);
      if (namesz > notes.size() || descsz > notes.size() || desc_at + descsz > notes.size()) break;
      if (type == NT_GNU_BUILD_ID && namesz == 4 && std::memcmp(&notes[name_at], "GNU", 4) == 0 &&
          descsz > 0) {
        m.build_id.assign(notes.begin() + static_cast<std::ptrdiff_t>(desc_at),
                          notes.begin() + static_cast<std::ptrdiff_t>(desc_at + descsz));
        m.build_id_vaddr = at + desc_at;
        return;
      }
      off = desc_at + align4(descsz);
    }
  }
}

// The vdso: not a file, its image is in the core's memory.
std::optional<CoreModule> vdso_module(Memory& mem, std::uint64_t base) {
  auto h = base ? read_headers(mem, base) : std::nullopt;
  if (!h) return std::nullopt;
  std::uint64_t size = h->eh.e_shoff + std::uint64_t{h->eh.e_shnum} * h->eh.e_shentsize;
  for (const auto& p : h->ph)
    if (p.p_type == PT_LOAD) size = std::max(size, p.p_offset + p.p_filesz);
  if (size == 0 || size > kMaxVdso) return std::nullopt;
  CoreModule m;
  m.name = "[vdso]";
  m.low = base;
  m.image.resize(size);
  if (mem.read(base, m.image.data(), size) != size) return std::nullopt;
  std::uint64_t high = base;
  for (const auto& p : h->ph)
    if (p.p_type == PT_LOAD) high = std::max(high, p.p_vaddr + h->bias + p.p_memsz);
  m.high = std::max(high, base + size);
  read_build_id(mem, *h, m);
  return m;
}

}  // namespace

std::vector<CoreModule> find_core_modules(const CoreNotes& notes, Memory& mem, const std::string& exe) {
  return find_mapped_modules(notes.files, notes.entry, notes.vdso, mem, exe);
}

std::vector<CoreModule> find_mapped_modules(std::vector<MappedFile> files, std::uint64_t entry,
                                            std::uint64_t vdso, Memory& mem, const std::string& exe) {
  std::sort(files.begin(), files.end(),
            [](const MappedFile& a, const MappedFile& b) { return a.start < b.start; });
  std::vector<CoreModule> mods;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const MappedFile& f = files[i];
    if (f.page_offset != 0) continue;
    auto h = read_headers(mem, f.start);
    if (!h) continue;   // a data file, or the header was not dumped
    CoreModule m;
    m.name = f.path;
    m.open_path = f.path;
    m.low = f.start;
    m.high = f.end;
    // The rest of this load of the file: its later mappings, up to the
    // next load of the same file.
    for (std::size_t j = i + 1; j < files.size(); ++j) {
      if (files[j].path != f.path) continue;
      if (files[j].page_offset == 0) break;
      m.high = std::max(m.high, files[j].end);
    }
    if (!exe.empty() && entry >= m.low && entry < m.high) m.open_path = exe;
    read_build_id(mem, *h, m);
    mods.push_back(std::move(m));
  }
  if (auto v = vdso_module(mem, vdso)) mods.push_back(std::move(*v));
  return mods;
}

void report_core_modules(Dwfl* dwfl, std::vector<CoreModule>& mods) {
  for (CoreModule& m : mods) {
    Dwfl_Module* mod = dwfl_report_module(dwfl, m.name.c_str(), m.low, m.high);
    if (!mod) continue;   // overlaps a module already reported
    if (!m.build_id.empty())
      dwfl_module_report_build_id(mod, m.build_id.data(), m.build_id.size(), m.build_id_vaddr);
    void** userdata = nullptr;
    dwfl_module_info(mod, &userdata, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr);
    if (userdata) *userdata = &m;
  }
}

void share_modules(Target& t, const std::shared_ptr<std::vector<CoreModule>>& mods) {
  t.module_data = mods;
  t.report_modules_again = [mods](Dwfl* d) {
    report_core_modules(d, *mods);
    return true;
  };
}

}  // namespace threadleak::detail
