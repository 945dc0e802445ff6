// Where a Go program's function names and lines come from: its DWARF when
// present, else its .gopclntab, which every Go binary keeps (the runtime's
// own tracebacks need it). Both answer the same questions in link-time
// addresses; GoSymbolizer adds the load bias, the module and a cache.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "threadleak/snapshot.hpp"

namespace threadleak::detail::golang {

class GoDwarf;
class Pclntab;

struct GoFunc {
  std::uint64_t low = 0, high = 0;   // [entry, end)
  std::string_view name;             // lives as long as the GoSymbols
  bool wrapper = false;              // compiler-made; the runtime's traceback hides it
};

// One frame at a pc: function, file, line, offset, inlined, and whether it
// is a wrapper. Module fields are the symbolizer's to fill.
struct GoFrame {
  Frame frame;
  bool wrapper = false;
};

class GoSymbols {
 public:
  virtual ~GoSymbols() = default;
  virtual std::optional<GoFunc> function_at(std::uint64_t link_pc) const = 0;
  virtual std::optional<GoFunc> function_named(std::string_view name) const = 0;
  // The frames at exactly `link_pc`, innermost first, inlined calls
  // expanded; empty when no function holds it.
  virtual std::vector<GoFrame> lookup(std::uint64_t link_pc) const = 0;
  // The bytes the function holding `link_pc` has pushed below its return
  // address at that pc (the pclntab's pcsp); nullopt when unknown.
  virtual std::optional<std::int32_t> sp_delta(std::uint64_t link_pc) const = 0;
  virtual std::size_t function_count() const = 0;
  virtual const char* source() const = 0;   // "DWARF" or "pclntab", for messages
};

// `dwarf` must outlive the result; `fallback` (may be null) answers for
// pcs the DWARF does not describe.
std::unique_ptr<GoSymbols> dwarf_symbols(const GoDwarf& dwarf, std::unique_ptr<GoSymbols> fallback);
std::unique_ptr<GoSymbols> pclntab_symbols(std::unique_ptr<Pclntab> table);

}  // namespace threadleak::detail::golang
