// Tells what kind of input a path is: an ELF core or a snapshot file.
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "source/compressed_core.hpp"
#include "source/open.hpp"

namespace threadleak::detail {

InputKind detect_input(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) throw Error(path + ": " + errno_text(errno), error_kind_of_errno(errno));
  if (S_ISDIR(st.st_mode)) throw Error(path + ": is a directory, not a core or snapshot file");
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw Error(path + ": " + errno_text(errno), error_kind_of_errno(errno));
  char head[64] = {};
  ssize_t n = ::pread(fd.get(), head, sizeof head, 0);
  if (n <= 0) throw Error(path + ": empty file, not a core or snapshot file");
  if (n >= 4 && std::memcmp(head, "\x7f" "ELF", 4) == 0) return InputKind::core;
  if (compression_of(std::string_view(head, static_cast<std::size_t>(n))) != Compression::none)
    return InputKind::core;   // zstd, lz4 or xz: decompressed by open_core
  for (ssize_t i = 0; i < n; ++i) {
    if (head[i] == '{') return InputKind::snapshot;
    if (head[i] != ' ' && head[i] != '\n' && head[i] != '\t' && head[i] != '\r') break;
  }
  throw Error(path + ": not a core file (no ELF header, nor zstd, lz4 or xz data) nor a threadleak snapshot (not JSON)");
}

}  // namespace threadleak::detail
