// A frozen live process's memory for the goroutine walk: the one reader
// (source/memory.hpp) over /proc/PID/mem. Its page cache suits the walk,
// which touches each g and each frame once, mostly a few words per page.
#include "golang/goroutines.hpp"
#include "source/memory.hpp"

namespace threadleak::detail::golang {

std::unique_ptr<Memory> proc_memory(int mem_fd) { return PagedMemory::of_process(mem_fd); }

}  // namespace threadleak::detail::golang
