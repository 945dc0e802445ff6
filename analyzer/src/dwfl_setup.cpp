// Dwfl callbacks shared by the core and live sources.
#include <fcntl.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

#include <elfutils/libdwelf.h>

#include "source/core_modules.hpp"
#include "source/debug_cache.hpp"
#include "source/debuginfod.hpp"
#include "target.hpp"

namespace threadleak::detail {
namespace {

// libdwfl's find_elf callback gets no pointer of ours, so the sysroot of the
// capture in progress lives here. One capture's sources share one sysroot.
std::mutex g_sysroot_mutex;
std::string g_sysroot;
std::vector<std::string> g_debug_dirs;

std::string current_sysroot() {
  std::lock_guard lock(g_sysroot_mutex);
  return g_sysroot;
}

std::vector<std::string> current_debug_dirs() {
  std::lock_guard lock(g_sysroot_mutex);
  return g_debug_dirs;
}

// find_elf for cores: with a sysroot, try SYSROOT/path first (a core from
// another machine), then the standard lookup by build-id and recorded path.
int find_elf_in_sysroot(Dwfl_Module* mod, void** userdata, const char* modname,
                        Dwarf_Addr base, char** file_name, Elf** elfp) {
  std::string sysroot = current_sysroot();
  if (!sysroot.empty() && modname && modname[0] == '/') {
    std::string path = sysroot + modname;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      *file_name = strdup(path.c_str());
      *elfp = nullptr;
      return fd;
    }
  }
  return dwfl_build_id_find_elf(mod, userdata, modname, base, file_name, elfp);
}

// "ab/cdef..." for build-id ab cd ef ...
std::string build_id_path(const std::vector<unsigned char>& id) {
  std::string hex = hex_bytes(id.data(), static_cast<int>(id.size()));
  return hex.substr(0, 2) + "/" + hex.substr(2);
}

// Opens path; keeps it only if its build-id is `want` (when known).
int open_matching(const std::string& path, const std::vector<unsigned char>& want, char** file_name,
                  Elf** elfp) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  const void* id = nullptr;
  ssize_t n = elf ? dwelf_elf_gnu_build_id(elf, &id) : -1;
  bool ok = elf && (want.empty() || (n == static_cast<ssize_t>(want.size()) &&
                                     std::memcmp(id, want.data(), want.size()) == 0));
  if (!ok) {
    if (elf) elf_end(elf);
    ::close(fd);
    return -1;
  }
  *file_name = strdup(path.c_str());
  *elfp = elf;
  return fd;
}

// A live process's own view of a module's file (core_modules.hpp): the
// path under its root (/proc/PID/root: the files of its mount namespace),
// taken only with the build-id the process's memory records. -1 when it is
// not there (cores; a process that sees our files; no permission).
int open_in_process_root(const CoreModule& m, char** file_name, Elf** elfp) {
  if (m.root.empty() || !m.name.starts_with('/')) return -1;
  return open_matching(m.root + m.name, m.build_id, file_name, elfp);
}

// The last resort for a live process: the mapping itself (/proc/PID/map_files,
// which has a file deleted since it was mapped, but needs CAP_SYS_ADMIN or
// CAP_CHECKPOINT_RESTORE). -1 for cores.
int open_mapped_file(const CoreModule& m, char** file_name, Elf** elfp) {
  if (m.map_file.empty()) return -1;
  return open_matching(m.map_file, m.build_id, file_name, elfp);
}

// Last resort for a file no local place has: libdebuginfod's cache or a
// server in DEBUGINFOD_URLS (source/debuginfod.hpp bounds the wait). The
// file is taken only if its build-id is `id`.
int fetch_from_debuginfod(DebuginfodKind kind, const std::vector<unsigned char>& id, const std::string& module,
                          char** file_name, Elf** elfp) {
  std::optional<std::string> path = debuginfod_fetch(kind, id, module);
  return path ? open_matching(*path, id, file_name, elfp) : -1;
}

// find_elf for modules reported from a core's NT_FILE or a live process's
// maps (core_modules.hpp): the vdso from its image in memory; a file under
// the sysroot, under the live process's root, by build-id in the debug
// dirs, at its recorded path (or --exe), the live process's mapping itself,
// and last from debuginfod; each taken only if its build-id is the one the
// process's memory recorded.
int find_core_module_elf(Dwfl_Module* mod, void** userdata, const char* modname, Dwarf_Addr base,
                         char** file_name, Elf** elfp) {
  auto* m = static_cast<CoreModule*>(*userdata);
  if (!m) return find_elf_in_sysroot(mod, userdata, modname, base, file_name, elfp);
  *elfp = nullptr;
  if (!m->image.empty()) {
    *elfp = elf_memory(m->image.data(), m->image.size());
    return -1;
  }
  std::string sysroot = current_sysroot();
  bool exe_override = m->open_path != m->name;
  if (!sysroot.empty() && !exe_override && m->open_path.starts_with('/')) {
    int fd = open_matching(sysroot + m->open_path, m->build_id, file_name, elfp);
    if (fd >= 0) return fd;
  }
  if (!exe_override) {
    int fd = open_in_process_root(*m, file_name, elfp);
    if (fd >= 0) return fd;
  }
  if (!exe_override && !m->build_id.empty()) {
    // By build-id in the debug dirs (not libdwfl's dwfl_build_id_find_elf:
    // it loads the debuginfod client, ~30 libraries, even with no server).
    for (const std::string& dir : current_debug_dirs()) {
      int fd = open_matching(dir + "/.build-id/" + build_id_path(m->build_id), m->build_id, file_name, elfp);
      if (fd >= 0) return fd;
    }
  }
  int fd = open_matching(m->open_path, m->build_id, file_name, elfp);
  if (fd >= 0 || exe_override) return fd;
  fd = open_mapped_file(*m, file_name, elfp);
  if (fd >= 0) return fd;
  return fetch_from_debuginfod(DebuginfodKind::executable, m->build_id, m->name, file_name, elfp);
}

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// The module's build-id as libdwfl knows it (empty if unknown).
std::vector<unsigned char> module_build_id(Dwfl_Module* mod) {
  const unsigned char* bits = nullptr;
  GElf_Addr vaddr;
  int n = dwfl_module_build_id(mod, &bits, &vaddr);
  return n > 0 ? std::vector<unsigned char>(bits, bits + n) : std::vector<unsigned char>();
}

// The first of `tries` (other than `skip`, the main file) that opens with
// build-id `id` (any when empty): its descriptor, its name in *file_name.
int open_first_debug_file(const std::vector<std::string>& tries, const std::string& skip,
                          const std::vector<unsigned char>& id, char** file_name) {
  for (const auto& path : tries) {
    if (path == skip) continue;
    Elf* elf = nullptr;
    int fd = open_matching(path, id, file_name, &elf);
    if (fd < 0) continue;
    bool compressed = !id.empty() && has_compressed_sections(elf);
    elf_end(elf);   // libdwfl opens the file again from the descriptor
    if (compressed) {   // its inflated copy (source/debug_cache.hpp), when there is or can be one
      std::optional<std::string> copy = decompressed_copy(path, id);
      char* copy_name = nullptr;
      int copy_fd = copy ? open_matching(*copy, id, &copy_name, &elf) : -1;
      if (copy_fd >= 0) {
        elf_end(elf);
        ::close(fd);
        std::free(*file_name);
        *file_name = copy_name;
        return copy_fd;
      }
      if (copy) ::unlink(copy->c_str());   // damaged: the next capture writes it anew
    }
    return fd;
  }
  return -1;
}

// Separate debug info inside a live process's root (core_modules.hpp), by
// the module's path as the process sees it: ROOT/usr/lib/debug/.build-id,
// then the .gnu_debuglink places (beside the file, .debug/, ROOT/usr/lib/debug).
// A container's debug packages are there, not on the host. -1 if none.
int find_debuginfo_in_root(Dwfl_Module* mod, void** userdata, const char* debuglink_file,
                           char** debuginfo_file_name) {
  const auto* m = userdata ? static_cast<const CoreModule*>(*userdata) : nullptr;
  if (!m || m->root.empty() || !m->name.starts_with('/')) return -1;
  std::vector<unsigned char> id = module_build_id(mod);
  const std::string debug = m->root + "/usr/lib/debug";
  std::vector<std::string> tries;
  if (!id.empty()) tries.push_back(debug + "/.build-id/" + build_id_path(id) + ".debug");
  if (debuglink_file && *debuglink_file) {
    std::string dir = dir_of(m->name);
    tries.push_back(m->root + dir + "/" + debuglink_file);
    tries.push_back(m->root + dir + "/.debug/" + debuglink_file);
    tries.push_back(debug + dir + "/" + debuglink_file);
  }
  return open_first_debug_file(tries, m->root + m->name, id, debuginfo_file_name);
}

// find_debuginfo: inside a live process's root first, then by build-id
// (.build-id/ab/cdef....debug) in the debug dirs, then by .gnu_debuglink
// beside the file, in its .debug/ and under each debug dir, and last from
// debuginfod when DEBUGINFOD_URLS names a server. A file is taken only if
// its build-id is the module's (when known). (Not libdwfl's standard
// callback: it loads the debuginfod client, ~30 libraries and ~10 ms, even
// when no server is configured, and waits for a silent server as long as
// DEBUGINFOD_TIMEOUT, 90 s by default.)
int find_debuginfo_file(Dwfl_Module* mod, void** userdata, const char* modname, Dwarf_Addr, const char* file_name,
                        const char* debuglink_file, GElf_Word, char** debuginfo_file_name) {
  if (int fd = find_debuginfo_in_root(mod, userdata, debuglink_file, debuginfo_file_name); fd >= 0) return fd;
  std::vector<unsigned char> id = module_build_id(mod);
  std::vector<std::string> tries;
  std::vector<std::string> dirs = current_debug_dirs();
  if (!id.empty())
    for (const auto& d : dirs) tries.push_back(d + "/.build-id/" + build_id_path(id) + ".debug");
  if (debuglink_file && *debuglink_file && file_name) {
    std::string dir = dir_of(file_name);
    tries.push_back(dir + "/" + debuglink_file);
    tries.push_back(dir + "/.debug/" + debuglink_file);
    for (const auto& d : dirs) tries.push_back(d + dir + "/" + debuglink_file);
  }
  if (int fd = open_first_debug_file(tries, file_name ? file_name : "", id, debuginfo_file_name); fd >= 0) return fd;
  Elf* elf = nullptr;
  int fd = fetch_from_debuginfod(DebuginfodKind::debuginfo, id, modname ? modname : "?", debuginfo_file_name, &elf);
  if (elf) elf_end(elf);
  return fd;
}

}  // namespace

void init_callbacks(DwflSetup& setup, const Source& src) {
  setup.sysroot = src.sysroot;
  setup.debuginfo_path.clear();
  for (const auto& d : src.debug_dirs) setup.debuginfo_path += d + ":";
  // libdwfl's default places: beside the file, in .debug/, under /usr/lib/debug.
  setup.debuginfo_path += ":.debug:/usr/lib/debug";
  if (!setup.sysroot.empty()) setup.debuginfo_path += ":" + setup.sysroot + "/usr/lib/debug";
  {
    std::lock_guard lock(g_sysroot_mutex);
    g_sysroot = setup.sysroot;
    g_debug_dirs = src.debug_dirs;
    g_debug_dirs.push_back("/usr/lib/debug");
    if (!setup.sysroot.empty()) g_debug_dirs.push_back(setup.sysroot + "/usr/lib/debug");
  }
  setup.debuginfo_path_ptr = setup.debuginfo_path.data();
  setup.callbacks = Dwfl_Callbacks{};
  setup.callbacks.find_elf = find_core_module_elf;
  setup.callbacks.find_debuginfo = find_debuginfo_file;
  setup.callbacks.section_address = dwfl_offline_section_address;
  setup.callbacks.debuginfo_path = &setup.debuginfo_path_ptr;
}

namespace {
// Where find_core_module_elf looked, for the warning when it found nothing.
std::string places_looked(const CoreModule* m) {
  if (m && !m->map_file.empty())
    return "under --sysroot, " + (m->root.empty() ? std::string() : "under " + m->root + ", ") +
           "at its recorded path, in the debug dirs or as " + m->map_file;
  return "at its recorded path, under --sysroot or in the debug dirs";
}
}  // namespace

void check_modules(Dwfl* dwfl, std::vector<std::string>& warnings) {
  struct Ctx { std::vector<std::string>* w; } ctx{&warnings};
  auto cb = [](Dwfl_Module* mod, void** userdata, const char* name, Dwarf_Addr, void* arg) -> int {
    auto* c = static_cast<Ctx*>(arg);
    Dwarf_Addr bias;
    if (dwfl_module_getelf(mod, &bias) == nullptr) {
      const unsigned char* bits = nullptr;
      GElf_Addr vaddr;
      int n = dwfl_module_build_id(mod, &bits, &vaddr);
      std::string id = hex_bytes(bits, n);
      c->w->push_back(std::string("module ") + (name ? name : "?") + ": no file" +
                      (id.empty() ? std::string() : " with build-id " + id) +
                      " found " + places_looked(static_cast<const CoreModule*>(*userdata)) + "; its frames "
                      "show as module+offset (pass --exe, --sysroot or --debug-dir)");
    }
    return DWARF_CB_OK;
  };
  dwfl_getmodules(dwfl, cb, &ctx, 0);
}

}  // namespace threadleak::detail
