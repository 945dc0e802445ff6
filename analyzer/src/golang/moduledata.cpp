#include "golang/moduledata.hpp"

#include <cstring>

#include <fmt/format.h>

namespace threadleak::detail::golang {
namespace {

constexpr std::uint32_t kGo12 = 0xfffffffb, kGo116 = 0xfffffffa, kGo118 = 0xfffffff0, kGo120 = 0xfffffff1;
constexpr std::size_t kWords = 64;

bool known_magic(std::uint32_t m) { return m == kGo12 || m == kGo116 || m == kGo118 || m == kGo120; }

// A pcHeader: magic, two zero bytes, minLC 1/2/4, ptrSize 8.
bool plausible_header(const GoImage& img, std::uint64_t addr, std::uint32_t& magic) {
  auto b = img.bytes(addr, 8);
  if (b.empty()) return false;
  std::memcpy(&magic, b.data(), 4);
  return known_magic(magic) && b[4] == 0 && b[5] == 0 && (b[6] == 1 || b[6] == 2 || b[6] == 4) && b[7] == 8;
}

// The first aligned word in initialised writable data equal to `target`.
std::optional<std::uint64_t> find_pointer_to(const GoImage& img, std::uint64_t target) {
  for (const GoImage::Section& s : img.sections()) {
    if (!s.writable || s.nobits) continue;
    auto b = img.bytes(s.addr, s.size);
    for (std::size_t off = (8 - s.addr % 8) % 8; off + 8 <= b.size(); off += 8) {
      std::uint64_t w;
      std::memcpy(&w, b.data() + off, 8);
      if (w == target) return s.addr + off;
    }
  }
  return std::nullopt;
}

bool ordered(const Range& r) { return r.lo <= r.hi; }

}  // namespace

std::optional<std::uint64_t> find_pclntab(const GoImage& img, std::uint32_t& magic) {
  // A PIE build keeps it among the relocated read-only data.
  for (const char* name : {".gopclntab", ".data.rel.ro.gopclntab"})
    if (const auto* s = img.section(name))
      if (plausible_header(img, s->addr, magic)) return s->addr;
  for (const GoImage::Section& s : img.sections()) {
    if ((s.writable && !s.name.starts_with(".data.rel.ro")) || s.exec || s.nobits) continue;
    for (std::uint64_t a = s.addr + (8 - s.addr % 8) % 8; a + 8 <= s.addr + s.size; a += 8)
      if (plausible_header(img, a, magic)) return a;
  }
  return std::nullopt;
}

std::optional<ModuleData> ModuleData::find(const GoImage& img, std::string& why) {
  ModuleData md;
  auto pcln = find_pclntab(img, md.magic);
  if (!pcln) { why = "no pclntab with a known header (Go 1.2 or newer)"; return std::nullopt; }
  md.pclntab = *pcln;
  auto at = find_pointer_to(img, md.pclntab);
  if (!at) { why = "no runtime.firstmoduledata (nothing points at the pclntab)"; return std::nullopt; }
  md.address = *at;
  std::uint64_t w[kWords] = {};
  if (img.read(md.address, w, sizeof w) != sizeof w) { why = "runtime.firstmoduledata is cut short"; return std::nullopt; }
  std::size_t types, typelinks;
  if (md.magic == kGo12) {
    // Go 1.10-1.15: pclntable, ftab and filetab slices (the first points
    // at the table, its length equal to its capacity), findfunctab, minpc,
    // maxpc, text..enoptrbss, end, gcdata, gcbss, types, etypes, then the
    // textsectmap and typelinks slices.
    if (w[1] != w[2] || w[4] != w[5] || w[7] != w[8]) {
      why = fmt::format("runtime.firstmoduledata at {:#x} does not look like a Go 1.10-1.15 moduledata", md.address);
      return std::nullopt;
    }
    md.text = {w[12], w[13]};
    md.noptrdata = {w[14], w[15]};
    md.data = {w[16], w[17]};
    md.bss = {w[18], w[19]};
    md.noptrbss = {w[20], w[21]};
    types = 25;
    typelinks = 30;
  } else {
    // pcHeader, six slices, findfunctab, minpc, maxpc, then text..enoptrbss:
    // the same in every version from 1.16.
    md.text = {w[22], w[23]};
    md.noptrdata = {w[24], w[25]};
    md.data = {w[26], w[27]};
    md.bss = {w[28], w[29]};
    md.noptrbss = {w[30], w[31]};
    // Then end, gcdata, gcbss, types, etypes (Go 1.20 put covctrs and
    // ecovctrs before end), rodata and gofunc from Go 1.18, then the
    // textsectmap and typelinks slices.
    types = md.magic == kGo120 ? 37 : 35;
    if (md.magic != kGo116) md.gofunc = w[types + 3];
    typelinks = types + (md.magic == kGo116 ? 2 : 4) + 3;
  }
  md.types = {w[types], w[types + 1]};
  // Go 1.26 added epclntab after gofunc: take the first {ptr, len, len}
  // from there whose offsets all fall inside the types (the .typelink
  // section when the file still names it).
  const GoImage::Section* tl = img.section(".typelink");
  if (!tl) tl = img.section(".data.rel.ro.typelink");  // PIE
  for (std::size_t i = typelinks; i + 2 < kWords && i <= typelinks + 2 && !md.typelinks; ++i) {
    if (w[i + 1] != w[i + 2] || w[i + 1] < 4 || w[i + 1] > (1u << 24) || (tl && tl->addr != w[i])) continue;
    auto b = img.bytes(w[i], w[i + 1] * 4);
    bool inside = !b.empty();
    for (std::size_t k = 0; inside && k < w[i + 1]; ++k) {
      std::int32_t off;
      std::memcpy(&off, b.data() + k * 4, 4);
      inside = off >= 0 && static_cast<std::uint64_t>(off) < md.types.hi - md.types.lo;
    }
    if (inside) md.typelinks = w[i], md.ntypelinks = w[i + 1];
  }
  bool sane = ordered(md.text) && ordered(md.noptrdata) && ordered(md.data) && ordered(md.bss) &&
              ordered(md.noptrbss) && md.types.lo < md.types.hi && !img.bytes(md.types.lo, 1).empty() &&
              md.text.lo < md.text.hi && !img.bytes(md.text.lo, 1).empty();
  if (!sane) {
    why = fmt::format("runtime.firstmoduledata at {:#x} does not look like a Go {} moduledata", md.address,
                      md.magic == kGo12 ? "1.10-1.15" : "1.16+");
    return std::nullopt;
  }
  if (!md.typelinks) {
    why = fmt::format("runtime.firstmoduledata at {:#x} has no typelinks", md.address);
    return std::nullopt;
  }
  return md;
}

}  // namespace threadleak::detail::golang
