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
  bool operator==(const MappedFile&) const = default;
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
  bool gdb_notes = false;                  // notes named "GDB" (gdb's gcore writes its target description)
  std::vector<std::string> problems;       // malformed notes met (parsing went on)
};

// Parses one PT_NOTE segment's bytes into `out`. Never reads past `data`.
void parse_core_notes(std::string_view data, CoreNotes& out);

// The length of the run of whole notes at the start of data: a note cut
// off at the end is left out (for the next chunk). At the end of a segment
// the last note's padding may be missing.
std::size_t whole_notes(std::string_view data, bool at_segment_end);

// The notes that place the modules (NT_FILE, NT_AUXV), found without
// reading the whole segment, which at 10,000 threads is ~35 MB of mostly
// registers: the kernel writes them after the first thread's notes, gdb's
// gcore at the very end. `head` is the segment's first bytes, `tail` its
// last ones, starting `tail_at` bytes into it. In the tail the note
// boundaries are unknown: a boundary is taken where a note header names
// "CORE" and the notes from there end exactly at the segment's end. A
// guess, to be confirmed by same_modules() once the whole segment is read;
// nullopt if no NT_FILE was found.
std::optional<CoreNotes> find_module_notes(std::string_view head, std::string_view tail, std::uint64_t tail_at);

// Whether two parses agree on everything that decides the modules.
bool same_modules(const CoreNotes& a, const CoreNotes& b);

}  // namespace threadleak::detail
