// Compressed cores: zstd, lz4 (frame format) and xz, the formats
// systemd-coredump writes, told by their first bytes, never by the name.
//
// A compressed core is decompressed once, as a stream, into an unlinked
// SPARSE temporary file: 4 KiB blocks that are all zeros are skipped (a
// hole), so disk use follows the core's real content, not its apparent
// size (a gcore of a Go program is ~1 GB, mostly zeros). The core reader
// then reads that descriptor as it reads a plain core. Memory: one input
// and one output buffer of 1 MiB plus the decoder's window (zstd: at most
// 128 MiB, its default limit; xz: at most 256 MiB). See docs/cores.md.
//
//   struct stat st;
//   Fd fd = ...open(path)...; fstat(fd, &st);
//   std::vector<std::string> warnings;
//   decompress_if_compressed(path, fd, st, warnings);   // fd, st now the core's
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util.hpp"

namespace threadleak::detail {

enum class Compression { none, zstd, lz4, xz };

// What the first bytes of a file say (at least 6 bytes to tell xz).
Compression compression_of(std::string_view head);
// "zstd", "lz4", "xz" ("" for none).
const char* compression_name(Compression c);

// The decompressed image's apparent size is capped here: a larger one is
// not a plausible core (and would only be holes).
constexpr std::uint64_t kMaxDecompressedBytes = std::uint64_t{1} << 40;   // 1 TiB

// If `fd` (opened on `path`, described by `st`) holds a compressed core,
// replaces it with a descriptor of the decompressed, sparse, unlinked
// temporary file (in $TMPDIR, else /var/tmp) and sets st.st_size to the
// decompressed size; st's other fields (mtime) stay the compressed file's.
// Does nothing for any other content.
//
// A truncated or corrupt stream whose decompressed part holds the ELF
// header, the program headers and every note: a warning appended to
// `warnings` ("... truncated after N MB of decompressed data") and the part
// is the core. Otherwise, and when the content is not an ELF core, the
// decompressed size passes kMaxDecompressedBytes or the temporary directory
// is full: throws Error naming `path` and the problem.
void decompress_if_compressed(const std::string& path, Fd& fd, struct stat& st,
                              std::vector<std::string>& warnings);

// How the calling thread's last decompression went (for tests, -v and the
// measurements in docs/cores.md); all zero for a plain core.
struct DecompressStats {
  std::uint64_t apparent_bytes = 0;   // the decompressed size
  std::uint64_t written_bytes = 0;    // bytes in non-zero 4 KiB blocks
  std::uint64_t disk_bytes = 0;       // the temporary file's st_blocks * 512
  double seconds = 0;
};
DecompressStats last_decompress_stats();

}  // namespace threadleak::detail
