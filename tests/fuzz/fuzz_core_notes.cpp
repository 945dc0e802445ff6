// libFuzzer target: the notes of a core (NT_PRSTATUS, NT_FILE, ...) are
// untrusted input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "source/core_notes.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  threadleak::detail::CoreNotes notes;
  threadleak::detail::parse_core_notes(std::string_view(reinterpret_cast<const char*>(data), size), notes);
  return 0;
}
