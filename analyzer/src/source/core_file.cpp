// Source: an x86-64 Linux core file (from gcore or the kernel).
//
// The core is opened with ELF_C_READ (ELF_C_READ_MMAP makes
// dwfl_core_file_report probe every segment: seconds at 10,000 threads),
// notes are parsed once by us, and memory is served from a sorted segment
// table with pread (see core_memory.hpp) rather than libdwfl's stock core
// callbacks, whose reads go through a list that grows with every read.
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>

#include <fmt/format.h>

#include <elfutils/libdwelf.h>

#include "source/core_memory.hpp"
#include "source/core_modules.hpp"
#include "source/core_notes.hpp"
#include "source/proc_facts.hpp"
#include "target.hpp"

namespace threadleak::detail {
namespace {

constexpr std::uint64_t kMaxNoteBytes = 1ull << 30;  // 1 GiB of notes ~ 300,000 threads

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw Error(path + ": " + what);
}

Fd open_input(const std::string& path, struct stat& st) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) fail(path, errno_text(errno));
  if (::fstat(fd.get(), &st) != 0) fail(path, errno_text(errno));
  if (S_ISDIR(st.st_mode)) fail(path, "is a directory, not a core file");
  if (!S_ISREG(st.st_mode)) fail(path, "is not a regular file");
  return fd;
}

const char* elf_type_name(unsigned type) {
  switch (type) {
    case ET_EXEC: return "an executable";
    case ET_DYN: return "a shared object or PIE executable";
    case ET_REL: return "an object file";
    default: return "an ELF file of another type";
  }
}

// Checks the ELF header; returns the Elf handle.
ElfPtr open_core_elf(const std::string& path, int fd) {
  ElfPtr elf(elf_begin(fd, ELF_C_READ, nullptr));
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF)
    fail(path, "not an ELF core file (nor a threadleak snapshot)");
  GElf_Ehdr eh;
  if (!gelf_getehdr(elf.get(), &eh)) fail(path, std::string("unreadable ELF header: ") + elf_errmsg(-1));
  if (eh.e_type != ET_CORE)
    fail(path, std::string("is ") + elf_type_name(eh.e_type) +
                   ", not a core dump (pass a program with --exe, and a core or --pid to inspect)");
  if (eh.e_machine != EM_X86_64 || eh.e_ident[EI_CLASS] != ELFCLASS64)
    fail(path, "core of an unsupported architecture (threadleak reads x86-64 cores)");
  return elf;
}

std::size_t align4(std::uint64_t n) { return static_cast<std::size_t>((n + 3) & ~std::uint64_t{3}); }

// Length of the complete notes at the start of data (a note's header says
// how long it is); a note cut off at the end is left for the next chunk.
std::size_t complete_notes(std::string_view data) {
  std::size_t off = 0;
  while (off + 12 <= data.size()) {
    std::uint32_t namesz, descsz;
    std::memcpy(&namesz, data.data() + off, 4);
    std::memcpy(&descsz, data.data() + off + 4, 4);
    std::uint64_t end = off + 12 + align4(namesz) + align4(descsz);
    if (end > data.size()) break;
    off = static_cast<std::size_t>(end);
  }
  return off;
}

// Reads len bytes at off into buf (fewer only at the end of the file).
std::size_t read_into(const std::string& path, int fd, std::uint64_t off, char* buf, std::size_t len) {
  std::size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd, buf + done, len - done, static_cast<off_t>(off + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(path, "read error: " + errno_text(errno));
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

// Parses a PT_NOTE segment in chunks through one reused buffer: a
// 10,000-thread core has ~35 MB of notes, mostly registers we skip
// (FPREGSET, XSTATE), and holding them whole cost page faults and RSS.
void parse_note_segment(const std::string& path, int fd, std::uint64_t off, std::uint64_t len,
                        CoreNotes& notes) {
  std::vector<char> buf(std::min<std::uint64_t>(len, 1u << 20));
  std::uint64_t pos = 0;      // segment bytes consumed
  while (pos < len) {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(len - pos, buf.size()));
    std::size_t got = read_into(path, fd, off + pos, buf.data(), want);
    bool last = pos + got >= len || got < want;
    std::string_view chunk(buf.data(), got);
    std::size_t n = last ? got : complete_notes(chunk);
    if (n == 0 && !last) {    // one note larger than the buffer: grow it
      buf.resize(static_cast<std::size_t>(std::min<std::uint64_t>(len - pos, 2 * buf.size())));
      continue;
    }
    parse_core_notes(chunk.substr(0, n), notes);
    pos += n;
    if (last) return;
  }
}

struct Layout {
  CoreNotes notes;
  std::vector<Segment> segments;
  std::uint64_t missing_bytes = 0;   // memory cut off by truncation
};

Layout read_layout(const std::string& path, int fd, Elf* elf, std::uint64_t file_size) {
  Layout lay;
  size_t phnum = 0;
  if (elf_getphdrnum(elf, &phnum) != 0) fail(path, std::string("unreadable program headers: ") + elf_errmsg(-1));
  std::uint64_t note_bytes = 0;
  for (size_t i = 0; i < phnum; ++i) {
    GElf_Phdr ph;
    if (!gelf_getphdr(elf, static_cast<int>(i), &ph)) fail(path, "truncated: program headers cut off");
    if (ph.p_type == PT_LOAD) {
      Segment s{ph.p_vaddr, ph.p_memsz, ph.p_offset, ph.p_filesz};
      std::uint64_t avail = ph.p_offset < file_size ? file_size - ph.p_offset : 0;
      if (s.filesz > avail) { lay.missing_bytes += s.filesz - avail; s.filesz = avail; }
      lay.segments.push_back(s);
    } else if (ph.p_type == PT_NOTE) {
      note_bytes += ph.p_filesz;
      if (ph.p_offset + ph.p_filesz > file_size)
        lay.notes.problems.push_back(fmt::format(
            "core is truncated: its notes are cut off at byte {}; threads and modules recorded after "
            "that are missing", file_size));
      if (note_bytes > kMaxNoteBytes) fail(path, "notes larger than 1 GiB: not a plausible core");
      parse_note_segment(path, fd, ph.p_offset, ph.p_filesz, lay.notes);
    }
  }
  return lay;
}

bool is_crash_signal(int sig) {
  switch (sig) {
    case SIGQUIT: case SIGILL: case SIGTRAP: case SIGABRT: case SIGBUS: case SIGFPE:
    case SIGSEGV: case SIGXCPU: case SIGXFSZ: case SIGSYS: return true;
    default: return false;
  }
}

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

// The kernel writes the thread that took the fatal signal first, with
// pr_cursig set; gcore of a healthy process records no such signal.
std::optional<CrashInfo> crash_of(const CoreNotes& n) {
  if (n.threads.empty()) return std::nullopt;
  int sig = n.threads.front().cursig;
  if (!is_crash_signal(sig)) return std::nullopt;
  CrashInfo c;
  c.tid = n.threads.front().tid;
  c.signal = sig;
  c.signal_name = signal_name(sig);
  if (n.siginfo_signo == sig) c.address = n.siginfo_addr;
  return c;
}

std::string executable_of(const CoreNotes& n) {
  for (const auto& f : n.files)
    if (n.entry >= f.start && n.entry < f.end) return f.path;
  return n.files.empty() ? n.fname : n.files.front().path;
}

// Modules from NT_FILE (core_modules.hpp); a core without that note falls
// back to dwfl_core_file_report, which probes every segment.
void report_modules(Target& t, const Source& src, const CoreNotes& notes) {
  t.setup = std::make_unique<DwflSetup>();
  init_callbacks(*t.setup, src, false);
  t.dwfl.reset(dwfl_begin(&t.setup->callbacks));
  if (!t.dwfl) fail(t.origin, "dwfl_begin: " + dwfl_error());
  auto mods = std::make_shared<std::vector<CoreModule>>(find_core_modules(notes, *t.memory, src.exe));
  if (!mods->empty()) {
    report_core_modules(t.dwfl.get(), *mods);
    t.module_data = mods;
    t.report_modules_again = [mods](Dwfl* d) {
      report_core_modules(d, *mods);
      return true;
    };
  } else {
    const char* exe = src.exe.empty() ? nullptr : src.exe.c_str();
    int n = dwfl_core_file_report(t.dwfl.get(), t.elf.get(), exe);
    if (n < 0) t.warnings.push_back("could not list the core's modules: " + dwfl_error());
  }
  if (dwfl_report_end(t.dwfl.get(), nullptr, nullptr) != 0)
    fail(t.origin, "dwfl_report_end: " + dwfl_error());
}

// Checks that --exe is an executable; returns its build-id ("" if none).
std::string check_exe(const Source& src) {
  if (src.exe.empty()) return {};
  struct stat st;
  Fd fd = open_input(src.exe, st);
  ElfPtr elf(elf_begin(fd.get(), ELF_C_READ, nullptr));
  GElf_Ehdr eh;
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF || !gelf_getehdr(elf.get(), &eh))
    fail(src.exe, "--exe is not an ELF executable");
  if (eh.e_type == ET_CORE) fail(src.exe, "--exe is a core dump, not an executable");
  const void* id = nullptr;
  ssize_t n = dwelf_elf_gnu_build_id(elf.get(), &id);
  return n > 0 ? hex_bytes(static_cast<const unsigned char*>(id), static_cast<int>(n)) : "";
}

// The build-id the core records for its main executable (the module
// holding AT_ENTRY), "" if unknown.
std::string main_build_id(Dwfl* dwfl, std::uint64_t entry) {
  Dwfl_Module* mod = entry ? dwfl_addrmodule(dwfl, entry) : nullptr;
  const unsigned char* bits = nullptr;
  GElf_Addr vaddr;
  int n = mod ? dwfl_module_build_id(mod, &bits, &vaddr) : 0;
  return n > 0 ? hex_bytes(bits, n) : "";
}

void warn_exe_mismatch(Target& t, const Source& src, const std::string& exe_id) {
  std::string core_id = main_build_id(t.dwfl.get(), t.entry);
  if (src.exe.empty() || exe_id.empty() || core_id.empty() || exe_id == core_id) return;
  t.warnings.push_back("--exe " + src.exe + " does not match the core: its build-id is " + exe_id +
                       ", the core's executable has " + core_id +
                       "; the executable's frames show as module+offset");
}

}  // namespace

std::unique_ptr<Target> open_core(const Source& src) {
  elf_version(EV_CURRENT);
  PhaseTimer timer;
  std::string exe_id = check_exe(src);
  auto t = std::make_unique<Target>();
  t->kind = "core";
  t->origin = src.file;
  struct stat st;
  t->fd = open_input(src.file, st);
  t->elf = open_core_elf(src.file, t->fd.get());
  Layout lay = read_layout(src.file, t->fd.get(), t->elf.get(), static_cast<std::uint64_t>(st.st_size));
  if (lay.notes.threads.empty())
    fail(src.file, "truncated or damaged: no thread found in the core" +
                       (lay.notes.problems.empty() ? std::string() : " (" + lay.notes.problems.front() + ")"));
  for (const auto& p : lay.notes.problems)
    t->warnings.push_back(p.starts_with("core is") ? p : "core notes: " + p);
  if (lay.missing_bytes)
    t->warnings.push_back(fmt::format("core is truncated: {} bytes of memory are missing; "
                                      "stacks there end early", lay.missing_bytes));
  t->pid = lay.notes.pid ? lay.notes.pid : lay.notes.threads.front().tid;
  t->executable = src.exe.empty() ? executable_of(lay.notes) : src.exe;
  t->entry = lay.notes.entry;
  t->captured_at = iso_utc(st.st_mtime);
  t->crash = crash_of(lay.notes);
  t->threads = std::move(lay.notes.threads);
  for (auto& th : t->threads)
    if (th.tid == t->pid) th.name = lay.notes.fname;
  std::sort(t->threads.begin(), t->threads.end(),
            [](const RawThread& a, const RawThread& b) { return a.tid < b.tid; });
  timer.mark("core notes and segments");
  t->memory = std::make_unique<CoreMemory>(t->fd.get(), std::move(lay.segments));
  report_modules(*t, src, lay.notes);
  timer.mark("core modules");
  warn_exe_mismatch(*t, src, exe_id);
  check_modules(t->dwfl.get(), t->warnings);
  return t;
}

}  // namespace threadleak::detail
