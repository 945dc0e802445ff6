#include "golang/go_image.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "util.hpp"

namespace threadleak::detail::golang {
namespace {

template <typename T>
bool read_struct(std::span<const std::uint8_t> file, std::uint64_t off, T& out) {
  if (off > file.size() || file.size() - off < sizeof(T)) return false;
  std::memcpy(&out, file.data() + off, sizeof(T));
  return true;
}

constexpr std::size_t kMaxHeaders = 1u << 16;

}  // namespace

std::unique_ptr<GoImage> GoImage::open(const std::string& path, std::string& why) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) { why = "cannot open: " + errno_text(errno); return nullptr; }
  struct stat st{};
  if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 64) {
    why = "not a regular ELF file";
    return nullptr;
  }
  void* map = mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (map == MAP_FAILED) { why = "cannot map: " + errno_text(errno); return nullptr; }
  std::unique_ptr<GoImage> img(new GoImage);
  img->map_ = map;
  img->map_size_ = static_cast<std::size_t>(st.st_size);
  img->file_ = {static_cast<const std::uint8_t*>(map), img->map_size_};
  if (!img->parse(why)) return nullptr;
  return img;
}

std::unique_ptr<GoImage> GoImage::from_bytes(std::span<const std::uint8_t> file, std::string& why) {
  std::unique_ptr<GoImage> img(new GoImage);
  img->file_ = file;
  if (!img->parse(why)) return nullptr;
  return img;
}

GoImage::~GoImage() {
  if (map_) munmap(map_, map_size_);
}

// ELF header, PT_LOAD segments and section headers (names from
// e_shstrndx); everything bounds-checked against the file.
bool GoImage::parse(std::string& why) {
  Elf64_Ehdr eh;
  if (!read_struct(file_, 0, eh) || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
      eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB) {
    why = "not a 64-bit little-endian ELF file";
    return false;
  }
  entry_ = eh.e_entry;
  lowest_ = ~0ull;
  for (std::size_t i = 0; i < eh.e_phnum && i < kMaxHeaders; ++i) {
    Elf64_Phdr ph;
    if (eh.e_phentsize != sizeof ph || !read_struct(file_, eh.e_phoff + i * sizeof ph, ph)) break;
    if (ph.p_type != PT_LOAD) continue;
    std::uint64_t filesz = ph.p_offset <= file_.size() ? std::min<std::uint64_t>(ph.p_filesz, file_.size() - ph.p_offset) : 0;
    loads_.push_back({ph.p_vaddr, filesz, ph.p_memsz, ph.p_offset, file_.data() + std::min<std::uint64_t>(ph.p_offset, file_.size()), nullptr});
    lowest_ = std::min(lowest_, ph.p_vaddr);
    if (ph.p_vaddr + ph.p_memsz > ph.p_vaddr) highest_ = std::max(highest_, ph.p_vaddr + ph.p_memsz);
  }
  if (loads_.empty()) { why = "no loadable segment"; return false; }
  Elf64_Shdr strtab{};
  bool have_names = eh.e_shentsize == sizeof(Elf64_Shdr) && eh.e_shstrndx < eh.e_shnum &&
                    read_struct(file_, eh.e_shoff + eh.e_shstrndx * sizeof(Elf64_Shdr), strtab);
  for (std::size_t i = 1; have_names && i < eh.e_shnum && i < kMaxHeaders; ++i) {
    Elf64_Shdr sh;
    if (!read_struct(file_, eh.e_shoff + i * sizeof sh, sh)) break;
    if (!(sh.sh_flags & SHF_ALLOC)) continue;
    Section s;
    if (sh.sh_name < strtab.sh_size && strtab.sh_offset + sh.sh_name < file_.size()) {
      const char* p = reinterpret_cast<const char*>(file_.data() + strtab.sh_offset + sh.sh_name);
      s.name.assign(p, strnlen(p, std::min<std::uint64_t>(file_.size() - (strtab.sh_offset + sh.sh_name), 256)));
    }
    s.addr = sh.sh_addr;
    s.size = sh.sh_size;
    s.nobits = sh.sh_type == SHT_NOBITS;
    s.writable = sh.sh_flags & SHF_WRITE;
    s.exec = sh.sh_flags & SHF_EXECINSTR;
    sections_.push_back(std::move(s));
  }
  if (eh.e_type == ET_DYN) relocate(eh.e_machine);
  return true;
}

// The dynamic section's RELA table (DT_RELA, DT_RELASZ, DT_RELAENT, found
// through PT_DYNAMIC so that a file without section headers works too);
// each relative relocation writes its addend, the link-time address, into
// a copy of the segment it falls in. Other relocation types (symbols bound
// at run time) are left as the file has them.
void GoImage::relocate(unsigned machine) {
  unsigned relative = machine == EM_X86_64 ? R_X86_64_RELATIVE : machine == EM_AARCH64 ? R_AARCH64_RELATIVE : 0;
  if (!relative) return;
  Elf64_Ehdr eh;
  read_struct(file_, 0, eh);
  std::uint64_t rela = 0, relasz = 0, relaent = sizeof(Elf64_Rela);
  for (std::size_t i = 0; i < eh.e_phnum && i < kMaxHeaders; ++i) {
    Elf64_Phdr ph;
    if (!read_struct(file_, eh.e_phoff + i * sizeof ph, ph)) break;
    if (ph.p_type != PT_DYNAMIC) continue;
    for (std::uint64_t off = 0; off + sizeof(Elf64_Dyn) <= ph.p_filesz; off += sizeof(Elf64_Dyn)) {
      Elf64_Dyn d;
      if (!read_struct(file_, ph.p_offset + off, d) || d.d_tag == DT_NULL) break;
      if (d.d_tag == DT_RELA) rela = d.d_un.d_ptr;
      if (d.d_tag == DT_RELASZ) relasz = d.d_un.d_val;
      if (d.d_tag == DT_RELAENT) relaent = d.d_un.d_val;
    }
  }
  // A real executable has a handful of segments; a hostile one with
  // thousands would make this loop quadratic.
  if (!rela || relaent != sizeof(Elf64_Rela) || loads_.size() > 64) return;
  std::span<const std::uint8_t> table = bytes(rela, relasz);
  for (std::size_t off = 0; off + sizeof(Elf64_Rela) <= table.size(); off += sizeof(Elf64_Rela)) {
    Elf64_Rela r;
    std::memcpy(&r, table.data() + off, sizeof r);
    if (ELF64_R_TYPE(r.r_info) != relative) continue;
    for (Load& l : loads_) {
      if (r.r_offset < l.vaddr || r.r_offset - l.vaddr >= l.filesz || l.filesz - (r.r_offset - l.vaddr) < 8) continue;
      if (!l.copy) {
        copies_.emplace_back(l.data, l.data + l.filesz);
        l.copy = copies_.back().data();
        l.data = l.copy;
      }
      std::memcpy(l.copy + (r.r_offset - l.vaddr), &r.r_addend, 8);
      ++relocations_;
      break;
    }
  }
}

const GoImage::Section* GoImage::section(std::string_view name) const {
  for (const Section& s : sections_)
    if (s.name == name) return &s;
  return nullptr;
}

const GoImage::Section* GoImage::section_at(std::uint64_t addr) const {
  for (const Section& s : sections_)
    if (addr >= s.addr && addr - s.addr < s.size) return &s;
  return nullptr;
}

std::span<const std::uint8_t> GoImage::bytes(std::uint64_t addr, std::uint64_t len) const {
  for (const Load& l : loads_) {
    if (addr < l.vaddr || addr - l.vaddr >= l.filesz) continue;
    std::uint64_t off = addr - l.vaddr;
    if (len > l.filesz - off) return {};
    return {l.data + off, static_cast<std::size_t>(len)};
  }
  return {};
}

std::size_t GoImage::read(std::uint64_t addr, void* buf, std::size_t len) const {
  for (const Load& l : loads_) {
    if (addr < l.vaddr || addr - l.vaddr >= l.filesz) continue;
    std::uint64_t off = addr - l.vaddr;
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(len, l.filesz - off));
    std::memcpy(buf, l.data + off, n);
    return n;
  }
  return 0;
}

// .go.buildinfo: the 14-byte magic "\xff Go buildinf:", the pointer size,
// a flags byte, then either (flag 2, Go 1.18 on) the version as a
// varint-prefixed string at offset 32, or (Go 1.13-1.17) a pointer to a Go
// string header {data, len} at offset 16.
std::string GoImage::go_version() const {
  const Section* s = section(".go.buildinfo");
  if (!s || s->size < 32) return {};
  auto head = bytes(s->addr, 32);
  if (head.empty() || std::memcmp(head.data(), "\xff Go buildinf:", 14) != 0) return {};
  std::uint8_t ptr = head[14], flags = head[15];
  auto plausible = [](std::span<const std::uint8_t> v) {
    return v.size() >= 3 && v.size() <= 64 && std::memcmp(v.data(), "go", 2) == 0;
  };
  if (flags & 2) {
    auto b = bytes(s->addr + 32, 1);
    if (b.empty() || b[0] >= 0x80) return {};
    auto v = bytes(s->addr + 33, b[0]);
    return plausible(v) ? std::string(v.begin(), v.end()) : std::string();
  }
  std::uint64_t header = 0, data = 0, len = 0;
  if (ptr != 8 || !read_u64(s->addr + 16, header) || !read_u64(header, data) || !read_u64(header + 8, len)) return {};
  auto v = bytes(data, len);
  return plausible(v) ? std::string(v.begin(), v.end()) : std::string();
}

std::optional<std::uint64_t> GoImage::file_offset(std::uint64_t addr) const {
  for (const Load& l : loads_)
    if (addr >= l.vaddr && addr - l.vaddr < l.filesz) return l.offset + (addr - l.vaddr);
  return std::nullopt;
}

bool GoImage::read_u64(std::uint64_t addr, std::uint64_t& out) const {
  return read(addr, &out, 8) == 8;
}

}  // namespace threadleak::detail::golang
