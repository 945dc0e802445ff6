// The Go stage after capture and unwinding: goroutines into the Snapshot,
// symbolized, filtered and worded the way the runtime's own traceback shows
// them, and the Go program's OS threads renamed from its own tables.
#pragma once

#include <vector>

#include "golang/go_reader.hpp"
#include "threadleak/snapshot.hpp"
#include "unwind.hpp"

namespace threadleak::detail::golang {

// Appends the goroutines to `snap` (after its OS threads), marks the
// runtime's OS threads, and gives Go frames of OS threads file:line.
// `stacks` are the OS threads' unwound stacks (stacks[i] is t.threads[i]).
void add_goroutines(Snapshot& snap, const Target& t, GoCapture& go, const std::vector<RawStack>& stacks);

}  // namespace threadleak::detail::golang
