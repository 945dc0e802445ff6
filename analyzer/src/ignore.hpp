// The ignore rules of DiffOptions (goleak's IgnoreTopFunction and
// IgnoreAnyFunction, and by start routine), shared by diff and series.
#pragma once

#include <cstddef>

#include "threadleak/analysis.hpp"

namespace threadleak::detail {

// A copy of `s` (pid and threads only) without the threads the rules ignore;
// adds the number dropped to `dropped`.
// True when `pattern` names the function `fn` (the rule of ignore_any).
bool function_matches(const std::string& fn, const std::string& pattern);

Snapshot filtered(const Snapshot& s, const DiffOptions& o, std::size_t& dropped);

}  // namespace threadleak::detail
