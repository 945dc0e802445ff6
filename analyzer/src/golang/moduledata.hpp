// runtime.firstmoduledata of a Go executable, found without symbols: it is
// the initialised word in the writable data that points at the pclntab's
// header, and its first words are the same from Go 1.16 on. What the
// stripped path needs from it: where the type descriptors are (types,
// etypes, typelinks), where funcdata lives (gofunc, Go 1.18+), and the
// program's data and bss ranges (where the runtime's globals sit).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "golang/go_image.hpp"

namespace threadleak::detail::golang {

struct Range {
  std::uint64_t lo = 0, hi = 0;
  bool holds(std::uint64_t a, std::uint64_t len = 1) const { return a >= lo && a <= hi && hi - a >= len; }
};

struct ModuleData {
  std::uint64_t address = 0;     // of firstmoduledata itself (link-time)
  std::uint64_t pclntab = 0;     // the pcHeader
  std::uint32_t magic = 0;       // the pcHeader's magic: selects the moduledata's shape
  Range text, noptrdata, data, bss, noptrbss;
  Range types;                   // type descriptors and the names they point at
  std::uint64_t gofunc = 0;      // base of funcdata offsets (Go 1.18+), else 0
  std::uint64_t typelinks = 0, ntypelinks = 0;   // []int32 offsets from types.lo

  // Finds and checks firstmoduledata in `img`; nullopt with `why`.
  static std::optional<ModuleData> find(const GoImage& img, std::string& why);
};

// Where the pclntab header is: the .gopclntab section, else the first
// known magic in a read-only section followed by a plausible header.
std::optional<std::uint64_t> find_pclntab(const GoImage& img, std::uint32_t& magic);

}  // namespace threadleak::detail::golang
