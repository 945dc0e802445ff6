// libFuzzer target: the notes of a core (NT_PRSTATUS, NT_FILE, ...) are
// untrusted input, read whole and, before that, from their two ends
// (find_module_notes), with the tail starting at every alignment.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "source/core_notes.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view all(reinterpret_cast<const char*>(data), size);
  threadleak::detail::CoreNotes notes;
  threadleak::detail::parse_core_notes(all, notes);
  std::size_t cut = size / 2 + (size ? data[0] % 4 : 0);
  if (cut > size) cut = size;
  auto early = threadleak::detail::find_module_notes(all.substr(0, size / 3), all.substr(cut), cut);
  if (early) (void)threadleak::detail::same_modules(*early, notes);
  return 0;
}
