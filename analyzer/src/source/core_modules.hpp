// A core's modules, found from its NT_FILE note (which file is mapped
// where) and the vdso image in its memory, and reported to libdwfl. A live
// process's modules are found the same way from /proc/PID/maps and its
// memory (proc_facts.hpp), with the process's own view of the files
// (`root`, `map_file`) as further places to look.
//
// dwfl_core_file_report finds the same modules by probing every one of the
// core's segments for an ELF header: two segments per thread, ~20,000 reads
// and ~50 ms at 10,000 threads. Here only the ~10 mappings that NT_FILE
// names at file offset 0 are looked at. The build-id each module's header
// records in the core is reported with it, so libdwfl rejects a file on disk
// that is not the one the process ran.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "source/core_notes.hpp"
#include "target.hpp"

namespace threadleak::detail {

struct CoreModule {
  std::string name;                       // reported name: the mapped path, or "[vdso]"
  std::string open_path;                  // the file to try (--exe for the main executable)
  std::uint64_t low = 0, high = 0;        // [low, high): from the mapping at file offset 0
  std::vector<unsigned char> build_id;    // from the header in the core (empty if not dumped)
  std::uint64_t build_id_vaddr = 0;
  std::vector<char> image;                // the vdso's whole ELF image, read from the core
  // A live process's own view of the file (find_elf in dwfl_setup.cpp):
  // "/proc/PID/root", the process's "/", when its files are not ours (another
  // mount namespace or root, e.g. a container's), tried after --sysroot and
  // before anything else; empty for cores and for processes that see our files.
  std::string root;
  // "/proc/PID/map_files/START-END": the mapped file itself, tried last;
  // empty for cores.
  std::string map_file;
};

// The ELF files mapped at file offset 0 whose header is in the core, and the
// vdso. `exe` (may be empty) replaces the path of the module holding `entry`.
std::vector<CoreModule> find_core_modules(const CoreNotes& notes, Memory& mem, const std::string& exe);
// The same from any list of mapped files: `entry` is AT_ENTRY, `vdso`
// AT_SYSINFO_EHDR (0: none), `mem` the memory the headers are read from.
std::vector<CoreModule> find_mapped_modules(std::vector<MappedFile> files, std::uint64_t entry,
                                            std::uint64_t vdso, Memory& mem, const std::string& exe);

// Reports `mods` to `dwfl` (between dwfl_report_begin and dwfl_report_end).
// Each module's libdwfl userdata points at its CoreModule, which the
// find_elf callback (dwfl_setup.cpp) reads: `mods` must outlive `dwfl`.
void report_core_modules(Dwfl* dwfl, std::vector<CoreModule>& mods);

// Keeps `mods` alive with `t` (t.module_data) and lets a second Dwfl (the
// symbolizing thread's) report the same modules (t.report_modules_again).
void share_modules(Target& t, const std::shared_ptr<std::vector<CoreModule>>& mods);

}  // namespace threadleak::detail
