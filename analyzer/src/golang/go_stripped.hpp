// A Go program without DWARF, described from what stripping leaves: the
// pclntab for names and lines, the runtime's type descriptors for the
// layouts of g, m, sudog and the sync types, the runtime's code for where
// its globals may be, and its initialised data for the wait reasons.
#pragma once

#include <string>

#include "golang/go_reader.hpp"

namespace threadleak::detail::golang {

// Fills go.symbols, and when the runtime can be understood go.layout,
// go.sema and go.layout_known, from go.image. A problem is one warning
// (prefixed with `name`) naming what is missing; the symbols stay usable.
void describe_stripped(GoCapture& go, const std::string& name, std::vector<std::string>& warnings);

// The pclntab's symbols alone (null with `why`): what a DWARF build falls
// back on for the functions its DWARF does not describe.
std::unique_ptr<GoSymbols> open_pclntab(const GoImage& img, std::string& why);

}  // namespace threadleak::detail::golang
