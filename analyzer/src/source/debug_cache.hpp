// Separate debug files kept decompressed, by build-id (docs/performance.md).
//
// Debian's debug packages (libc6-dbg and others) store their .debug_*
// sections zlib-compressed (SHF_COMPRESSED). libdw inflates every one of
// them when it opens the file: for libc that is ~10 MB, ~30 ms of CPU on
// each capture, the largest single cost of reading a 10,000-thread core.
// The first capture that needs such a file writes a copy with the same
// sections stored plainly to the cache directory, named by build-id; later
// captures hand libdwfl the copy instead. The copy is taken only when its
// build-id is the module's, like every other debug file.
//
// The directory: $THREADLEAK_CACHE_DIR, else $XDG_CACHE_HOME/threadleak,
// else $HOME/.cache/threadleak; THREADLEAK_CACHE_DIR=off turns it off. It is
// trimmed to kDebugCacheBytes, the oldest copies first. Any failure (no
// home, read-only directory, full disk) leaves the original in use.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <libelf.h>

namespace threadleak::detail {

inline constexpr std::uint64_t kDebugCacheBytes = std::uint64_t{512} << 20;

// The cache directory, "" when caching is off or no directory is known.
std::string debug_cache_dir();

// True when one of `elf`'s sections is stored compressed.
bool has_compressed_sections(Elf* elf);

// The path of the decompressed copy of the debug file `path` (its build-id
// `id`, not empty), written now if the cache has none; nullopt when caching
// is off or the copy cannot be made.
std::optional<std::string> decompressed_copy(const std::string& path, const std::vector<unsigned char>& id);

}  // namespace threadleak::detail
