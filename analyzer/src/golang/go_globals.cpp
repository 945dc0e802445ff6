#include "golang/go_globals.hpp"

#include <cstring>
#include <string_view>

namespace threadleak::detail::golang {

// Instructions of the shape [REX.W] op modrm disp32 with modrm selecting
// RIP+disp32 (mod 00, r/m 101) and no immediate: mov, lea, cmp, add, sub,
// and, or, xor, test, xchg in either direction. A byte pattern, not a
// decoder: a false match only adds a candidate the caller then rejects.
std::vector<std::uint64_t> rip_targets(std::span<const std::uint8_t> code, std::uint64_t addr, const Range& within) {
  static constexpr std::uint8_t kOps[] = {0x8b, 0x8d, 0x89, 0x39, 0x3b, 0x01, 0x03, 0x29, 0x2b,
                                          0x21, 0x23, 0x09, 0x0b, 0x31, 0x33, 0x85, 0x87};
  std::vector<std::uint64_t> out;
  for (std::size_t i = 0; i + 6 <= code.size(); ++i) {
    bool rex = (code[i] & 0xf0) == 0x40;
    std::size_t op = rex ? i + 1 : i;
    if (op + 6 > code.size()) break;
    if (std::memchr(kOps, code[op], sizeof kOps) == nullptr || (code[op + 1] & 0xc7) != 0x05) continue;
    std::int32_t disp;
    std::memcpy(&disp, code.data() + op + 2, 4);
    std::uint64_t target = addr + op + 6 + static_cast<std::int64_t>(disp);
    if (within.holds(target)) out.push_back(target);
  }
  return out;
}

namespace {

bool printable_string(const GoImage& img, std::uint64_t ptr, std::uint64_t len) {
  if (len == 0 || len > 64) return false;
  auto b = img.bytes(ptr, len);
  if (b.empty()) return false;
  for (std::uint8_t c : b)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

}  // namespace

std::optional<StringTable> find_wait_reasons(const GoImage& img, const ModuleData& md) {
  constexpr std::string_view kFirst = "GC assist marking";
  auto data = img.bytes(md.data.lo, md.data.hi - md.data.lo);
  for (std::size_t off = 16 + (8 - md.data.lo % 8) % 8; off + 16 <= data.size(); off += 8) {
    std::uint64_t hdr[4];
    std::memcpy(hdr, data.data() + off - 16, 32);
    if (hdr[3] != kFirst.size() || hdr[1] != 0) continue;   // entry 0 is "", entry 1 the anchor
    auto s = img.bytes(hdr[2], kFirst.size());
    if (s.empty() || std::memcmp(s.data(), kFirst.data(), kFirst.size()) != 0) continue;
    StringTable t{md.data.lo + off - 16, 2};
    for (std::size_t e = off + 16; e + 16 <= data.size(); e += 16, ++t.count) {
      std::uint64_t h[2];
      std::memcpy(h, data.data() + e, 16);
      if (!printable_string(img, h[0], h[1])) break;
    }
    return t;
  }
  return std::nullopt;
}

}  // namespace threadleak::detail::golang
