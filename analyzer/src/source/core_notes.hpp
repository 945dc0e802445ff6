// Parsing of the notes of an x86-64 Linux core (NT_PRSTATUS, NT_PRPSINFO,
// NT_SIGINFO, NT_AUXV, NT_FILE) from raw bytes, without trusting any size.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "target.hpp"

namespace threadleak::detail {

struct MappedFile {
  std::uint64_t start = 0, end = 0, page_offset = 0;
  std::string path;
};

struct CoreNotes {
  std::vector<RawThread> threads;          // in note order (first = the dumping thread)
  int pid = 0;                             // from NT_PRPSINFO (0 if absent)
  std::string fname;                       // process name from NT_PRPSINFO
  std::string psargs;                      // command line (first 80 bytes)
  std::optional<int> siginfo_signo;        // first NT_SIGINFO
  std::optional<std::uint64_t> siginfo_addr;
  std::uint64_t entry = 0;                 // AT_ENTRY from NT_AUXV
  std::uint64_t vdso = 0;                  // AT_SYSINFO_EHDR from NT_AUXV (0 if none)
  std::vector<MappedFile> files;           // NT_FILE
  std::vector<std::string> problems;       // malformed notes met (parsing went on)
};

// Parses one PT_NOTE segment's bytes into `out`. Never reads past `data`.
void parse_core_notes(std::string_view data, CoreNotes& out);

}  // namespace threadleak::detail
