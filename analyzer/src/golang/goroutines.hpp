// The Go part of capture: recognise a Go program and read its goroutines
// (from a core, or from a live process while it is frozen). Turning them
// into Thread records is a later stage (golang/go_snapshot.hpp).
//
//   auto go = golang::open_go(exe_path, name, entry, warnings);  // null: not Go
//   if (go) golang::read_goroutines(*go, memory, 256, threads);   // while frozen
//   ... unwind OS threads ...
//   if (go) golang::add_goroutines(snapshot, target, *go, stacks);
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "target.hpp"

namespace threadleak::detail::golang {

struct GoCapture;

// Opens the executable at `exe_path`; null when it is not a Go program.
// Its DWARF is used when present, else its pclntab and type descriptors;
// when the runtime is not understood, a warning says why and only the
// symbols are kept (OS threads get Go names, no goroutines). `entry` is the
// target's AT_ENTRY (for PIE), 0 if unknown.
// `name` is how messages call the executable.
std::shared_ptr<GoCapture> open_go(const std::string& exe_path, const std::string& name, std::uint64_t entry,
                                   std::vector<std::string>& warnings);

// Reads every goroutine from `mem` into `go`; `threads` are the target's
// OS threads (a stripped binary's globals are checked against them).
void read_goroutines(GoCapture& go, Memory& mem, unsigned max_frames, const std::vector<RawThread>& threads);

// The target's Go program, for a core (found through the Dwfl's main
// module) or null.
std::shared_ptr<GoCapture> open_go_for_core(Target& t);

// A Memory over /proc/PID/mem, for reading a frozen live process.
std::unique_ptr<Memory> proc_memory(int mem_fd);
// read_goroutines on a frozen live process through its /proc/PID/mem; also
// notes the monotonic clock (the runtime's nanotime) for wait times.
void read_goroutines_live(GoCapture& go, int mem_fd, unsigned max_frames, const std::vector<RawThread>& threads);

}  // namespace threadleak::detail::golang
