// libFuzzer target: the pclntab reader (Pclntab) on hostile tables, then
// every query a symbolizer makes. Two shapes of input, by the first byte:
//  - even: a patch [0][offset u32][region u8][bytes] over a real stripped
//    Go binary (THREADLEAK_FUZZ_GO_BASE, which scripts/fuzz.sh builds): the
//    bytes overwrite its pclntab header, function table, whole pclntab or
//    inline trees (gofunc), so mutations land in an otherwise whole table;
//  - odd: [1][gofunc offset u32][table...]: the rest is the whole pclntab,
//    put in a tiny ELF file made here, gofunc that far into it.
// Invariants checked: a pc that find() places has frames, the last one
// named as its function, and nothing returned points outside the file.
#include <elf.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "golang/go_image.hpp"
#include "golang/moduledata.hpp"
#include "golang/pclntab.hpp"
#include "go_base.hpp"

using namespace threadleak::detail::golang;

namespace {

constexpr std::uint64_t kTinyBase = 0x400000, kTinyTable = 0x1000;

// Patchable: the pclntab's header, all of it, its function table and the
// inline trees (gofunc).
struct Base {
  fuzz::GoBase go;
  std::uint64_t pclntab = 0, gofunc = 0, text = 0;
};

Base load() {
  Base b{fuzz::GoBase::read()};
  if (!b.go.md) return b;
  const ModuleData& md = *b.go.md;
  std::string why;
  auto tab = Pclntab::open(*b.go.image, md.pclntab, md.gofunc, why, md.text.lo);
  const GoImage::Section* s = b.go.image->section_at(md.pclntab);
  auto word7 = b.go.image->bytes(md.pclntab + 64, 8);   // the function table's offset (Go 1.18+)
  if (!tab || !s || word7.empty()) return b;
  b.pclntab = md.pclntab, b.gofunc = md.gofunc, b.text = md.text.lo;
  std::uint64_t functab = 0;
  std::memcpy(&functab, word7.data(), 8);
  b.go.add(md.pclntab, 0x60);
  b.go.add(md.pclntab, s->size);
  b.go.add(md.pclntab + functab, 8 * (tab->function_count() + 1));
  b.go.add(md.gofunc, 1 << 18);
  return b;
}

// ELF header, one PT_LOAD over the whole file, and sections .gopclntab and
// .shstrtab (GoImage names sections through it).
std::vector<std::uint8_t> tiny_elf(const std::uint8_t* table, std::size_t size) {
  static const char names[] = "\0.gopclntab\0.shstrtab";
  std::vector<std::uint8_t> f(kTinyTable + size + sizeof names + 3 * sizeof(Elf64_Shdr));
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64, eh.e_ident[EI_DATA] = ELFDATA2LSB, eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_EXEC, eh.e_machine = EM_X86_64, eh.e_version = EV_CURRENT;
  eh.e_phoff = sizeof eh, eh.e_phentsize = sizeof(Elf64_Phdr), eh.e_phnum = 1;
  eh.e_shoff = kTinyTable + size + sizeof names, eh.e_shentsize = sizeof(Elf64_Shdr), eh.e_shnum = 3, eh.e_shstrndx = 2;
  Elf64_Phdr ph{};
  ph.p_type = PT_LOAD, ph.p_vaddr = kTinyBase, ph.p_filesz = ph.p_memsz = f.size();
  Elf64_Shdr sh[3]{};
  sh[1].sh_name = 1, sh[1].sh_type = SHT_PROGBITS, sh[1].sh_flags = SHF_ALLOC;
  sh[1].sh_addr = kTinyBase + kTinyTable, sh[1].sh_size = size;
  sh[2].sh_name = 12, sh[2].sh_type = SHT_STRTAB, sh[2].sh_offset = kTinyTable + size, sh[2].sh_size = sizeof names;
  std::memcpy(f.data(), &eh, sizeof eh);
  std::memcpy(f.data() + sizeof eh, &ph, sizeof ph);
  if (size) std::memcpy(f.data() + kTinyTable, table, size);
  std::memcpy(f.data() + kTinyTable + size, names, sizeof names);
  std::memcpy(f.data() + eh.e_shoff, sh, sizeof sh);
  return f;
}

void check(bool ok) {
  if (!ok) __builtin_trap();
}

bool inside(std::string_view s, const std::vector<std::uint8_t>& file) {
  auto p = reinterpret_cast<const std::uint8_t*>(s.data());
  return s.empty() || (p >= file.data() && p + s.size() <= file.data() + file.size());
}

void query(const Pclntab& t, std::uint64_t pc, const std::vector<std::uint8_t>& file) {
  const PclnFunc* f = t.find(pc);
  auto frames = t.frames(pc);
  (void)t.sp_delta(pc);
  check(!f == frames.empty());
  if (f) check(frames.back().function == f->name && inside(f->name, file));
  for (const PclnFrame& fr : frames) check(inside(fr.function, file) && inside(fr.file, file));
}

// A stride through the functions, so that one input costs a bounded time.
void exercise(const Pclntab& t, const std::vector<std::uint8_t>& file, std::uint8_t seed) {
  const auto& fs = t.functions();
  std::size_t step = fs.size() / 300 + 1;
  for (std::size_t i = seed % step; i < fs.size(); i += step) {
    query(t, fs[i].entry, file);
    query(t, fs[i].entry + (fs[i].end - fs[i].entry) / 2, file);
    query(t, fs[i].end, file);
  }
  (void)t.named("runtime.gopark");
  query(t, 0, file);
  query(t, ~0ull, file);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Base base = load();
  if (size < 5) return 0;
  std::uint32_t word;
  std::memcpy(&word, data + 1, 4);
  std::vector<std::uint8_t> file;
  std::uint64_t pclntab, gofunc, text;
  if (data[0] & 1) {
    file = tiny_elf(data + 5, size - 5);
    pclntab = kTinyBase + kTinyTable, gofunc = word ? pclntab + word : 0, text = kTinyBase;
  } else {
    if (base.go.regions.empty() || size < 6) return 0;
    file = base.go.patched(data[5], word, data + 6, size - 6);
    pclntab = base.pclntab, gofunc = base.gofunc, text = base.text;
  }
  std::string why;
  auto img = GoImage::from_bytes(file, why);
  if (!img) return 0;
  auto t = Pclntab::open(*img, pclntab, gofunc, why, text);
  check(t || !why.empty());
  if (t) exercise(*t, file, data[size - 1]);
  return 0;
}
