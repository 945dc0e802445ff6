#include "source/proc_facts.hpp"

#include <elf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "source/core_modules.hpp"

namespace threadleak::detail {

std::string iso_utc(std::time_t t) {
  char buf[32];
  struct tm tm;
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string iso_utc(const timespec& t) {
  return fmt::format("{}.{:06}Z", iso_utc(t.tv_sec).substr(0, 19), t.tv_nsec / 1000);
}

std::string now_utc() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return iso_utc(ts);
}

namespace {
std::uint64_t auxv_entry(const std::string& proc, std::uint64_t want) {
  std::string auxv = read_small_file(proc + "/auxv");
  for (std::size_t off = 0; off + 16 <= auxv.size(); off += 16) {
    std::uint64_t key, val;
    std::memcpy(&key, auxv.data() + off, 8);
    std::memcpy(&val, auxv.data() + off + 8, 8);
    if (key == want) return val;
  }
  return 0;
}
}  // namespace

void read_process_facts(Target& t, const std::string& proc) {
  char exe[4096];
  ssize_t n = ::readlink((proc + "/exe").c_str(), exe, sizeof exe - 1);
  t.executable = n > 0 ? std::string(exe, static_cast<std::size_t>(n)) : "";
  t.entry = auxv_entry(proc, AT_ENTRY);
  t.captured_at = now_utc();
  t.captured_at_from = "clock";
}

void read_thread_names(Target& t, const std::string& proc) {
  for (auto& th : t.threads) {
    th.name = read_small_file(proc + "/task/" + std::to_string(th.tid) + "/comm", 64);
    if (!th.name.empty() && th.name.back() == '\n') th.name.pop_back();
  }
}

namespace {

// The mappings of a /proc/PID/maps text that may hold a loaded ELF file:
// private, readable and not a device (reading a device's mapping through
// /proc/PID/mem is not harmless). Paths are as the process sees them.
std::vector<MappedFile> elf_candidates(const std::string& maps) {
  std::vector<MappedFile> files;
  std::istringstream in(maps);
  std::string line;
  while (std::getline(in, line)) {
    unsigned long long start = 0, end = 0, offset = 0;
    char perms[8] = {};
    int path_at = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %*s %*s %n", &start, &end, perms, &offset, &path_at) < 4 ||
        path_at <= 0 || static_cast<std::size_t>(path_at) >= line.size())
      continue;
    std::string path = line.substr(static_cast<std::size_t>(path_at));
    if (path[0] != '/' || perms[0] != 'r' || perms[3] != 'p' || path.starts_with("/dev/")) continue;
    files.push_back({start, end, offset, std::move(path)});
  }
  return files;
}

// Whether the process sees the files as we do: the same mount namespace
// and the same root directory. False when either cannot be told.
bool sees_our_files(const std::string& proc) {
  auto ns = [](const std::string& link) {
    char buf[64];
    ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  };
  struct stat ours, theirs;
  std::string mnt = ns(proc + "/ns/mnt");
  return !mnt.empty() && mnt == ns("/proc/self/ns/mnt") && ::stat("/proc/self/root", &ours) == 0 &&
         ::stat((proc + "/root").c_str(), &theirs) == 0 && ours.st_dev == theirs.st_dev &&
         ours.st_ino == theirs.st_ino;
}

// Where the process itself sees each module's file: its root when it is
// not ours (another mount namespace's files, e.g. a container's) and the
// mapping's entry in map_files (the very file mapped, even if deleted or
// replaced since).
void add_process_view(std::vector<CoreModule>& mods, const std::vector<MappedFile>& files,
                      const std::string& proc) {
  std::map<std::uint64_t, std::uint64_t> end_of;
  for (const MappedFile& f : files) end_of.emplace(f.start, f.end);
  const std::string root = sees_our_files(proc) ? "" : proc + "/root";
  for (CoreModule& m : mods) {
    if (!m.image.empty()) continue;   // the vdso: no file
    m.root = root;
    if (auto it = end_of.find(m.low); it != end_of.end())
      m.map_file = fmt::format("{}/map_files/{:x}-{:x}", proc, it->first, it->second);
  }
}

}  // namespace

void report_maps_modules(Target& t, const Source& src, const std::string& maps, Memory& mem) {
  const std::string proc = "/proc/" + std::to_string(t.pid);
  std::vector<MappedFile> files = elf_candidates(maps);
  auto mods = std::make_shared<std::vector<CoreModule>>(
      find_mapped_modules(files, t.entry, auxv_entry(proc, AT_SYSINFO_EHDR), mem, src.exe));
  add_process_view(*mods, files, proc);
  if (mods->empty())
    t.warnings.push_back("no module's ELF header could be read from " + proc +
                         "/mem: frames show as addresses only");
  t.setup = std::make_unique<DwflSetup>();
  init_callbacks(*t.setup, src);
  t.dwfl.reset(dwfl_begin(&t.setup->callbacks));
  if (!t.dwfl) throw Error(t.origin + ": dwfl_begin: " + dwfl_error());
  report_core_modules(t.dwfl.get(), *mods);
  share_modules(t, mods);
  if (dwfl_report_end(t.dwfl.get(), nullptr, nullptr) != 0)
    throw Error(t.origin + ": dwfl_report_end: " + dwfl_error());
}

}  // namespace threadleak::detail
