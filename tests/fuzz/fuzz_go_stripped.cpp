// libFuzzer target: what threadleak reads from a stripped Go binary (the
// moduledata search, type descriptors, wait-reason table, pclntab and the
// candidate globals in code), on a real stripped binary patched by the
// input. The input is [region u8][offset u32][bytes]: the bytes overwrite
// the chosen region (moduledata, typelinks, type descriptors, pclntab,
// initialised data) at that offset, so mutations land where the parsers
// look. THREADLEAK_FUZZ_GO_BASE names the binary (scripts/fuzz.sh builds it).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "golang/go_reader.hpp"
#include "golang/go_stripped.hpp"
#include "golang/moduledata.hpp"

using namespace threadleak::detail::golang;

namespace {

struct Base {
  std::vector<std::uint8_t> file;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> regions;   // file offset, length
};

std::uint64_t file_offset(const std::vector<std::uint8_t>& file, const GoImage& img, std::uint64_t addr) {
  auto b = img.bytes(addr, 1);
  return b.empty() ? 0 : static_cast<std::uint64_t>(b.data() - file.data());
}

Base load() {
  Base b;
  const char* path = std::getenv("THREADLEAK_FUZZ_GO_BASE");
  if (!path) return b;
  std::ifstream in(path, std::ios::binary);
  b.file.assign(std::istreambuf_iterator<char>(in), {});
  std::string why;
  auto img = GoImage::from_bytes(b.file, why);
  auto md = img ? ModuleData::find(*img, why) : std::nullopt;
  if (!md) return b;
  auto add = [&](std::uint64_t addr, std::uint64_t len) {
    if (std::uint64_t off = file_offset(b.file, *img, addr)) b.regions.emplace_back(off, std::min(len, b.file.size() - off));
  };
  add(md->address, 512);
  add(md->typelinks, md->ntypelinks * 4);
  add(md->types.lo, md->types.hi - md->types.lo);
  add(md->pclntab, 1 << 20);
  add(md->data.lo, md->data.hi - md->data.lo);
  return b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Base base = load();
  if (base.regions.empty() || size < 5) return 0;
  std::vector<std::uint8_t> file = base.file;
  auto [start, len] = base.regions[data[0] % base.regions.size()];
  std::uint32_t at;
  std::memcpy(&at, data + 1, 4);
  std::uint64_t off = start + at % len;
  std::size_t n = std::min<std::size_t>(size - 5, file.size() - off);
  std::memcpy(file.data() + off, data + 5, n);

  GoCapture go;
  std::string why;
  go.image = GoImage::from_bytes(file, why);
  if (!go.image) return 0;
  std::vector<std::string> warnings;
  describe_stripped(go, "fuzz", warnings);
  if (go.symbols)
    for (std::uint64_t pc = go.image->entry(); pc < go.image->entry() + 4096; pc += 97) go.symbols->lookup(pc);
  return 0;
}
