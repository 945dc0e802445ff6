// Tells what kind of input a path is: an ELF core or a snapshot file.
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "source/open.hpp"

namespace threadleak::detail {

InputKind detect_input(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) throw Error(path + ": " + errno_text(errno));
  if (S_ISDIR(st.st_mode)) throw Error(path + ": is a directory, not a core or snapshot file");
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw Error(path + ": " + errno_text(errno));
  char head[64] = {};
  ssize_t n = ::pread(fd.get(), head, sizeof head, 0);
  if (n <= 0) throw Error(path + ": empty file, not a core or snapshot file");
  if (n >= 4 && std::memcmp(head, "\x7f" "ELF", 4) == 0) return InputKind::core;
  for (ssize_t i = 0; i < n; ++i) {
    if (head[i] == '{') return InputKind::snapshot;
    if (head[i] != ' ' && head[i] != '\n' && head[i] != '\t' && head[i] != '\r') break;
  }
  throw Error(path + ": not a core file (no ELF header) nor a threadleak snapshot (not JSON)");
}

}  // namespace threadleak::detail
