// A core's memory: PagedMemory (memory.hpp) over the core's PT_LOAD
// segments, read from the core file. open_core clips each segment's filesz
// to what the file holds, so memory cut off by truncation reads short, as
// a segment the core did not dump does.
#pragma once

#include "source/memory.hpp"

namespace threadleak::detail {

using CoreMemory = PagedMemory;

}  // namespace threadleak::detail
