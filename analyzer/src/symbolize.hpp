// Symbolization: PC -> module, function (demangled), file:line, inlined
// calls. Each distinct PC is looked up once per Symbolizer; thousands of
// threads share a few dozen PCs.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include "scope_index.hpp"
#include "threadleak/snapshot.hpp"
#include "unwind.hpp"

namespace threadleak::detail {

class Symbolizer {
 public:
  // `dwfl` must outlive the Symbolizer; `entry` (AT_ENTRY) marks the main executable.
  Symbolizer(Dwfl* dwfl, std::uint64_t entry) : dwfl_(dwfl), entry_(entry) {}
  // Looks up every PC of `frames` not seen yet. Uses the Dwfl.
  void prepare(const std::vector<RawFrame>& frames);
  // Appends the frames for one raw frame (several when calls were inlined).
  // Its PC must have been prepared; then this only reads the cache and may
  // run on several threads at once.
  void append(const RawFrame& raw, std::vector<Frame>& out) const;
  std::size_t distinct_pcs() const { return cache_.size(); }

 private:
  std::vector<Frame> lookup(std::uint64_t lookup_pc);
  void expand_inlines(Dwfl_Module* mod, std::uint64_t pc, const Frame& base, std::vector<Frame>& out);
  Dwfl* dwfl_;
  std::uint64_t entry_;
  std::unordered_map<std::uint64_t, std::vector<Frame>> cache_;
  // Per compilation unit (module, unit offset), built on first use.
  std::map<std::pair<Dwfl_Module*, Dwarf_Off>, std::unique_ptr<ScopeIndex>> scopes_;
};

std::string demangle(const char* name);

}  // namespace threadleak::detail
