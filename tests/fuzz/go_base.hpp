// The real stripped Go binary the Go fuzzers patch (THREADLEAK_FUZZ_GO_BASE;
// scripts/fuzz.sh builds it), with the regions of it an input may overwrite,
// so that mutations land where the parsers look.
//
//   GoBase b = GoBase::read();                   // then, for each region:
//   if (b.md) b.add(b.md->pclntab, 1 << 20);     // by link-time address
//   std::vector<std::uint8_t> file = b.patched(which, at, bytes, n);
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "golang/go_image.hpp"
#include "golang/moduledata.hpp"

namespace fuzz {

struct GoBase {
  std::vector<std::uint8_t> file;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> regions;   // file offset, length
  std::unique_ptr<threadleak::detail::golang::GoImage> image;      // over `file`; null when unreadable
  std::optional<threadleak::detail::golang::ModuleData> md;

  // The file named by THREADLEAK_FUZZ_GO_BASE, its image and moduledata;
  // no regions yet. Empty when the variable is unset or the file unreadable.
  static GoBase read() {
    GoBase b;
    const char* path = std::getenv("THREADLEAK_FUZZ_GO_BASE");
    if (!path) return b;
    std::ifstream in(path, std::ios::binary);
    b.file.assign(std::istreambuf_iterator<char>(in), {});
    std::string why;
    b.image = threadleak::detail::golang::GoImage::from_bytes(b.file, why);
    if (b.image) b.md = threadleak::detail::golang::ModuleData::find(*b.image, why);
    return b;
  }

  // Adds [addr, addr + len) by link-time address, clipped to the file.
  void add(std::uint64_t addr, std::uint64_t len) {
    auto at = image->file_offset(addr);
    if (!at || *at >= file.size()) return;
    std::uint64_t off = *at;
    regions.emplace_back(off, std::min<std::uint64_t>(len, file.size() - off));
  }

  // A copy of the file with `n` bytes written into region `which` (modulo
  // the count) at offset `at` (modulo its length). Needs a region.
  std::vector<std::uint8_t> patched(std::size_t which, std::uint32_t at, const std::uint8_t* bytes,
                                    std::size_t n) const {
    std::vector<std::uint8_t> f = file;
    auto [start, len] = regions[which % regions.size()];
    std::uint64_t off = start + at % len;
    std::memcpy(f.data() + off, bytes, std::min<std::size_t>(n, f.size() - off));
    return f;
  }
};

}  // namespace fuzz
