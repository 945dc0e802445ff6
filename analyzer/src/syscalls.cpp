#include "syscalls.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace threadleak::detail {
namespace {
struct Entry { long nr; const char* name; };
const Entry kTable[] = {
#include "syscall_table.inc"
};
}  // namespace

std::string syscall_name(long nr) {
  for (const Entry& e : kTable)
    if (e.nr == nr) return e.name;
  return "syscall_" + std::to_string(nr);
}

}  // namespace threadleak::detail
