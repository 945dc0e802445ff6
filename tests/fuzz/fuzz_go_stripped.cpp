// libFuzzer target: what threadleak reads from a stripped Go binary (the
// moduledata search, type descriptors, wait-reason table, pclntab and the
// candidate globals in code), on a real stripped binary patched by the
// input. The input is [region u8][offset u32][bytes]: the bytes overwrite
// the chosen region (moduledata, typelinks, type descriptors, pclntab,
// initialised data, and a PIE base's relocations) at that offset, so mutations land where the parsers
// look. THREADLEAK_FUZZ_GO_BASE names the binary (scripts/fuzz.sh builds it).
#include <cstdint>
#include <cstring>
#include <vector>

#include "go_base.hpp"

#include "golang/go_reader.hpp"
#include "golang/go_stripped.hpp"
#include "golang/moduledata.hpp"

using namespace threadleak::detail::golang;

namespace {

// Patchable: the moduledata, typelinks, type descriptors, pclntab and
// initialised data.
fuzz::GoBase load() {
  fuzz::GoBase b = fuzz::GoBase::read();
  if (!b.md) return b;
  const ModuleData& md = *b.md;
  b.add(md.address, 512);
  b.add(md.typelinks, md.ntypelinks * 4);
  b.add(md.types.lo, md.types.hi - md.types.lo);
  b.add(md.pclntab, 1 << 20);
  b.add(md.data.lo, md.data.hi - md.data.lo);
  // A PIE base: its relocation table, which GoImage applies; the build
  // info GoImage reads the Go version from.
  for (const char* name : {".rela", ".rela.dyn", ".go.buildinfo"})
    if (const auto* s = b.image->section(name)) b.add(s->addr, s->size);
  return b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fuzz::GoBase base = load();
  if (base.regions.empty() || size < 5) return 0;
  std::uint32_t at;
  std::memcpy(&at, data + 1, 4);
  std::vector<std::uint8_t> file = base.patched(data[0], at, data + 5, size - 5);

  GoCapture go;
  std::string why;
  go.image = GoImage::from_bytes(file, why);
  if (!go.image) return 0;
  std::vector<std::string> warnings;
  (void)go.image->go_version();
  describe_stripped(go, "fuzz", warnings);
  if (go.symbols)
    for (std::uint64_t pc = go.image->entry(); pc < go.image->entry() + 4096; pc += 97) go.symbols->lookup(pc);
  return 0;
}
